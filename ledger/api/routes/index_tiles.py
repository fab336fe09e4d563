"""The taxpayer index's log, read-only, as a C2SP tlog-tiles log under ``/tiles/index/``.

Its origin is ``<LEDGER_LOG_ORIGIN>/index``. Tiles are cut at its latest signed checkpoint. The
index log stores its leaves (one per index snapshot), not its tree nodes, so hash tiles are
computed from the leaves on request: one leaf per disclosure-log checkpoint keeps that small.
Every tile, entry bundles included, goes to every role: a leaf is a snapshot hash and the
disclosure logs' checkpoint lines, which those logs serve publicly anyway.
"""

from fastapi import APIRouter, HTTPException, Request, Response

from ledger.api.auth import Public
from ledger.api.context import Db, returned
from ledger.api.routes.tiles import IMMUTABLE, OCTETS, PATH_MAX, SHORT, TEXT
from ledger.store import Connection
from ledger.store import taxpayer_index as store
from ledger.tlog import merkle, tiles

router = APIRouter(prefix="/tiles/index", tags=["tiles"])


def _latest(conn: Connection) -> tuple[int, str]:
    found = store.latest_index_checkpoint(conn)
    if found is None:
        raise HTTPException(404, "the taxpayer index has no signed checkpoint yet")
    return found


def hash_tile(wanted: tiles.Tile, hashes: list[bytes]) -> bytes:
    """A hash tile's bytes from the log's leaf hashes: node (h, i) is the root of leaves
    [i * 2^h, (i + 1) * 2^h), a perfect subtree of a log at least that long."""
    nodes = {
        (level, index): merkle.root_from_leaf_hashes(hashes[index << level : (index + 1) << level])
        for level, index in wanted.coordinates()
    }
    return tiles.tile_bytes(wanted, nodes)


@router.get("/checkpoint", response_class=Response, responses=TEXT)
def checkpoint(request: Request, who: Public, conn: Db) -> Response:
    _, note = _latest(conn)
    returned(request, 1)
    return Response(note, media_type="text/plain; charset=utf-8", headers={"cache-control": SHORT})


@router.get("/tile/{path:path}", response_class=Response, responses=OCTETS)
def tile(request: Request, path: str, who: Public, conn: Db) -> Response:
    if len(path) > PATH_MAX:
        raise tiles.TilePathError(f"a tile path has at most {PATH_MAX} characters")
    wanted = tiles.parse_path(path)
    size, _ = _latest(conn)
    if not wanted.fits(size):
        raise HTTPException(
            404, f"{wanted.path} is not in the index log at its latest checkpoint ({size})"
        )
    leaves = store.leaves(conn, size)
    if wanted.level == tiles.ENTRIES:
        start = wanted.index * tiles.WIDTH
        body = tiles.entry_bundle(leaves[start : start + wanted.width])
    else:
        body = hash_tile(wanted, [merkle.leaf_hash(leaf) for leaf in leaves])
    returned(request, wanted.width)
    cache = SHORT if wanted.partial else IMMUTABLE
    return Response(body, media_type="application/octet-stream", headers={"cache-control": cache})
