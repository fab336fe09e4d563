module example.gov/disclosure-ledger/go_verify_bundle

go 1.26.0

require golang.org/x/mod v0.43.0
