"""The verifiable logs: latest checkpoints, an entry with its inclusion proof, the proof file."""

import dataclasses
import json
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from ledger.api.auth import Overseer, at_least
from ledger.api.context import Db, returned
from ledger.api.models import Checkpoints, EntryWithProof, InclusionProof
from ledger.api.params import PAGE_MAX
from ledger.api.refs import withhold_refs
from ledger.ops.proofs import inclusion_proof_json
from ledger.store import Connection, queries
from ledger.store.checkpoints import latest_per_log
from ledger.store.tokens import Principal
from ledger.tlog.tlog_proof import SUFFIX, from_inclusion_json

router = APIRouter()
PROOF_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": InclusionProof.model_json_schema()},
            "text/plain": {"schema": {"type": "string"}},  # ?format=tlog-proof
        },
        "description": "The inclusion proof as a file to keep (JSON, or C2SP tlog-proof@v1)",
    }
}


@router.get("/api/checkpoints", response_model=Checkpoints)
def checkpoints(request: Request, who: Overseer, conn: Db) -> dict[str, Any]:
    rows = [dataclasses.asdict(c) for c in latest_per_log(conn)[:PAGE_MAX]]
    returned(request, len(rows))
    return {"checkpoints": rows}


def entry_and_proof(conn: Connection, event_id: str, who: Principal) -> dict[str, Any]:
    try:
        uuid.UUID(event_id)
    except ValueError as exc:
        raise HTTPException(422, "event_id: must be a UUID") from exc
    entry = queries.entry(conn, event_id)
    if entry is None:
        raise HTTPException(404, f"no entry with event id {event_id}")
    proof = inclusion_proof_json(conn, event_id)
    if not at_least(who, "auditor"):
        entry["body"], withheld = withhold_refs(entry["body"])
        if withheld:
            # The message bytes contain the refs, so they are withheld too; the leaf hash
            # is SHA-256(0x00 || bytes) and the proof of it still verifies.
            entry["taxpayer_refs_withheld"] = withheld
            del proof["value"]
            proof["value_withheld"] = (
                "the message carries taxpayer refs, which only the auditor role sees; "
                "leaf_hash is SHA-256(0x00 || message bytes) and is what this proof proves"
            )
    return {"entry": entry, "proof": proof}


@router.get(
    "/api/entries/{event_id}", response_model=EntryWithProof, response_model_exclude_unset=True
)
def entry(request: Request, event_id: str, who: Overseer, conn: Db) -> dict[str, Any]:
    found = entry_and_proof(conn, event_id, who)
    returned(request, 1)
    return found


@router.get("/api/entries/{event_id}/proof", response_class=Response, responses=PROOF_FILE)
def proof_download(
    request: Request, event_id: str, who: Overseer, conn: Db, format: str = "json"
) -> Response:
    if format not in ("json", "tlog-proof"):
        raise HTTPException(422, "format: must be json or tlog-proof")
    proof = entry_and_proof(conn, event_id, who)["proof"]
    returned(request, 1)
    if format == "tlog-proof":  # C2SP tlog-proof@v1; withheld bytes stay out of its extra line
        return Response(
            from_inclusion_json(proof).to_text(),
            media_type="text/plain; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="proof-{event_id}{SUFFIX}"'},
        )
    return Response(
        json.dumps(proof, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="proof-{event_id}.json"'},
    )
