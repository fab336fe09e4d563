"""The one rule every consumer applies to event ids: an id means the bytes of the offset that
claimed it first, and nothing else.

A record whose id another offset claimed is either a harmless redelivery (identical bytes:
recorded in ``reused_event_ids``, not applied again) or a critical finding (other bytes:
recorded, dead-lettered and alerted, naming both offsets). Either way no consumer applies it,
so no table counts what the signed log does not hold, and ``ledger verify`` can account for
the offset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from kafka.consumer.fetcher import ConsumerRecord

from consumers.base import Consumer, kafka_time
from ledger.codec import EventCodec
from ledger.events import LedgerEvent
from ledger.rules.log_findings import REUSED_EVENT_ID
from ledger.rules.model import AlertDraft, LogScope, Severity
from ledger.store import Connection
from ledger.store import claims as store
from ledger.store.connection import transaction

_SOURCE = "26 U.S.C. 6103(p)(3)(A) (a permanent, complete system of records)"


def claim_of(rec: ConsumerRecord, event_id: str) -> store.Claim:
    """The claim ``rec`` makes on ``event_id``: where it is, and its bytes' SHA-256."""
    digest = hashlib.sha256(rec.value or b"").digest()
    return store.Claim(event_id, rec.topic, rec.partition, rec.offset, digest)


def claim_in_order(conn: Connection, codec: EventCodec, records: Sequence[ConsumerRecord]) -> None:
    """Claims the event ids of ``records`` in their order (a replay's append-time order) before
    a per-partition consumer applies them partition by partition: an id written on two
    partitions then goes to the record appended first, as it did live, whichever partition the
    consumer happens to apply first. Records that do not decode are left to the consumer."""
    first: dict[str, store.Claim] = {}
    for rec in records:
        try:
            event_id = codec.decode(rec.value).event.event_id
        except Exception:  # noqa: S112 (the consumer dead-letters it with the reason)
            continue
        if event_id not in first:
            first[event_id] = claim_of(rec, event_id)
    with transaction(conn):
        store.claim(conn, list(first.values()))


def owned(
    consumer: Consumer, conn: Connection, decoded: Iterable[tuple[ConsumerRecord, LedgerEvent]]
) -> list[tuple[ConsumerRecord, LedgerEvent]]:
    """The records that own their event id, in order; the others are recorded and set aside."""
    items = list(decoded)
    mine: list[store.Claim] = []
    first: dict[str, store.Claim] = {}
    for rec, event in items:
        c = claim_of(rec, event.event_id)
        mine.append(c)
        first.setdefault(c.event_id, c)  # an id twice in one slice: the earlier offset claims
    # Claimed on the consumer's claims connection when it has one: committed at once, so the
    # other consumers never wait for this batch (a claim is a fact about offsets, kept
    # whatever becomes of the batch: the same offset claiming again still holds it).
    held = store.claim(consumer.claims_conn or conn, list(first.values()))
    kept = []
    for item, c in zip(items, mine, strict=True):
        owner = held[c.event_id] or first[c.event_id]  # None: the slice's first copy holds it
        if owner is c:
            kept.append(item)
            continue
        store.record_reuse(conn, c, owner)
        if owner.value_sha256 == c.value_sha256:
            consumer.stats.bump("redeliveries")
            continue
        consumer.stats.bump("reused_event_ids")
        reason = (
            f"event id {c.event_id} at {c.where} has other bytes than the record that holds it"
            f" at {owner.where}: not applied"
        )
        consumer.dead_letter(conn, item[0], reason, alert=reused_id_alert(item[0], c, owner))
    return kept


def reused_id_alert(rec: ConsumerRecord, reused: store.Claim, owner: store.Claim) -> AlertDraft:
    """Critical: someone wrote other bytes under an event id the log already holds (one alert
    per reusing offset, whichever consumers find it)."""
    return AlertDraft.about(
        REUSED_EVENT_ID,
        Severity.CRITICAL,
        LogScope(rec.topic, rec.partition),
        kafka_time(rec).date(),
        reused.event_id,
        str(reused.offset),
        observed=1,
        evidence=[reused.where, owner.where, reused.event_id],
        legal_source=_SOURCE,
        message=(
            f"Event id {reused.event_id} was written again at {reused.where} with other bytes"
            f" than the record at {owner.where} that holds it; the second record is in the"
            " dead-letter topic and no table counts it."
        ),
    )
