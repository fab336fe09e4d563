"""The judge: what the rules decide about a batch of disclosures, from the facts the batch loaded.

The volume consumer loads (the disclosures in log order, their scopes' volumes, the coverage
starts, orders, notices, requests, the transmissions notices may have covered, the open
prior-year alerts a late disclosure can outgrow), calls ``judge_disclosures`` and stores what it
returns: alert drafts, status changes and the volume book's deltas. Nothing here does I/O, so
the judgement is unit-tested in memory and does not depend on how the log was cut into batches:
each disclosure is judged with the state every disclosure before it in the log left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from ledger.rules import RuleContext, evaluate_all
from ledger.rules.config import RulesConfig
from ledger.rules.judge_contest import Judgement, Proposal, contest
from ledger.rules.judge_late_recording import LATE_RECORDING, late_recording
from ledger.rules.lifecycle import needs_notice, notice_use
from ledger.rules.model import (
    AlertDraft,
    CourtOrderFacts,
    DisclosureFacts,
    NoticeFacts,
    Scope,
    ScopeWindow,
)
from ledger.rules.notices import may_split
from ledger.rules.registry import Flow
from ledger.rules.requests import RequestFacts
from ledger.rules.volume_book import (
    PRIOR_DAYS,
    WINDOW_DAYS,
    ScopeKey,
    Trailing,
    VolumeBook,
    Window,
    scope_keys,
)
from ledger.rules.volume_rules import (
    SPIKE,
    SUSTAINED,
    Judging,
    SpikeOverPriorYear,
    SustainedOverPriorYear,
    spike_may_fire,
    warming_up,
)

OUTGROWN_RULES = (SPIKE, SUSTAINED)
# The later days a late disclosure can change: its prior year, plus the longest trailing window.
OUTGROWN_REACH = timedelta(days=PRIOR_DAYS + max(WINDOW_DAYS))

OpenAlerts = dict[tuple[str, ScopeKey], dict[date, str]]  # (rule, scope) -> day -> alert id


def scope_window(
    window: Window, own: bool = True, sustained: Trailing | None = None
) -> ScopeWindow:
    """The rules' view of a volume book window."""
    key, day, records, disclosures, prior_records, prior_disclosures, trailing = window
    return ScopeWindow(
        scope_of(key),
        day,
        records,
        disclosures,
        prior_records,
        prior_disclosures,
        trailing,
        own,
        sustained,
    )


@lru_cache(maxsize=4096)
def scope_of(key: ScopeKey) -> Scope:
    return Scope(*key)  # a handful of scopes, asked for eight times a disclosure


@lru_cache(maxsize=4096)
def flow_keys(flow: Flow) -> tuple[tuple[ScopeKey, ...], frozenset[ScopeKey]]:
    """Every scope a disclosure counts under, and which are its own recipient and authority
    (cached: a ledger sees a few hundred flows, each disclosure asks for its own)."""
    recipients, authorities = flow.recipient.chain, flow.authority.chain
    keys = tuple(scope_keys(flow.source.id, recipients, authorities))
    return keys, frozenset((keys[0], keys[len(recipients)]))


@dataclass
class BatchFacts:
    """What a batch loaded before it is judged (the consumer's reads, nothing more)."""

    disclosures: Sequence[DisclosureFacts]  # first recordings, in log order
    arrivals: Mapping[str, datetime]  # event id -> broker time
    book: VolumeBook  # stored volume of every scope the batch counts under
    coverage: dict[str, date]  # source id -> first day the ledger holds (config overrides in)
    # own recipient scope -> the latest day the ledger holds for it before the batch
    latest: dict[ScopeKey, date]
    orders: Sequence[CourtOrderFacts]
    notices: Mapping[str, Sequence[NoticeFacts]]  # by canonical recipient id
    requests: Mapping[str, RequestFacts]
    transmissions: Sequence[DisclosureFacts]  # stored ones within the notices' windows
    open_alerts: OpenAlerts = field(default_factory=dict)  # open prior-year alerts after them
    # Prior-year alerts already contested or resolved there: one the batch raises again (the same
    # id, from a later day's re-evaluation) stays settled, as a batch of one would find it.
    settled: set[str] = field(default_factory=set)
    # source id -> the batch's other sources whose coverage it starts (IRS for the Treasury)
    heirs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # stored transmissions of the batch's days, when a notice order may sum a day's records
    day_transmissions: Sequence[DisclosureFacts] = ()


