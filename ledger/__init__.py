"""Disclosure Ledger: tamper-evident records of taxpayer-data disclosures."""

__version__ = "0.1.0"
