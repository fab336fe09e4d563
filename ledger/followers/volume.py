"""The volume follower: daily volume per scope and the compliance rules, as each event arrives."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from ledger.codec import EventCodec
from ledger.events import (
    CourtOrderAmended,
    CourtOrderRecorded,
    CourtOrderVacated,
    DisclosureAmended,
    DisclosureManifest,
    DisclosureRecorded,
    DisclosureRequested,
    NoticeFiled,
)
from ledger.followers.base import Follower, kafka_time
from ledger.followers.claims import owned
from ledger.followers.outgrown import OutgrownSpikes, scope_window
from ledger.followers.reevaluation import Lifecycle, Recorded
from ledger.rules import RuleContext, SpikeOverPriorYear, SustainedOverPriorYear, evaluate_all
from ledger.rules.config import RulesConfig
from ledger.rules.model import (
    AlertDraft,
    DisclosureFacts,
)
from ledger.rules.registry import Flow
from ledger.rules.requests import RequestFacts
from ledger.rules.volume_book import WINDOW_DAYS, ScopeKey, VolumeBook, scope_keys
from ledger.rules.volume_rules import SUSTAINED, Judging, warming_up
from ledger.store import Connection
from ledger.store import requests as request_store
from ledger.store import volume as store
from ledger.store.entries import log_id_for
from ledger.store.orders import orders_now

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def flow_keys(flow: Flow) -> tuple[tuple[ScopeKey, ...], frozenset[ScopeKey]]:
    """Every scope a disclosure counts under, and which are its own recipient and authority
    (cached: a ledger sees a few hundred flows, each disclosure asks for its own)."""
    recipients, authorities = flow.recipient.chain, flow.authority.chain
    keys = tuple(scope_keys(flow.source.id, recipients, authorities))
    return keys, frozenset((keys[0], keys[len(recipients)]))


class VolumeFollower(Follower):
    """Maintains ``daily_volume``, ``disclosures`` (with ``disclosure_details``), ``notices``,
    ``court_orders`` and ``requests``; fires alerts.

    With ``publisher`` None (replay) alerts are stored in the target schema and nothing is sent.
    """

    name = "volume"
    merged = True  # source-wide and authority scopes span partitions: one order for all

    def __init__(
        self,
        config: RulesConfig,
        tz: Any,
        codec: EventCodec | None = None,
        *,
        publisher: Any = None,
        dlq_publisher: Any = None,
    ) -> None:
        super().__init__(publisher=publisher, dlq_publisher=dlq_publisher)
        self.config = config
        self.tz = tz
        self.codec = codec or EventCodec()
        self.fired: list[AlertDraft] = []  # newly stored alerts of the last batch (for callers)
        self.lifecycle = Lifecycle(self, config, tz)

    def process(
        self, conn: Connection, tp: TopicPartition, records: Sequence[ConsumerRecord]
    ) -> None:
        run: list[Recorded] = []
        for rec, event in owned(self, conn, self.decoded(conn, records)):
            if isinstance(event, DisclosureRecorded):
                run.append((rec, event, DisclosureFacts.from_event(event, self.tz)))
                continue
            if isinstance(event, DisclosureManifest):
                store.insert_taxpayer_refs(
                    conn, event.taxpayer_refs, event.disclosure_id, event.event_id
                )
                continue
            # A later fact is judged after every disclosure that arrived before it (lifecycle).
            self._record(conn, run)
            run = []
            if isinstance(event, NoticeFiled):
                store.insert_notice(conn, event)
                self.lifecycle.notice_filed(conn, rec, event)
            elif isinstance(event, CourtOrderRecorded):
                store.insert_court_order(conn, event)
                self.lifecycle.order_recorded(conn, rec, event)
            elif isinstance(event, CourtOrderAmended | CourtOrderVacated):
                self.lifecycle.order_changed(conn, rec, event)
            elif isinstance(event, DisclosureAmended):
                self.lifecycle.disclosure_amended(conn, rec, event)
            elif isinstance(event, DisclosureRequested):
                request_store.insert_request(conn, event)
                self.lifecycle.request_recorded(conn, rec, event)
        self._record(conn, run)

    def _record(self, conn: Connection, run: list[Recorded]) -> None:
        disclosures = self.lifecycle.first_recordings(conn, run) if run else []
        if not disclosures:
            return
        new_ids = store.insert_disclosures(
            conn,
            [
                store.DisclosureRow.of(
                    event,
                    day=facts.day,
                    log_id=log_id_for(rec.topic, rec.partition),
                    kafka_offset=rec.offset,
                )
                for rec, event, facts in disclosures
            ],
        )
        request_store.insert_details(conn, [e for _, e, f in disclosures if f.event_id in new_ids])
        for _, event, f in disclosures:
            if f.event_id in new_ids and event.taxpayer_refs:
                store.insert_taxpayer_refs(conn, event.taxpayer_refs, f.disclosure_id, f.event_id)
        fresh = [f for _, _, f in disclosures if f.event_id in new_ids]
        self.stats.bump("duplicate_disclosures", len(disclosures) - len(fresh))
        if fresh:
            arrivals = {e.event_id: kafka_time(rec) for rec, e, _ in disclosures}
            self._apply(conn, fresh, OutgrownSpikes(conn, arrivals))

    def _apply(
        self, conn: Connection, facts: list[DisclosureFacts], outgrown: OutgrownSpikes
    ) -> None:
        registry = self.config.registry
        flows = [
            registry.flow(f.source_agency, f.recipient_agency, f.legal_authority) for f in facts
        ]
        sources = {flow.source.id for flow in flows}
        store.lock_sources(conn, sources)
        scoped = [flow_keys(flow) for flow in flows]
        keys = sorted({k for fkeys, _ in scoped for k in fkeys})
        book = store.load_book(conn, keys, min(f.day for f in facts), max(f.day for f in facts))
        coverage = store.first_days(conn, sources)
        for source, start in self.config.coverage_start.items():
            if source in sources:
                coverage[source] = start
        orders = orders_now(conn)
        # Notices by canonical recipient: one filed for "ICE" serves a disclosure to "U.S.
        # Immigration and Customs Enforcement".
        notices_by_recipient = self.lifecycle.notices_by_agency(
            conn, {flow.recipient.id for flow in flows}
        )
        cited = request_store.requests(conn, {f.request_id for f in facts if f.request_id})
        requests = {rid: RequestFacts.from_event(r) for rid, r in cited.items()}

        drafts: list[AlertDraft] = []
        done: list[DisclosureFacts] = []  # added before f: notices they used count for f
        seen = 0  # drafts already shown to ``outgrown``
        for f, flow, (fkeys, own) in zip(facts, flows, scoped, strict=True):
            source = flow.source.id
            coverage_moved = False
            if source not in self.config.coverage_start:
                known = coverage.get(source)
                coverage[source] = f.day if known is None else min(known, f.day)
                coverage_moved = known is not None and f.day < known
            for key in fkeys:
                book.add(key, f.day, f.record_count)
            # The trailing windows are asked for only when the rule may fire (the hot path).
            windows_on = self.config.on(SUSTAINED) and not warming_up(
                coverage[source], f.day, self.config.warmup_days
            )
            notices = notices_by_recipient.get(flow.recipient.id, [])
            ctx = RuleContext(
                disclosure=f,
                windows=[
                    scope_window(
                        book.window(key, f.day, trailing=key == fkeys[0]),  # own recipient
                        key in own,
                        book.sustained_start(key, f.day) if windows_on else None,
                    )
                    for key in fkeys
                ],
                coverage_start=coverage[source],
                orders_in_force=[o for o in orders if o.in_force(f.transmitted_at)],
                notices=notices,
                config=self.config,
                flow=flow,
                requests=requests,
                notice_use=self.lifecycle.notice_use(conn, f, orders, notices, done),
            )
            drafts.extend(evaluate_all(ctx))
            drafts.extend(
                self._reevaluate_later_days(book, f, fkeys, own, coverage[source], coverage_moved)
            )
            outgrown.raised(drafts[seen:])
            seen = len(drafts)
            outgrown.check(book, f, fkeys)
            done.append(f)
        store.write_deltas(conn, book.deltas)
        self.raise_alerts(conn, drafts)
        self.lifecycle.resolve(conn, outgrown.changes)

    def _reevaluate_later_days(
        self,
        book: VolumeBook,
        f: DisclosureFacts,
        fkeys: Sequence[ScopeKey],
        own: frozenset[ScopeKey],
        coverage_start: date,
        coverage_moved: bool,
    ) -> list[AlertDraft]:
        """A late event changes the prior year of later days: evaluate again where it can matter.

        Adding records to an earlier day only raises later days' thresholds, so a later spike can
        newly fire only when the late event moved the coverage start back (ending a warm-up) or
        gave a later day its first prior-year history (it had fired new_recipient before). It
        also adds to the trailing windows ending on the days after it, up to the longest window:
        a sustained excess can newly start on one of those.
        """
        drafts: list[AlertDraft] = []
        rule, sustained = SpikeOverPriorYear(), SustainedOverPriorYear()
        cfg = self.config
        on = Judging.of(cfg, coverage_start, [f.event_id])
        for key in fkeys:
            if not book.has_days_after(key, f.day):
                continue  # in order (the common case): no later day's prior year changed
            if coverage_moved:
                days = book.later_days(key, f.day)
            else:
                first = book.newly_covered_day(key, f.day)
                days = [first] if first else []
            for later in days:
                window = scope_window(book.window(key, later), key in own)
                drafts.extend(rule.evaluate_window(window, on))
            if not cfg.on(SUSTAINED):
                continue
            last = f.day + timedelta(days=max(WINDOW_DAYS))
            # The rule is silent while warming up: its windows are not worked out then.
            for later in book.days_between(key, max(f.day + timedelta(days=1), on.warm_from), last):
                start = book.sustained_start(key, later)
                if start is not None:
                    window = scope_window(book.window(key, later), key in own, start)
                    drafts.extend(sustained.evaluate_window(window, on))
        return drafts

    def before_commit(self, conn: Connection) -> None:
        self.fired = list(self.outbox)
        super().before_commit(conn)
