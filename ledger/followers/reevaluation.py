"""Later facts for the volume follower: re-judges what they change and records the lifecycle.

A notice or order recorded after the transmissions it concerns, an order amended or vacated, and
a disclosure amended each re-evaluate the disclosures they touch (as they now stand, under the
orders as they now read) and reconcile that with the alerts already raised
(``ledger.rules.lifecycle``): new alerts are raised, resolved ones that are due again are opened
again, and open ones no rule supports any more are resolved by an AlertResolved event. The volume
follower calls these hooks after applying every disclosure that arrived before the fact, so the
result depends only on the log's order, not on how it was batched: a replay gives the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord

from ledger.events import (
    AlertResolved,
    CourtOrderRecorded,
    CourtOrderVacated,
    DisclosureAmended,
    DisclosureRecorded,
    DisclosureRequested,
    NoticeFiled,
)
from ledger.followers.base import Follower, kafka_time
from ledger.followers.outgrown import scope_window
from ledger.rules.amendments import corrected, parse_changes
from ledger.rules.config import RulesConfig
from ledger.rules.contents import CONFLICT, conflict_alert, contents_digest
from ledger.rules.lifecycle import (
    DISCLOSURE_RULES,
    DUPLICATE,
    OPEN,
    RESOLVED,
    Reconciliation,
    StoredAlert,
    disclosure_verdicts,
    duplicate_alert,
    needs_notice,
    notice_use,
    reconcile,
)
from ledger.rules.model import (
    AlertDraft,
    CourtOrderFacts,
    DisclosureFacts,
    NoticeFacts,
)
from ledger.rules.orders import OrderChange, current_orders
from ledger.rules.requests import RequestFacts
from ledger.rules.volume_book import PRIOR_DAYS, DayTotals, ScopeKey, scope_keys
from ledger.rules.volume_rules import SPIKE, Judging, SpikeOverPriorYear
from ledger.store import Connection, corrections
from ledger.store import contents as contents_store
from ledger.store import requests as request_store
from ledger.store import volume as volume_store
from ledger.store.alert_status import StatusChange, alerts_about, alerts_on_days, record_changes
from ledger.store.orders import insert_change, order_changes, orders_now, recorded_orders

log = logging.getLogger(__name__)

Recorded = tuple[ConsumerRecord, DisclosureRecorded, DisclosureFacts]


class Lifecycle:
    """The re-evaluation hooks of one follower (it stores and publishes what they decide)."""

    def __init__(self, follower: Follower, config: RulesConfig, tz: Any) -> None:
        self.follower = follower
        self.config = config
        self.tz = tz

    # -- the facts that re-evaluate -------------------------------------------------------

    def notice_filed(self, conn: Connection, rec: ConsumerRecord, notice: NoticeFiled) -> None:
        """A notice entered after transmissions it announced may satisfy their orders now."""
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
        affected = corrections.citing_request(conn, request.request_id)
        reason = f"request {request.request_id} (event {request.event_id}) was recorded"
        self.rejudge(conn, rec, request.event_id, affected, reason)

    def order_recorded(
        self, conn: Connection, rec: ConsumerRecord, order: CourtOrderRecorded
    ) -> None:
        """An order entered after its effective time binds the transmissions since then."""
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
        what = "vacated" if isinstance(change, CourtOrderVacated) else "amended"
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
            self.follower.stats.bump("amendments_without_disclosure")
            return
        old, was_withdrawn = found
        change = parse_changes(amended.changes)
        new = corrected(old, change, self.tz)
        withdrawn = was_withdrawn if change.withdrawn is None else change.withdrawn
        if not corrections.insert_amendment(conn, amended, target, new, withdrawn):
            return  # redelivered
        deltas: dict[tuple[ScopeKey, date], DayTotals] = {}
        for facts, sign in ((old, -1), (new, 1)):
            if (sign < 0 and was_withdrawn) or (sign > 0 and withdrawn):
                continue
            for key in self.scopes(facts)[1]:
                totals = deltas.setdefault((key, facts.day), DayTotals())
                totals.disclosures += sign
                totals.records += sign * facts.record_count
        volume_store.write_deltas(conn, deltas)
        reason = f"disclosure {old.disclosure_id} was amended (event {amended.event_id})"
        self.rejudge(conn, rec, amended.event_id, [] if withdrawn else [new], reason, [target])
        self.rejudge_spikes(conn, rec, amended.event_id, [old, new], reason)

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
        legacy = corrections.recorded_event_ids(
            conn,
            {
                (f.source_agency, f.disclosure_id)
                for (_, _, f), k in zip(run, keys, strict=True)
                if k not in earlier
            },
        )
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
            old = legacy.get((f.source_agency, f.disclosure_id))
            if old is not None and old != f.event_id and not before:
                self.follower.stats.bump("second_recordings")
                drafts.append(duplicate_alert(f, old))
                continue
            digest = contents_digest(event, registry)
            if any(e == f.event_id for e, _ in before):
                kept.append(item)  # redelivered: stored already
                continue
            same = next((e for e, d in before if d == digest), None)
            if same is not None:
                self.follower.stats.bump("second_recordings")
                drafts.append(duplicate_alert(f, same))
                continue
            if before:
                self.follower.stats.bump("conflicting_recordings")
                conflicts.append(conflict_alert(f, before[0][0]))
            before.append((f.event_id, digest))
            stored.append((key[0], key[1], f.event_id, digest))
            kept.append(item)
        contents_store.insert_contents(conn, stored)
        if self.config.on(DUPLICATE):
            self.follower.raise_alerts(conn, drafts)
        if self.config.on(CONFLICT):
            self.follower.raise_alerts(conn, conflicts)
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
        """Reconciles the disclosure rules' verdicts on ``affected`` (and the alerts about the
        disclosures ``also`` names, e.g. one withdrawn) with the alerts raised before."""
        subjects = {d.event_id for d in affected} | set(also)
        if not subjects:
            return
        orders = orders_now(conn)
        agency = self.config.registry.agency
        notices = self.notices_by_agency(conn, {agency(d.recipient_agency).id for d in affected})
        cited = request_store.requests(conn, {d.request_id for d in affected if d.request_id})
        requests = {rid: RequestFacts.from_event(r) for rid, r in cited.items()}
        due: list[AlertDraft] = []
        for d in affected:
            mine = notices.get(agency(d.recipient_agency).id, [])
            use = self.notice_use(conn, d, orders, mine, ())
            due.extend(disclosure_verdicts(d, orders, mine, self.config, use, requests))
        rules = [r for r in DISCLOSURE_RULES if self.config.on(r)]
        self.settle(conn, rec, cause, reconcile(due, alerts_about(conn, rules, subjects), reason))

    def rejudge_spikes(
        self,
        conn: Connection,
        rec: ConsumerRecord,
        cause: str,
        moved: Sequence[DisclosureFacts],
        reason: str,
    ) -> None:
        """Reconciles prior-year spikes on the days whose volume changed and the year after."""
        if not self.config.on(SPIKE):
            return
        keys = sorted({k for d in moved for k in self.scopes(d)[1]})
        first, last = min(d.day for d in moved), max(d.day for d in moved)
        book = volume_store.load_book(conn, keys, first, last)
        sources = {self.scopes(d)[0] for d in moved}
        coverage = volume_store.first_days(conn, sources)
        coverage.update({s: c for s, c in self.config.coverage_start.items() if s in sources})
        rule = SpikeOverPriorYear()
        due: list[AlertDraft] = []
        stored: list[StoredAlert] = []
        end = last + timedelta(days=PRIOR_DAYS)
        for key in keys:
            start = coverage.get(key[1], first)
            for day in [d for d in book.sorted_days[key] if first <= d <= end]:
                window = scope_window(book.window(key, day))
                if window.day_disclosures == 0:
                    continue
                on = Judging(start, [cause], self.config.warmup_days, new_on=False)
                drafts = rule.evaluate_window(window, on)
                due.extend(d for d in drafts if d.rule == SPIKE)
            stored.extend(s for s, _ in alerts_on_days(conn, SPIKE, key, first, end, status=None))
        self.settle(conn, rec, cause, reconcile(due, stored, reason))

    def scopes(self, d: DisclosureFacts) -> tuple[str, list[ScopeKey]]:
        """The disclosure's source id and every volume scope it counts under (the registry's)."""
        flow = self.config.registry.flow(d.source_agency, d.recipient_agency, d.legal_authority)
        return flow.source.id, scope_keys(
            flow.source.id, flow.recipient.chain, flow.authority.chain
        )

    def notice_use(
        self,
        conn: Connection,
        d: DisclosureFacts,
        orders: Sequence[CourtOrderFacts],
        notices: Sequence[NoticeFacts],
        arrived: Sequence[DisclosureFacts],
    ) -> dict[str, int]:
        """Records each notice for ``d``'s recipient covered before ``d``: stored transmissions
        and ``arrived`` (earlier ones of the batch, not stored yet)."""
        registry = self.config.registry
        if not notices or not needs_notice(d, orders, registry):
            return {}
        start = min(n.planned_start for n in notices)
        end = max(n.planned_end for n in notices)
        pending = {r.event_id for r in arrived}
        stored = [
            r for r in corrections.transmitted_within(conn, start, end) if r.event_id not in pending
        ]
        return notice_use(d, notices, [*stored, *arrived], registry)

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

    def settle(
        self, conn: Connection, rec: ConsumerRecord, cause: str, result: Reconciliation
    ) -> None:
        """Stores and queues what a reconciliation decided."""
        if not result:
            return
        at = kafka_time(rec)
        self.follower.raise_alerts(conn, result.raised)
        reopened = record_changes(
            conn,
            [
                StatusChange(d.alert_id, OPEN, f"due again: {d.message}", cause, at)
                for d in result.reopened
            ],
        )
        again = {c.alert_id for c in reopened}
        self.follower.outbox.extend(d for d in result.reopened if d.alert_id in again)
        resolved = [
            StatusChange(r.alert_id, RESOLVED, r.reason, cause, at) for r in result.resolved
        ]
        self.resolve(conn, resolved)

    def resolve(self, conn: Connection, changes: Sequence[StatusChange]) -> None:
        for c in record_changes(conn, changes):
            self.follower.stats.bump("alerts_resolved")
            self.follower.event_outbox.append(
                AlertResolved(
                    event_id=c.event_id,
                    occurred_at=c.at,
                    recorded_by=f"ledger/{self.follower.name}",
                    alert_id=c.alert_id,
                    reason=c.reason[:2000],
                    resolved_by=c.caused_by,
                    resolved_at=c.at,
                )
            )
