"""The read-only oversight HTTP API and dashboard (FastAPI)."""

from ledger.api.app import create_app

__all__ = ["create_app"]
