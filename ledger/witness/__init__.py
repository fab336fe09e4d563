"""A witness a court or plaintiffs run themselves (C2SP tlog-witness), and the ledger's client of it."""