def sums_days(
    d: DisclosureFacts,
    orders: Sequence[CourtOrderFacts],
    config: RulesConfig,
    requests: Mapping[str, RequestFacts] | None = None,
) -> bool:
    """Whether ``d``'s verdict needs its day's other transmissions (``notices.may_split``)."""
    return may_split(d, orders, config.registry, requests)


def needed_days(
    facts: Sequence[DisclosureFacts],
    orders: Sequence[CourtOrderFacts],
    config: RulesConfig,
    requests: Mapping[str, RequestFacts] | None = None,
) -> tuple[date, date] | None:
    """The first and last day whose stored transmissions the batch's verdicts need, or None."""
    days = [f.day for f in facts if sums_days(f, orders, config, requests)]
    return (min(days), max(days)) if days else None


def same_day(
    d: DisclosureFacts,
    stored: Sequence[DisclosureFacts],
    unseen: set[str],
    orders: Sequence[CourtOrderFacts],
    config: RulesConfig,
    requests: Mapping[str, RequestFacts] | None = None,
) -> list[DisclosureFacts]:
    """The stored transmissions of ``d``'s day a notice order sums with ``d``, less ``unseen``
    (the batch's disclosures after ``d``: the verdict depends on the log's order alone)."""
    if not sums_days(d, orders, config, requests):
        return []
    return [r for r in stored if r.day == d.day and r.event_id not in unseen]


def needed_notice_window(
    facts: Sequence[DisclosureFacts],
    orders: Sequence[CourtOrderFacts],
    notices: Mapping[str, Sequence[NoticeFacts]],
    config: RulesConfig,
) -> tuple[datetime, datetime] | None:
    """The span of transmissions the batch's notice use needs loaded, or None (none needs it)."""
    registry = config.registry
    spans = [
        (n.planned_start, n.planned_end)
        for f in facts
        if needs_notice(f, orders, registry) or may_split(f, orders, registry)
        for n in notices.get(registry.agency(f.recipient_agency).id, ())
    ]
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


def _notice_use(
    d: DisclosureFacts,
    batch: BatchFacts,
    notices: Sequence[NoticeFacts],
    done: Sequence[DisclosureFacts],
    config: RulesConfig,
) -> dict[str, int]:
    """Records each notice for ``d``'s recipient covered before ``d``: the stored transmissions
    and the batch's disclosures judged before it."""
    registry = config.registry
    if not notices or not (
        needs_notice(d, batch.orders, registry) or may_split(d, batch.orders, registry)
    ):
        return {}
    pending = {r.event_id for r in done}
    stored = [r for r in batch.transmissions if r.event_id not in pending]
    return notice_use(d, notices, [*stored, *done], config.registry)


