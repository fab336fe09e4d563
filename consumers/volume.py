"""The volume consumer: daily volume per scope and the compliance rules, as each event arrives."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from consumers.base import Consumer, kafka_time
from consumers.claims import owned
from consumers.outgrown import prior_year_alerts
from consumers.reevaluation import Lifecycle, Recorded
from ledger.codec import EventCodec
from ledger.events import (
    AlertAcknowledged,
    CourtOrderAmended,
    CourtOrderRecorded,
    CourtOrderVacated,
    DisclosureAmended,
    DisclosureManifest,
    DisclosureRecorded,
    DisclosureRequested,
    NoticeFiled,
)
from ledger.rules.config import RulesConfig
from ledger.rules.judge import (
    BatchFacts,
    flow_keys,
    judge_disclosures,
    needed_days,
    needed_notice_window,
)
from ledger.rules.model import AlertDraft, DisclosureFacts
from ledger.rules.registry import coverage_starts
from ledger.rules.requests import RequestFacts
from ledger.store import Connection, corrections
from ledger.store import requests as request_store
from ledger.store import volume as store
from ledger.store.entries import log_id_for
from ledger.store.orders import orders_now

log = logging.getLogger(__name__)


def refs_of(event: DisclosureRecorded | DisclosureManifest) -> list[tuple[str, str, str]]:
    """The ``taxpayer_refs`` rows of a disclosure or manifest chunk."""
    return [(ref, event.disclosure_id, event.event_id) for ref in event.taxpayer_refs]


class VolumeConsumer(Consumer):
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
                store.insert_taxpayer_refs(conn, refs_of(event))
                continue
            # A later fact is judged after every disclosure that arrived before it (lifecycle).
            self._record(conn, run)
            run = []
            # Each later fact: stored, then what it touches judged again (reevaluation).
            if isinstance(event, NoticeFiled):
                self.lifecycle.notice_filed(conn, rec, event)
            elif isinstance(event, CourtOrderRecorded):
                self.lifecycle.order_recorded(conn, rec, event)
            elif isinstance(event, CourtOrderAmended | CourtOrderVacated):
                self.lifecycle.order_changed(conn, rec, event)
            elif isinstance(event, DisclosureAmended):
                self.lifecycle.disclosure_amended(conn, rec, event)
            elif isinstance(event, DisclosureRequested):
                self.lifecycle.request_recorded(conn, rec, event)
            elif isinstance(event, AlertAcknowledged):  # `ledger alerts ack`, a signed entry
                self.lifecycle.acknowledged(conn, rec, event)
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
        store.insert_taxpayer_refs(
            conn, [row for _, e, f in disclosures if f.event_id in new_ids for row in refs_of(e)]
        )
        fresh = [f for _, _, f in disclosures if f.event_id in new_ids]
        self.stats.bump("duplicate_disclosures", len(disclosures) - len(fresh))
        if fresh:
            arrivals = {e.event_id: kafka_time(rec) for rec, e, _ in disclosures}
            self._apply(conn, fresh, arrivals)

    def _apply(
        self, conn: Connection, facts: list[DisclosureFacts], arrivals: dict[str, Any]
    ) -> None:
        """Load what the batch needs, judge it (``ledger.rules.judge``), store the outcome."""
        registry = self.config.registry
        flows = [
            registry.flow(f.source_agency, f.recipient_agency, f.legal_authority) for f in facts
        ]
        sources = {flow.source.id for flow in flows}
        store.lock_sources(conn, sources)
        keys = sorted({k for flow in flows for k in flow_keys(flow)[0]})
        book = store.load_book(conn, keys, min(f.day for f in facts), max(f.day for f in facts))
        history = {s: registry.history_of(s) for s in sources}
        coverage = coverage_starts(
            store.first_days(conn, set().union(*history.values())), sources, registry
        )
        # The batch's sources whose coverage another's disclosure starts (IRS for the Treasury).
        heirs = {s: [t for t in sources if t != s and s in history[t]] for s in sources}
        for source, start in self.config.coverage_start.items():
            if source in sources:
                coverage[source] = start
        orders = orders_now(conn)
        # Notices by canonical recipient: one filed for "ICE" serves a disclosure to "U.S.
        # Immigration and Customs Enforcement".
        notices = self.lifecycle.notices_by_agency(conn, {flow.recipient.id for flow in flows})
        cited = request_store.requests(conn, {f.request_id for f in facts if f.request_id})
        requests = {rid: RequestFacts.from_event(r) for rid, r in cited.items()}
        span = needed_notice_window(facts, orders, notices, self.config)
        days = needed_days(facts, orders, self.config, requests)
        open_alerts, settled = prior_year_alerts(conn, book, facts, keys)
        batch = BatchFacts(
            disclosures=facts,
            arrivals=arrivals,
            book=book,
            coverage=coverage,
            latest=store.last_days(conn, {flow_keys(flow)[0][0] for flow in flows}),
            orders=orders,
            notices=notices,
            requests=requests,
            transmissions=corrections.transmitted_within(conn, *span) if span else [],
            open_alerts=open_alerts,
            settled=settled,
            heirs=heirs,
            day_transmissions=self.lifecycle.days_transmissions(conn, days),
        )
        judgement = judge_disclosures(batch, self.config)
        store.write_deltas(conn, book.deltas)
        self.lifecycle.store(conn, judgement)

    def before_commit(self, conn: Connection) -> None:
        self.fired = list(self.outbox)
        super().before_commit(conn)
