"""Kafka consumers (followers) that build the ledger's PostgreSQL projections."""