def judge_disclosures(
    batch: BatchFacts, config: RulesConfig, *, every_window: bool = False
) -> Judgement:
    """Every rule's verdict on each disclosure of the batch as it arrives, the later days a late
    one changes, and the open prior-year alerts a late one would outgrow (contested, not
    resolved: see ``judge_contest``). Adds the batch to ``batch.book`` (its deltas are the volume
    to store) and moves ``batch.coverage`` and ``batch.latest`` on.

    ``every_window`` hands the rules a window for every scope, silent or not: the reference
    the tests hold ``speaking_windows`` to."""
    registry = config.registry
    book, coverage = batch.book, batch.coverage
    out = Judgement()
    done: list[DisclosureFacts] = []  # judged before f: notices they used count for f
    late_on = config.on(LATE_RECORDING)
    unseen = {f.event_id for f in batch.disclosures}  # stored already; not yet judged
    for f in batch.disclosures:
        unseen.discard(f.event_id)
        flow = registry.flow(f.source_agency, f.recipient_agency, f.legal_authority)
        fkeys, own = flow_keys(flow)
        source = flow.source.id
        coverage_moved = False
        if source not in config.coverage_start:
            known = coverage.get(source)
            coverage[source] = f.day if known is None else min(known, f.day)
            coverage_moved = known is not None and f.day < known
        for other in batch.heirs.get(source, ()):  # as a store read after f would say
            if other not in config.coverage_start:
                coverage[other] = min(coverage.get(other, f.day), f.day)
        latest = batch.latest.get(fkeys[0])
        if late_on:
            out.drafts.extend(late_recording(f, flow, latest))
        batch.latest[fkeys[0]] = f.day if latest is None else max(latest, f.day)
        for key in fkeys:
            book.add(key, f.day, f.record_count)
        warm = not warming_up(coverage[source], f.day, config.warmup_days)
        notices = batch.notices.get(flow.recipient.id, [])
        ctx = RuleContext(
            disclosure=f,
            windows=speaking_windows(book, f.day, fkeys, own, warm, config, every=every_window),
            coverage_start=coverage[source],
            orders_in_force=[o for o in batch.orders if o.in_force(f.transmitted_at)],
            notices=list(notices),
            config=config,
            flow=flow,
            requests=batch.requests,
            notice_use=_notice_use(f, batch, notices, done, config),
            same_day=same_day(
                f, batch.day_transmissions, unseen, batch.orders, config, batch.requests
            ),
        )
        raised = evaluate_all(ctx)
        raised.extend(later_days(book, f, fkeys, own, coverage[source], coverage_moved, config))
        out.drafts.extend(raised)
        _note_raised(batch.open_alerts, raised, batch.settled)
        arrived = batch.arrivals.get(f.event_id, datetime.min)
        proposals = outgrown(book, f, fkeys, batch.open_alerts, arrived)
        batch.settled.update(p.alert_id for p in proposals)  # contested: it awaits a person
        out.extend(contest(proposals, scope_of(fkeys[-1])))
        done.append(f)
    return out


def speaking_windows(
    book: VolumeBook,
    day: date,
    fkeys: Sequence[ScopeKey],
    own: frozenset[ScopeKey],
    warm: bool,
    config: RulesConfig,
    *,
    every: bool = False,
) -> list[ScopeWindow]:
    """The scope windows a disclosure on ``day`` is judged with, less those no rule speaks on.

    The own recipient's window is always there: the anomaly rule reads its 90 days. Another
    scope's window can only speak through the prior-year rules: not while the source is warming
    up, and then only when its day may fire (``spike_may_fire``, the spike rule's own test) or
    a sustained excess starts on it. Building and judging the silent ones was a fifth of the
    judge's time (docs/benchmarks.md, "Silent windows"); the drafts are the same.
    """
    windows_on = warm and config.on(SUSTAINED)  # trailing windows only where the rule may fire
    spike_on, new_on = config.on(SPIKE), config.on("new_scope")
    windows = []
    for i, key in enumerate(fkeys):
        recipient = i == 0  # the own recipient, with its 90-day baseline
        if not (warm or recipient or every):
            continue
        sustained = book.sustained_start(key, day) if windows_on else None
        window = book.window(key, day, trailing=recipient)
        if (
            sustained is None
            and not recipient
            and not every
            and not spike_may_fire(
                key[0],
                key in own,
                window.day_records,
                window.prior_365_records,
                window.prior_365_disclosures,
                spike_on=spike_on,
                new_on=new_on,
            )
        ):
            continue
        windows.append(scope_window(window, key in own, sustained))
    return windows


