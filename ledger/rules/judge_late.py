"""The judge of later facts: what a notice, request or order recorded late, an order's amendment
or vacatur, or a disclosure's amendment changes about disclosures already judged.

The volume consumer loads what the fact touches (the disclosures as they now stand, orders,
notices, requests, the stored alerts of the same domain, the volume of the days whose prior year
moved) and stores what these functions return. New findings stand at once; a resolution the fact
would bring is contested instead (``judge_contest``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from ledger.rules.config import RulesConfig
from ledger.rules.judge import same_day, scope_of, scope_window
from ledger.rules.judge_contest import Judgement, settle
from ledger.rules.lifecycle import (
    Reconciliation,
    StoredAlert,
    disclosure_verdicts,
    needs_notice,
    notice_use,
    reconcile,
)
from ledger.rules.model import AlertDraft, CourtOrderFacts, DisclosureFacts, NoticeFacts, Scope
from ledger.rules.notices import may_split
from ledger.rules.requests import RequestFacts
from ledger.rules.volume_book import PRIOR_DAYS, DayTotals, ScopeKey, VolumeBook, scope_keys
from ledger.rules.volume_rules import SPIKE, Judging, SpikeOverPriorYear


def scopes(d: DisclosureFacts, config: RulesConfig) -> tuple[str, list[ScopeKey]]:
    """The disclosure's source id and every volume scope it counts under (the registry's)."""
    flow = config.registry.flow(d.source_agency, d.recipient_agency, d.legal_authority)
    return flow.source.id, scope_keys(flow.source.id, flow.recipient.chain, flow.authority.chain)


def _where(stored: Sequence[StoredAlert]) -> dict[str, tuple[Scope | None, date | None]]:
    return {s.alert_id: (s.scope, s.day) for s in stored}


def rejudge(
    affected: Sequence[DisclosureFacts],
    orders: Sequence[CourtOrderFacts],
    notices: Mapping[str, Sequence[NoticeFacts]],
    requests: Mapping[str, RequestFacts],
    transmissions: Sequence[DisclosureFacts],
    stored: Sequence[StoredAlert],
    config: RulesConfig,
    reason: str,
    cause: str,
    at: datetime,
    day_transmissions: Sequence[DisclosureFacts] = (),
) -> Judgement:
    """The disclosure rules' verdicts on ``affected`` against ``stored`` (the alerts of those
    rules about them, and about any disclosure the fact took out, e.g. one withdrawn).
    ``notices`` are by canonical recipient id; ``transmissions`` the stored ones their windows
    hold (what each notice already covered); ``day_transmissions`` the stored ones of their
    days, which a notice order may sum with them."""
    registry = config.registry
    agency = registry.agency
    due: list[AlertDraft] = []
    for d in affected:
        mine = notices.get(agency(d.recipient_agency).id, [])
        use = (
            notice_use(d, mine, transmissions, registry)
            if mine and (needs_notice(d, orders, registry) or may_split(d, orders, registry))
            else {}
        )
        day = same_day(d, day_transmissions, set(), orders, config, requests)
        due.extend(disclosure_verdicts(d, orders, mine, config, use, requests, day))
    result = reconcile(due, stored, reason)
    return settle(result, _where(stored), cause, at, _fallback(affected, stored))


def _fallback(affected: Sequence[DisclosureFacts], stored: Sequence[StoredAlert]) -> Scope:
    for s in stored:
        if s.scope is not None:
            return s.scope
    for d in affected:
        return Scope("recipient", d.source_agency, d.recipient_agency)
    return Scope("source", "unknown", "")


def apply_moves(book: VolumeBook, moves: Mapping[tuple[ScopeKey, date], DayTotals]) -> None:
    """Adds signed totals to a loaded book, in memory (the volume as the amendment would have
    it; what is stored only ever counts up)."""
    for (key, day), delta in sorted(moves.items()):
        totals = book.days[key].get(day, DayTotals())
        book.load(key, day, totals.disclosures + delta.disclosures, totals.records + delta.records)


def spike_verdicts(
    book: VolumeBook,
    keys: Sequence[ScopeKey],
    first: date,
    last: date,
    coverage: Mapping[str, date],
    cause: str,
    config: RulesConfig,
) -> list[AlertDraft]:
    """The prior-year spikes ``book`` shows on ``keys`` from ``first`` to a year after ``last``."""
    rule = SpikeOverPriorYear()
    due: list[AlertDraft] = []
    end = last + timedelta(days=PRIOR_DAYS)
    for key in keys:
        on = Judging(coverage.get(key[1], first), [cause], config.warmup_days, new_on=False)
        for day in [d for d in book.sorted_days[key] if first <= d <= end]:
            window = scope_window(book.window(key, day))
            if window.day_disclosures == 0:
                continue
            due.extend(d for d in rule.evaluate_window(window, on) if d.rule == SPIKE)
    return due


def rejudge_spikes(
    amended: VolumeBook,
    counted: VolumeBook,
    keys: Sequence[ScopeKey],
    first: date,
    last: date,
    coverage: Mapping[str, date],
    stored: Sequence[StoredAlert],
    config: RulesConfig,
    reason: str,
    cause: str,
    at: datetime,
) -> Judgement:
    """Prior-year spikes on the days ``first`` .. ``last`` whose volume moved and the year after,
    against ``stored`` (every spike alert of ``keys`` on those days). What the volume as counted
    (``counted``: it only counts up) shows is raised at once; what only the volume as amended
    (``amended``: the discloser's proposal) would resolve is contested."""
    if not config.on(SPIKE):
        return Judgement()
    now = reconcile(
        spike_verdicts(counted, keys, first, last, coverage, cause, config), stored, reason
    )
    proposed = reconcile(
        spike_verdicts(amended, keys, first, last, coverage, cause, config), stored, reason
    )
    result = Reconciliation(now.raised, now.reopened, proposed.resolved)
    fallback = scope_of(keys[-1]) if keys else Scope("source", "unknown", "")
    return settle(result, _where(stored), cause, at, fallback)


def count_up(
    moves: Mapping[tuple[ScopeKey, date], DayTotals],
) -> dict[tuple[ScopeKey, date], DayTotals]:
    """The part of an amendment's moves the stored volume takes: records only ever count up
    (a later statement by the discloser cannot take records out of the volume rules)."""
    return {
        at: DayTotals(max(t.disclosures, 0), max(t.records, 0))
        for at, t in moves.items()
        if t.disclosures > 0 or t.records > 0
    }


def held_back(
    moves: Mapping[tuple[ScopeKey, date], DayTotals],
) -> dict[tuple[ScopeKey, date], DayTotals]:
    """The part of an amendment's moves ``count_up`` leaves out: what the volume as amended
    loses. ``count_up(m) + held_back(m) == m`` cell by cell, so the volume as counted plus
    everything held back is the volume as amended."""
    return {
        at: DayTotals(min(t.disclosures, 0), min(t.records, 0))
        for at, t in moves.items()
        if t.disclosures < 0 or t.records < 0
    }


def amendment_moves(
    old: DisclosureFacts,
    new: DisclosureFacts,
    was_withdrawn: bool,
    withdrawn: bool,
    config: RulesConfig,
) -> dict[tuple[ScopeKey, date], DayTotals]:
    """The signed volume moves of an amendment: out of the old day and scopes, into the new."""
    moves: dict[tuple[ScopeKey, date], DayTotals] = {}
    for facts, sign in ((old, -1), (new, 1)):
        if (sign < 0 and was_withdrawn) or (sign > 0 and withdrawn):
            continue
        for key in scopes(facts, config)[1]:
            totals = moves.setdefault((key, facts.day), DayTotals())
            totals.disclosures += sign
            totals.records += sign * facts.record_count
    return moves
