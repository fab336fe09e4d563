"""Each log, read-only, as a C2SP tlog-tiles log under ``/tiles/<topic>/<partition>/``.

The log's name in the URL is its log id (``<topic>/<partition>``; Kafka topic names are
``[A-Za-z0-9._-]``, so it is URL-safe as it is). Tiles are cut at the latest signed checkpoint:
nothing past what a checkpoint signs is served. Hash tiles and the checkpoint hold only hashes
and go to every role (a leaf hash is SHA-256 of a message that holds a random event id, so it
tells nothing about its content); entry bundles are the exact message bytes, which carry
taxpayer refs, so only the auditor role gets them.
"""

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from ledger.api.auth import Public, at_least
from ledger.api.context import Db, returned
from ledger.api.models import ErrorBody
from ledger.store import Connection
from ledger.store.checkpoints import StoredCheckpoint, latest_checkpoint
from ledger.store.entries import entry_values, fetch_nodes
from ledger.tlog import tiles

router = APIRouter(prefix="/tiles/{topic}/{partition}", tags=["tiles"])
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_PARTITION = re.compile(r"^(0|[1-9][0-9]{0,8})$")
# The longest tile path a log of 2^63 entries has is under 50 characters ("entries/x036/.../
# 123.p/255"); anything longer is refused before it is parsed (1,500 elements made a 4,500-digit
# index that Python refuses to convert: a 500, where the caller deserves one line).
PATH_MAX = 64
IMMUTABLE = "max-age=31536000, immutable"
SHORT = "max-age=5"
OCTETS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The tile's bytes"},
    400: {"model": ErrorBody, "description": "A malformed tile path"},
    404: {"model": ErrorBody, "description": "No such log, or a tile past its latest checkpoint"},
}
TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "The signed, cosigned checkpoint"},
    404: {"model": ErrorBody, "description": "No such log, or no checkpoint yet"},
}


def _latest(conn: Connection, topic: str, partition: str) -> StoredCheckpoint:
    if not _TOPIC.match(topic) or not _PARTITION.match(partition):
        raise HTTPException(404, "no such log: a log is /tiles/<topic>/<partition>")
    found = latest_checkpoint(conn, f"{topic}/{partition}")
    if found is None:
        raise HTTPException(404, f"no signed checkpoint of log {topic}/{partition}")
    return found


@router.get("/checkpoint", response_class=Response, responses=TEXT)
def checkpoint(request: Request, topic: str, partition: str, who: Public, conn: Db) -> Response:
    latest = _latest(conn, topic, partition)
    returned(request, 1)
    return Response(
        latest.note, media_type="text/plain; charset=utf-8", headers={"cache-control": SHORT}
    )


@router.get("/tile/{path:path}", response_class=Response, responses=OCTETS)
def tile(
    request: Request, topic: str, partition: str, path: str, who: Public, conn: Db
) -> Response:
    if len(path) > PATH_MAX:
        raise tiles.TilePathError(
            f"a tile path has at most {PATH_MAX} characters: tile/<L>/<N>[.p/<W>] with N in"
            " three-digit elements (e.g. x001/x234/067)"
        )
    wanted = tiles.parse_path(path)
    if wanted.level == tiles.ENTRIES and not at_least(who, "auditor"):
        raise HTTPException(
            403, "entry bundles hold taxpayer refs: only the auditor role gets them"
        )
    latest = _latest(conn, topic, partition)
    if not wanted.fits(latest.tree_size):
        raise HTTPException(
            404, f"{wanted.path} is not in the log at its latest checkpoint ({latest.tree_size})"
        )
    log_id = f"{topic}/{partition}"
    if wanted.level == tiles.ENTRIES:
        start = wanted.index * tiles.WIDTH
        body = tiles.entry_bundle(entry_values(conn, log_id, start, start + wanted.width))
    else:
        nodes = fetch_nodes(conn, log_id, wanted.coordinates())
        if len(nodes) != wanted.width:
            raise HTTPException(404, f"{wanted.path} is not stored yet")
        body = tiles.tile_bytes(wanted, nodes)
    returned(request, wanted.width)
    private = "private, " if wanted.level == tiles.ENTRIES else ""
    cache = private + (SHORT if wanted.partial else IMMUTABLE)
    return Response(body, media_type="application/octet-stream", headers={"cache-control": cache})
