"""The judge in memory: the same facts give the same drafts and status changes, without Kafka or
PostgreSQL, whatever batches the log was cut into."""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.rules.config import load_rules_config
from ledger.rules.judge import (
    OUTGROWN_REACH,
    OUTGROWN_RULES,
    BatchFacts,
    OpenAlerts,
    flow_keys,
    judge_disclosures,
)
from ledger.rules.judge_contest import CONTESTED, CONTESTED_PREFIX
from ledger.rules.judge_late import (
    amendment_moves,
    apply_moves,
    count_up,
    held_back,
    rejudge,
    rejudge_spikes,
)
from ledger.rules.judge_late_recording import LATE_RECORDING
from ledger.rules.lifecycle import OPEN, RESOLVED, StoredAlert
from ledger.rules.model import AlertDraft, CourtOrderFacts, DisclosureFacts, NoticeFacts, Scope
from ledger.rules.volume_book import DayTotals, ScopeKey, VolumeBook
from ledger.rules.volume_rules import SPIKE

CONFIG = load_rules_config()
NY = ZoneInfo("America/New_York")
D = date(2025, 8, 7)
I2 = "26 U.S.C. 6103(i)(2)"


def facts(n: int, day: date, records: int, recipient: str = "Office A") -> DisclosureFacts:
    when = datetime(day.year, day.month, day.day, 16, tzinfo=UTC)
    return DisclosureFacts(
        event_id=f"e{n}",
        disclosure_id=f"D-{n}",
        source_agency="IRS",
        recipient_agency=recipient,
        legal_authority=I2,
        transmitted_at=when,
        day=when.astimezone(NY).date(),
        record_count=records,
        match_method="NAME_DOB_ADDRESS",
        address_verification="VALID",
        notice_id=None,
    )


class Store:
    """What PostgreSQL holds for the volume consumer, in memory: volume, alerts and the status
    history of each alert, written as the consumer writes them."""

    def __init__(self, *, every_window: bool = False) -> None:
        self.every_window = every_window  # the judge's reference: a window for every scope
        self.drafts: list[AlertDraft] = []  # every draft of every batch, in order
        self.volume: dict[tuple[ScopeKey, date], DayTotals] = {}
        self.alerts: dict[str, AlertDraft] = {}
        self.history: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self.change_ids: set[str] = set()

    def status(self, alert_id: str) -> tuple[str, bool]:
        changes = self.history.get(alert_id)
        if not changes:
            return OPEN, False
        status, reason, _ = changes[-1]
        return status, reason.startswith(CONTESTED_PREFIX)

    def open_alerts(
        self, book: VolumeBook, batch: Sequence[DisclosureFacts]
    ) -> tuple[OpenAlerts, set[str]]:
        """As ``consumers.outgrown.prior_year_alerts`` reads them."""
        first = min(f.day for f in batch)
        last = max(f.day for f in batch) + OUTGROWN_REACH
        keys = {k for f in batch for k in flow_keys(flow_of(f))[0]}
        found: OpenAlerts = {}
        settled: set[str] = set()
        for a in self.alerts.values():
            if a.rule not in OUTGROWN_RULES or not isinstance(a.scope, Scope):
                continue
            key = (a.scope.kind, a.scope.source, a.scope.value)
            status, contested = self.status(a.alert_id)
            if not (key in keys and book.has_days_after(key, first) and first <= a.day <= last):
                continue
            if status == OPEN and not contested:
                found.setdefault((a.rule, key), {})[a.day] = a.alert_id
            else:
                settled.add(a.alert_id)
        return found, settled

    def judge(self, batch: Sequence[DisclosureFacts]) -> None:
        keys = {k for f in batch for k in flow_keys(flow_of(f))[0]}
        book = VolumeBook()
        book.seed(
            (key, day, t.disclosures, t.records)
            for (key, day), t in sorted(self.volume.items())
            if key in keys
        )
        source_days = [day for (key, day) in self.volume if key[0] == "source"]
        coverage = {"IRS": min(source_days)} if source_days else {}
        own = {flow_keys(flow_of(f))[0][0] for f in batch}
        latest = {
            key: max(day for (k, day) in self.volume if k == key)
            for key in own
            if any(k == key for k, _ in self.volume)
        }
        arrivals = {f.event_id: datetime(2026, 1, 1, tzinfo=UTC) for f in batch}
        open_alerts, settled = self.open_alerts(book, batch)
        loaded = BatchFacts(
            disclosures=batch,
            arrivals=arrivals,
            book=book,
            coverage=coverage,
            latest=latest,
            orders=[],
            notices={},
            requests={},
            transmissions=[],
            open_alerts=open_alerts,
            settled=settled,
        )
        judgement = judge_disclosures(loaded, CONFIG, every_window=self.every_window)
        self.drafts.extend(judgement.drafts)
        for d in judgement.drafts:
            self.alerts.setdefault(d.alert_id, d)
        for c in judgement.changes:
            if c.event_id not in self.change_ids:
                self.change_ids.add(c.event_id)
                self.history[c.alert_id].append((c.status, c.reason, c.caused_by))
        for (key, day), t in book.deltas.items():
            stored = self.volume.setdefault((key, day), DayTotals())
            stored.disclosures += t.disclosures
            stored.records += t.records