def later_days(
    book: VolumeBook,
    f: DisclosureFacts,
    fkeys: Sequence[ScopeKey],
    own: frozenset[ScopeKey],
    coverage_start: date,
    coverage_moved: bool,
    config: RulesConfig,
) -> list[AlertDraft]:
    """A late event changes the prior year of later days: evaluate again where it can matter.

    Adding records to an earlier day only raises later days' thresholds, so a later spike can
    newly fire only when the late event moved the coverage start back (ending a warm-up) or
    gave a later day its first prior-year history (it had fired new_recipient before). It
    also adds to the trailing windows ending on the days after it, up to the longest window:
    a sustained excess can newly start on one of those.
    """
    drafts: list[AlertDraft] = []
    moved = [key for key in fkeys if book.has_days_after(key, f.day)]
    if not moved:
        return drafts  # in order (the common case): no later day's prior year changed
    rule, sustained = SpikeOverPriorYear(), SustainedOverPriorYear()
    on = Judging.of(config, coverage_start, [f.event_id])
    for key in moved:
        if coverage_moved:
            days = book.later_days(key, f.day)
        else:
            first = book.newly_covered_day(key, f.day)
            days = [first] if first else []
        for later in days:
            window = scope_window(book.window(key, later), key in own)
            drafts.extend(rule.evaluate_window(window, on))
        if not config.on(SUSTAINED):
            continue
        last = f.day + timedelta(days=max(WINDOW_DAYS))
        # The rule is silent while warming up: its windows are not worked out then.
        for later in book.days_between(key, max(f.day + timedelta(days=1), on.warm_from), last):
            start = book.sustained_start(key, later)
            if start is not None:
                window = scope_window(book.window(key, later), key in own, start)
                drafts.extend(sustained.evaluate_window(window, on))
    return drafts


def _note_raised(open_alerts: OpenAlerts, drafts: Sequence[AlertDraft], settled: set[str]) -> None:
    """Prior-year alerts the batch raised are open for the disclosures after them, unless the
    alert of that id is already contested or resolved."""
    for d in drafts:
        if d.rule in OUTGROWN_RULES and isinstance(d.scope, Scope) and d.alert_id not in settled:
            at = (d.rule, (d.scope.kind, d.scope.source, d.scope.value))
            open_alerts.setdefault(at, {})[d.day] = d.alert_id


def outgrown(
    book: VolumeBook,
    f: DisclosureFacts,
    keys: Sequence[ScopeKey],
    open_alerts: OpenAlerts,
    arrived: datetime,
) -> list[Proposal]:
    """Open prior-year alerts on later days that late, earlier-dated ``f`` would outgrow: a
    spike whose day no longer exceeds its prior year, a sustained excess no window ending on its
    day still shows. Each is proposed once (then left out of ``open_alerts``)."""
    found: list[Proposal] = []
    for key in keys:
        if not book.has_days_after(key, f.day):
            continue  # in order (the common case): no later day's prior year changed
        for rule in OUTGROWN_RULES:
            open_now = open_alerts.get((rule, key))
            if not open_now:
                continue
            for day in sorted(d for d in open_now if f.day < d <= f.day + OUTGROWN_REACH):
                why = _outgrown(book, rule, key, day)
                if why is None:
                    continue
                reason = (
                    f"{rule} no longer holds: disclosure {f.disclosure_id} (event"
                    f" {f.event_id}) dated {f.day} arrived late; {why}"
                )
                found.append(
                    Proposal(
                        open_now.pop(day), rule, scope_of(key), day, reason, f.event_id, arrived
                    )
                )
    return found


def _outgrown(book: VolumeBook, rule: str, key: ScopeKey, day: date) -> str | None:
    """Why the alert of ``rule`` on ``day`` no longer holds, or None while it does."""
    if rule == SUSTAINED:
        if book.exceeding(key, day) is not None:
            return None
        return f"no trailing window ending {day} exceeds the 365 days before it any more"
    window = book.window(key, day, trailing=False)
    if window.day_records > window.prior_365_records:
        return None
    return (
        f"the 365 days before {day} now hold {window.prior_365_records:,} records,"
        f" {window.day_records:,} on the day"
    )
