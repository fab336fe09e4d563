"""/health: is the database answering (unrecorded; it serves no ledger data)."""

from fastapi import APIRouter

from ledger.api.context import Db
from ledger.api.models import Health
from ledger.store import queries

router = APIRouter()


@router.get("/health", response_model=Health)
def health(conn: Db) -> dict[str, str]:
    queries.ping(conn)
    return {"status": "ok"}
