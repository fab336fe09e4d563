"""Later facts for the volume consumer: re-judges what they change and records the lifecycle.

A notice or order recorded after the transmissions it concerns, an order amended or vacated, and
a disclosure amended each re-evaluate the disclosures they touch. This module only loads what
the fact touches and stores what the judge (``ledger.rules.judge_late``) decides: new alerts
are raised, resolved ones that are due again are opened again, and open ones the fact would
resolve stay open, contested, beside a critical finding_contested alert. The volume consumer
calls these hooks after applying every disclosure that arrived before the fact, so the result
depends only on the log's order, not on how it was batched: a replay gives the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord

from consumers.base import Consumer, kafka_time
from ledger.events import (
    AlertAcknowledged,
    AlertResolved,
    CourtOrderRecorded,
    CourtOrderVacated,
    DisclosureAmended,
    DisclosureRecorded,
    DisclosureRequested,
    NoticeFiled,
)
from ledger.rules import judge_late
from ledger.rules.amendments import corrected, parse_changes
from ledger.rules.config import RulesConfig
from ledger.rules.contents import CONFLICT, conflict_alert, contents_digest
from ledger.rules.judge import needed_days, needed_notice_window
from ledger.rules.judge_contest import CONTESTED_PREFIX, DUE_AGAIN, Judgement
from ledger.rules.judge_late import amendment_moves, count_up, held_back
from ledger.rules.lifecycle import (
    DISCLOSURE_RULES,
    DUPLICATE,
    OPEN,
    RESOLVED,
    StatusChange,
    duplicate_alert,
)
from ledger.rules.model import AlertDraft, CourtOrderFacts, DisclosureFacts, NoticeFacts
from ledger.rules.orders import COLLATERAL_BAR, OrderChange, current_orders
from ledger.rules.requests import RequestFacts
from ledger.rules.volume_book import PRIOR_DAYS, DayTotals, ScopeKey
from ledger.rules.volume_rules import SPIKE
from ledger.store import Connection, corrections
from ledger.store import contents as contents_store
from ledger.store import requests as request_store
from ledger.store import volume as volume_store
from ledger.store.alert_status import (
    alerts_about,
    alerts_on_days,
    current_status,
    record_changes,
)
from ledger.store.deliveries import store_acknowledgement
from ledger.store.orders import insert_change, order_changes, orders_now, recorded_orders

log = logging.getLogger(__name__)

Recorded = tuple[ConsumerRecord, DisclosureRecorded, DisclosureFacts]


class Lifecycle:
    """What the volume consumer does with each later fact: store it, then judge again the
    disclosures it touches (the consumer stores and publishes what the judge decides)."""

    def __init__(self, consumer: Consumer, config: RulesConfig, tz: Any) -> None:
        self.consumer = consumer
        self.config = config
        self.tz = tz

    # -- the facts that re-evaluate -------------------------------------------------------

    def notice_filed(self, conn: Connection, rec: ConsumerRecord, notice: NoticeFiled) -> None:
        """A notice entered after transmissions it announced may satisfy their orders now."""
        volume_store.insert_notice(conn, notice)
        start = max(notice.filed_at, notice.planned_transmission_start)
        agency = self.config.registry.agency
        recipient = agency(notice.recipient_agency).id
        affected = [
            d
            for d in corrections.transmitted_within(conn, start, notice.planned_transmission_end)
            if agency(d.recipient_agency).id == recipient
        ]
        reason = f"notice {notice.notice_id} (event {notice.event_id}) was recorded"
        self.rejudge(conn, rec, notice.event_id, affected, reason)

    def request_recorded(
        self, conn: Connection, rec: ConsumerRecord, request: DisclosureRequested
    ) -> None:
        """A request entered after the disclosures citing it: request_incomplete judges again."""
        request_store.insert_request(conn, request)
        affected = corrections.citing_request(conn, request.request_id)
        reason = f"request {request.request_id} (event {request.event_id}) was recorded"
        self.rejudge(conn, rec, request.event_id, affected, reason)

    def order_recorded(
        self, conn: Connection, rec: ConsumerRecord, order: CourtOrderRecorded
    ) -> None:
        """An order entered after its effective time binds the transmissions since then."""
        volume_store.insert_court_order(conn, order)
        terms = [o for o in orders_now(conn) if o.order_id == order.order_id]
        affected = self._under(conn, terms)
        reason = f"court order {order.order_id} (event {order.event_id}) was recorded"
        self.rejudge(conn, rec, order.event_id, affected, reason)

    def order_changed(self, conn: Connection, rec: ConsumerRecord, change: OrderChange) -> None:
        """An amendment or vacatur: every transmission under the old or the new terms."""
        recorded = [o for o in recorded_orders(conn) if o.order_id == change.order_id]
        before = current_orders(recorded, order_changes(conn, change.order_id))
        if not insert_change(conn, change):
            return  # redelivered
        after = current_orders(recorded, order_changes(conn, change.order_id))
        affected = {d.event_id: d for d in self._under(conn, [*before, *after])}
        what = "amended"
        if isinstance(change, CourtOrderVacated):
            what = f"vacated; {COLLATERAL_BAR}" if change.ab_initio else "vacated"
        reason = f"court order {change.order_id} was {what} (event {change.event_id})"
        self.rejudge(conn, rec, change.event_id, list(affected.values()), reason)

    def disclosure_amended(
        self, conn: Connection, rec: ConsumerRecord, amended: DisclosureAmended
    ) -> None:
        """Moves the disclosure's volume to its corrected day and scopes, and re-judges it."""
        target = corrections.amended_event_id(conn, amended)
        found = None if target is None else corrections.current_disclosure(conn, target)
        if target is None or found is None:
            log.warning("amendment %s names no recorded disclosure", amended.event_id)
            self.consumer.stats.bump("amendments_without_disclosure")
            return
        old, was_withdrawn = found
        change = parse_changes(amended.changes)
        new = corrected(old, change, self.tz)
        withdrawn = was_withdrawn if change.withdrawn is None else change.withdrawn
        if not corrections.insert_amendment(conn, amended, target, new, withdrawn):
            return  # redelivered
        moves = amendment_moves(old, new, was_withdrawn, withdrawn, self.config)
        reason = f"disclosure {old.disclosure_id} was amended (event {amended.event_id})"
        # Judged as amended (the proposal), stored as first recorded: volume only counts up.
        self.rejudge(conn, rec, amended.event_id, [] if withdrawn else [new], reason, [target])
        self.rejudge_spikes(conn, rec, amended.event_id, [old, new], reason, moves)
        volume_store.write_deltas(conn, count_up(moves))
        volume_store.write_deltas(conn, held_back(moves), "daily_volume_amended")

    def first_recordings(self, conn: Connection, run: Sequence[Recorded]) -> list[Recorded]:
        """The run without resends. A second recording of a (canonical source, disclosure id)
        with the contents of an earlier one is not counted and raises duplicate_disclosure; one
        with other contents is counted and raises conflicting_disclosure (critical), both naming
        the two event ids (``ledger.rules.contents``). The same event redelivered is kept
        (storing it again is a no-op)."""
        registry = self.config.registry
        keys = [(registry.agency(f.source_agency).id, f.disclosure_id) for _, _, f in run]
        earlier = contents_store.recorded_contents(conn, keys)
        # Recorded before their contents were kept (migration 010): taken as the same contents.
        legacy: dict[tuple[str, str], str] = {}
        missing = {
            f.disclosure_id for (_, _, f), k in zip(run, keys, strict=True) if k not in earlier
        }
        for text, disclosure_id, event_id in corrections.recordings_of(conn, missing):
            legacy.setdefault((registry.agency(text).id, disclosure_id), event_id)
        kept: list[Recorded] = []
        drafts: list[AlertDraft] = []
        conflicts: list[AlertDraft] = []
        stored: list[tuple[str, str, str, bytes]] = []
        seen: set[str] = set()
        for item, key in zip(run, keys, strict=True):
            _, event, f = item
            if f.event_id in seen:
                continue  # the same event twice in one batch (redelivered): counted once
            seen.add(f.event_id)
            before = earlier.setdefault(key, [])
            old = legacy.get(key)
            if old is not None and old != f.event_id and not before:
                self.consumer.stats.bump("second_recordings")
                drafts.append(duplicate_alert(f, old))
                continue
            digest = contents_digest(event, registry)
            if any(e == f.event_id for e, _ in before):
                kept.append(item)  # redelivered: stored already
                continue
            same = next((e for e, d in before if d == digest), None)
            if same is not None:
                self.consumer.stats.bump("second_recordings")
                drafts.append(duplicate_alert(f, same))
                continue
            if before:
                self.consumer.stats.bump("conflicting_recordings")
                conflicts.append(conflict_alert(f, before[0][0]))
            before.append((f.event_id, digest))
            stored.append((key[0], key[1], f.event_id, digest))
            kept.append(item)
        contents_store.insert_contents(conn, stored)
        if self.config.on(DUPLICATE):
            self.consumer.raise_alerts(conn, drafts)
        if self.config.on(CONFLICT):
            self.consumer.raise_alerts(conn, conflicts)
        return kept

    # -- re-judging ------------------------------------------------------------------------

    def rejudge(
        self,
        conn: Connection,
        rec: ConsumerRecord,
        cause: str,
        affected: Sequence[DisclosureFacts],
        reason: str,
        also: Iterable[str] = (),
    ) -> None:
        """Loads what the disclosure rules need about ``affected`` (and the alerts about the
        disclosures ``also`` names, e.g. one withdrawn), judges (``judge_late.rejudge``), stores."""
        subjects = {d.event_id for d in affected} | set(also)
        if not subjects:
            return
        orders = orders_now(conn)
        agency = self.config.registry.agency
        notices = self.notices_by_agency(conn, {agency(d.recipient_agency).id for d in affected})
        cited = request_store.requests(conn, {d.request_id for d in affected if d.request_id})
        requests = {rid: RequestFacts.from_event(r) for rid, r in cited.items()}
        span = needed_notice_window(affected, orders, notices, self.config)
        rules = [r for r in DISCLOSURE_RULES if self.config.on(r)]
        judgement = judge_late.rejudge(
            affected,
            orders,
            notices,
            requests,
            corrections.transmitted_within(conn, *span) if span else [],
            alerts_about(conn, rules, subjects),
            self.config,
            reason,
            cause,
            kafka_time(rec),
            self.days_transmissions(conn, needed_days(affected, orders, self.config, requests)),
        )
        self.store(conn, judgement)

    def rejudge_spikes(
        self,
        conn: Connection,
        rec: ConsumerRecord,
        cause: str,
        moved: Sequence[DisclosureFacts],
        reason: str,
        moves: Mapping[tuple[ScopeKey, date], DayTotals],
    ) -> None:
        """Loads the days whose volume ``moves`` change and the year after, with their spike
        alerts, and judges them as the moves would leave the volume."""
        if not self.config.on(SPIKE):
            return
        keys = sorted({k for d in moved for k in judge_late.scopes(d, self.config)[1]})
        first, last = min(d.day for d in moved), max(d.day for d in moved)
        amended = volume_store.load_book(conn, keys, first, last)
        judge_late.apply_moves(amended, moves)
        counted = volume_store.load_book(conn, keys, first, last)
        judge_late.apply_moves(counted, count_up(moves))
        sources = {judge_late.scopes(d, self.config)[0] for d in moved}
        coverage = volume_store.first_days(conn, sources)
        coverage.update({s: c for s, c in self.config.coverage_start.items() if s in sources})
        end = last + timedelta(days=PRIOR_DAYS)
        stored = [
            s for key in keys for s, _ in alerts_on_days(conn, SPIKE, key, first, end, status=None)
        ]
        judgement = judge_late.rejudge_spikes(
            amended,
            counted,
            keys,
            first,
            last,
            coverage,
            stored,
            self.config,
            reason,
            cause,
            kafka_time(rec),
        )
        self.store(conn, judgement)

    def acknowledged(self, conn: Connection, rec: ConsumerRecord, ack: AlertAcknowledged) -> None:
        """A person's acknowledgement closes a contested alert: a later fact proposed to resolve
        it, and only a person (an authenticated, signed entry) accepts that. Any other alert
        keeps its status; the acknowledgement is shown beside it."""
        store_acknowledgement(conn, ack)
        now = current_status(conn, ack.alert_id)
        if now is None or now[0] != OPEN or not now[1].startswith(CONTESTED_PREFIX):
            return
        reason = (
            f"acknowledged by {ack.acknowledged_by}: the later fact it was contested by stands"
            f" ({now[1][len(CONTESTED_PREFIX) :]})"
        )
        record_changes(
            conn,
            [StatusChange(ack.alert_id, RESOLVED, reason[:4000], ack.event_id, kafka_time(rec))],
        )

    def days_transmissions(
        self, conn: Connection, days: tuple[date, date] | None
    ) -> list[DisclosureFacts]:
        """The stored transmissions from the first to the last of ``days`` (local days), which a
        notice order may sum per day (``ledger.rules.judge.same_day`` picks each one's day)."""
        if days is None:
            return []
        start = datetime.combine(days[0], time.min, self.tz)
        end = datetime.combine(days[1] + timedelta(days=1), time.min, self.tz)
        return corrections.transmitted_between(conn, start, end)

    def notices_by_agency(
        self, conn: Connection, agencies: set[str]
    ) -> dict[str, list[NoticeFacts]]:
        """The notices filed for these recipients (canonical ids), whatever the spelling, by id."""
        agency = self.config.registry.agency
        spellings = [t for t in volume_store.notice_recipients(conn) if agency(t).id in agencies]
        found: dict[str, list[NoticeFacts]] = {}
        for filed in volume_store.notices(conn, spellings) if spellings else []:
            n = NoticeFacts.from_event(filed)
            found.setdefault(agency(n.recipient_agency).id, []).append(n)
        return found

    def _under(self, conn: Connection, orders: Sequence[CourtOrderFacts]) -> list[DisclosureFacts]:
        """The stored transmissions any of ``orders`` may bind, by time (the rules judge the
        recipient and authority, by id and ancestry)."""
        found: dict[str, DisclosureFacts] = {}
        for o in orders:
            for d in corrections.transmitted_between(conn, o.effective_at, o.expires_at):
                found[d.event_id] = d
        return list(found.values())

    # -- recording the outcome ---------------------------------------------------------------

    def store(self, conn: Connection, judgement: Judgement) -> None:
        """Stores and queues what the judge decided: its alerts, then its status changes (an
        alert reopened is published again when that change is new)."""
        self.consumer.raise_alerts(conn, judgement.drafts)
        fresh = record_changes(conn, judgement.changes)
        again = {c.alert_id for c in fresh if c.reason.startswith(DUE_AGAIN)}
        self.consumer.outbox.extend(d for d in judgement.reopened if d.alert_id in again)
        contested = sum(c.reason.startswith(CONTESTED_PREFIX) for c in fresh)
        self.consumer.stats.bump("alerts_contested", contested)
        self.resolve([c for c in fresh if c.status == RESOLVED])

    def resolve(self, changes: Sequence[StatusChange]) -> None:
        """Publishes an AlertResolved for each resolution already recorded."""
        for c in changes:
            self.consumer.stats.bump("alerts_resolved")
            self.consumer.event_outbox.append(
                AlertResolved(
                    event_id=c.event_id,
                    occurred_at=c.at,
                    recorded_by=f"ledger/{self.consumer.name}",
                    alert_id=c.alert_id,
                    reason=c.reason[:2000],
                    resolved_by=c.caused_by,
                    resolved_at=c.at,
                )
            )
