"""/api/disclosures: the disclosures themselves, filtered and paged (overseers and auditors)."""

from fastapi import APIRouter, Request

from ledger.api.auth import Overseer
from ledger.api.context import Db, context, returned
from ledger.api.models import Disclosure, DisclosurePage
from ledger.api.params import DisclosureQuery
from ledger.ops.disclosure_query import disclosures as find_disclosures

router = APIRouter()


@router.get("/api/disclosures", response_model=DisclosurePage)
def disclosures(
    request: Request, who: Overseer, conn: Db, asked: DisclosureQuery
) -> DisclosurePage:
    found = find_disclosures(conn, context(request).registry, asked)
    returned(request, len(found.disclosures))
    return DisclosurePage(
        total=found.total,
        limit=asked.limit,
        offset=asked.offset,
        disclosures=[Disclosure.model_validate(r) for r in found.disclosures],
    )
