"""Query parameters: the shared bounded types, and the check every endpoint's query passes."""

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from pydantic import AfterValidator

from ledger.access_log import recordable
from ledger.storable import text_problem, time_problem
from ledger.store.queries import DisclosureFilter

PAGE_MAX = 1000  # rows per page of any list
VOLUME_MAX = 5000  # days per volume series page


def bounded_day(value: date) -> date:
    problem = time_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Day = Annotated[date, AfterValidator(bounded_day)]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


def disclosure_query(
    recipient: str | None = None,
    authority: str | None = None,
    source: str | None = None,
    since: Day | None = None,
    until: Day | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DisclosureFilter:
    """The disclosure filter a query string asks for, names as typed (the route widens them to
    their spellings with ops.scope_filter, as the CLI does)."""
    return DisclosureFilter(recipient, authority, source, since, until, limit, offset)


DisclosureQuery = Annotated[DisclosureFilter, Depends(disclosure_query)]


def recordable_name(name: str) -> str:
    """A parameter name safe to echo in a one-line error (it could be anything)."""
    return recordable(name)[:80]


def check_parameters(request: Request) -> None:
    """A misspelt filter (`?from=` for `?since=`) must not silently return everything; a repeated
    one must not mean one thing to the query and another to the access log; text the database
    cannot hold is refused here rather than failing in the driver."""
    for name, value in request.query_params.multi_items():
        for text in (name, value):
            problem = text_problem(text)
            if problem:
                where = "a parameter name" if text is name else recordable_name(name)
                raise HTTPException(422, f"{where}: {problem}")
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {p.alias for p in _query_params(dependant)}
    given = [k for k, _ in request.query_params.multi_items()]
    unknown = sorted(set(given) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise HTTPException(
            422,
            f"{recordable_name(unknown[0])}: unknown parameter (this endpoint takes: {allowed})",
        )
    repeated = sorted({k for k in given if given.count(k) > 1})
    if repeated:
        raise HTTPException(422, f"{repeated[0]}: given more than once")


def _query_params(dependant: Any) -> list[Any]:
    found = list(dependant.query_params)
    for sub in dependant.dependencies:
        found.extend(_query_params(sub))
    return found