def flow_of(f: DisclosureFacts):  # type: ignore[no-untyped-def]
    return CONFIG.registry.flow(f.source_agency, f.recipient_agency, f.legal_authority)


def judged(
    log: Sequence[DisclosureFacts], cuts: Sequence[int], *, every_window: bool = False
) -> Store:
    store = Store(every_window=every_window)
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(log))), len(log)]
    for lo, hi in itertools.pairwise(bounds):
        store.judge(log[lo:hi])
    return store


def history_with_a_year() -> list[DisclosureFacts]:
    return [
        facts(0, D - timedelta(days=400), 10, "Elsewhere"),
        facts(1, D - timedelta(days=300), 10),
    ]


def test_a_spike_is_judged_in_memory() -> None:
    store = judged([*history_with_a_year(), facts(2, D, 100)], [])
    spikes = {a.scope.kind for a in store.alerts.values() if a.rule == SPIKE}  # type: ignore[union-attr]
    assert spikes == {"recipient", "authority", "pair", "source"}


def test_a_late_disclosure_contests_the_spikes_it_would_outgrow() -> None:
    log = [*history_with_a_year(), facts(2, D, 100), facts(3, D - timedelta(days=200), 150_000)]
    store = judged(log, [3])
    spikes = [a for a in store.alerts.values() if a.rule == SPIKE]
    assert spikes
    for spike in spikes:
        [(status, reason, cause)] = store.history[spike.alert_id]
        assert (status, cause) == (OPEN, "e3")
        assert reason.startswith(CONTESTED_PREFIX)
    findings = [a for a in store.alerts.values() if a.rule == CONTESTED]
    assert sorted(f.evidence[1] for f in findings) == sorted(s.alert_id for s in spikes)
    assert all(f.evidence[0] == "e3" for f in findings)
    assert all(s != RESOLVED for h in store.history.values() for s, _, _ in h)
    late = [a for a in store.alerts.values() if a.rule == LATE_RECORDING]
    assert [(a.evidence, a.observed) for a in late] == [(["e3"], 200)]


def test_an_amendment_lowering_a_spike_is_contested_and_volume_counts_up() -> None:
    log = [*history_with_a_year(), facts(2, D, 100)]
    store = judged(log, [])
    old = log[2]
    new = dataclasses.replace(old, record_count=4)
    moves = amendment_moves(old, new, False, False, CONFIG)
    assert count_up(moves) == {}  # nothing is taken out of the stored volume
    keys = sorted({k for k, _ in moves})
    book = VolumeBook()
    book.seed(
        (k, day, t.disclosures, t.records) for (k, day), t in store.volume.items() if k in keys
    )
    counted = VolumeBook()
    counted.seed(
        (k, day, t.disclosures, t.records) for (k, day), t in store.volume.items() if k in keys
    )
    apply_moves(book, moves)
    stored = [
        StoredAlert(a.alert_id, a.rule, OPEN, a.scope, a.day)  # type: ignore[arg-type]
        for a in store.alerts.values()
        if a.rule == SPIKE
    ]
    at = datetime(2026, 1, 2, tzinfo=UTC)
    coverage = {"IRS": D - timedelta(days=400)}
    judgement = rejudge_spikes(
        book, counted, keys, D, D, coverage, stored, CONFIG, "amended", "a1", at
    )
    assert {c.alert_id for c in judgement.changes} == {s.alert_id for s in stored}
    assert {c.status for c in judgement.changes} == {OPEN}
    assert sorted(d.rule for d in judgement.drafts) == [CONTESTED] * len(stored)


def test_a_notice_recorded_after_the_transmission_contests_its_bulk_alert() -> None:
    sent = facts(5, D, 3000, "ICE")
    order = CourtOrderFacts(
        event_id="o1",
        order_id="O-1",
        case_reference="1:25-cv-00457",
        order_type="NOTICE_REQUIREMENT",
        effective_at=sent.transmitted_at - timedelta(days=20),
        expires_at=None,
        recipients=("ICE",),
        authorities=(I2,),
        bulk_threshold=1000,
        notice_hours=24,
    )
    bulk = StoredAlert("bulk-1", "bulk_without_notice", OPEN, Scope("recipient", "IRS", "ICE"), D)
    notice = NoticeFacts(
        event_id="n1",
        notice_id="N-1",
        case_reference="1:25-cv-00457",
        filed_at=sent.transmitted_at - timedelta(hours=30),
        recipient_agency="ICE",
        legal_authority=I2,
        planned_start=sent.transmitted_at - timedelta(hours=1),
        planned_end=sent.transmitted_at + timedelta(hours=1),
        expected_record_count=5000,
        served_on=("Court", "Plaintiffs"),
    )
    ice = CONFIG.registry.agency("ICE").id
    at = datetime(2026, 1, 2, tzinfo=UTC)
    args = ([sent], [order], {ice: [notice]}, {}, [sent], [bulk], CONFIG, "notice", "n1", at)
    judgement = rejudge(*args)
    [change] = judgement.changes
    assert (change.alert_id, change.status, change.caused_by) == ("bulk-1", OPEN, "n1")
    assert change.reason.startswith(CONTESTED_PREFIX)
    [finding] = judgement.drafts
    assert (finding.rule, finding.evidence) == (CONTESTED, ["n1", "bulk-1"])
    assert finding.severity == "critical"
    already = dataclasses.replace(bulk, contested=True)
    assert not rejudge(*args[:5], [already], *args[6:]).changes  # it awaits a person


RECIPIENTS = ("Office A", "Office B", "ICE")
# Histories of up to 40 disclosures over 900 days (day offset, records, recipient), and where
# the log is cut into batches.
LOGS = st.lists(
    st.tuples(st.integers(0, 900), st.integers(1, 2000), st.sampled_from(RECIPIENTS)),
    min_size=2,
    max_size=40,
)
CUTS = st.lists(st.integers(1, 39), max_size=8)


def history_of(log: list[tuple[int, int, str]]) -> list[DisclosureFacts]:
    return [facts(i, D + timedelta(days=day), n, r) for i, (day, n, r) in enumerate(log)]


@settings(max_examples=60, deadline=None)
@given(LOGS, CUTS)
def test_the_judgement_does_not_depend_on_the_batching(
    log: list[tuple[int, int, str]], cuts: list[int]
) -> None:
    history = history_of(log)
    one_by_one = judged(history, list(range(1, len(history))))
    batched = judged(history, cuts)
    assert batched.alerts == one_by_one.alerts
    assert batched.history == one_by_one.history  # every status change, not only the last
    assert batched.volume == one_by_one.volume


@settings(max_examples=150, deadline=None)
@given(LOGS, CUTS)
def test_leaving_silent_windows_out_changes_no_draft(
    log: list[tuple[int, int, str]], cuts: list[int]
) -> None:
    """The judge builds only the windows a rule may speak on (``speaking_windows``); with every
    window built, each batch's drafts, status changes and volume are the same, in the same order.
    Days span 900 (warm-up, spikes, new scopes, sustained excesses, late arrivals)."""
    history = history_of(log)
    speaking = judged(history, cuts)
    every = judged(history, cuts, every_window=True)
    assert speaking.drafts == every.drafts
    assert speaking.history == every.history
    assert speaking.volume == every.volume


def test_an_amendment_raises_nothing_from_the_volume_it_only_proposes() -> None:
    later = facts(3, D + timedelta(days=10), 50)  # under its prior year of 110 as counted
    log = [*history_with_a_year(), facts(2, D, 100), later]
    store = judged(log, [])
    old = log[2]
    moves = amendment_moves(old, dataclasses.replace(old, record_count=4), False, False, CONFIG)
    keys = sorted({k for k, _ in moves})
    rows = [(k, day, t.disclosures, t.records) for (k, day), t in store.volume.items() if k in keys]
    amended, counted = VolumeBook(), VolumeBook()
    amended.seed(rows)
    counted.seed(rows)
    apply_moves(amended, moves)  # as amended, the later day's prior year is 14: a spike
    stored = [
        StoredAlert(a.alert_id, a.rule, OPEN, a.scope, a.day)  # type: ignore[arg-type]
        for a in store.alerts.values()
        if a.rule == SPIKE
    ]
    at = datetime(2026, 1, 2, tzinfo=UTC)
    coverage = {"IRS": D - timedelta(days=400)}
    judgement = rejudge_spikes(
        amended, counted, keys, D, D, coverage, stored, CONFIG, "amended", "a1", at
    )
    assert [d for d in judgement.drafts if d.rule == SPIKE] == []
    assert {d.rule for d in judgement.drafts} == {CONTESTED}


@given(
    st.dictionaries(
        st.tuples(st.sampled_from(["ICE", "SSA", "IRS"]), st.integers(0, 3)),
        st.tuples(st.integers(-5, 5), st.integers(-(10**6), 10**6)),
        max_size=8,
    )
)
def test_counted_and_held_back_moves_add_up_to_the_amendment(
    cells: dict[tuple[str, int], tuple[int, int]],
) -> None:
    """The volume as counted plus what is held back is the volume as amended, cell by cell;
    the counted part never goes down and the held-back part never goes up."""
    moves = {
        (("recipient", "IRS", name), D + timedelta(days=d)): DayTotals(n, r)
        for (name, d), (n, r) in cells.items()
    }
    up, back = count_up(moves), held_back(moves)
    for at, t in moves.items():
        got = up.get(at, DayTotals()), back.get(at, DayTotals())
        assert got[0].disclosures + got[1].disclosures == t.disclosures
        assert got[0].records + got[1].records == t.records
        assert min(got[0].disclosures, got[0].records) >= 0
        assert max(got[1].disclosures, got[1].records) <= 0
