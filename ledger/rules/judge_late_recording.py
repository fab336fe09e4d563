"""late_recording: a disclosure recorded long after it was transmitted is a finding of its own.

The accounting of 26 U.S.C. 6103(p)(3)(A) and 5 U.S.C. 552a(c)(1) is made at the time of the
disclosure. The ledger measures "long after" on its own record, not on any time the source
claims: a disclosure is recorded late when, as it arrives, the ledger already holds a
disclosure from the same source to the same recipient (canonical) transmitted more than
``LATE_RECORDING_DAYS`` calendar days after it (that flow's record had moved on a month and this
one was left out). Per recipient, because a disclosure's Kafka key is its recipient: one
recipient's disclosures keep the order they were sent in, while a backfill of many recipients
interleaves across partitions. Deterministic in the log's order, so a replay reaches the same
verdict, and a ledger seeded with an old history in order raises nothing. Pure: no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta

from ledger.rules.declared import RuleKind, declare
from ledger.rules.model import AlertDraft, DisclosureFacts, Scope, Severity
from ledger.rules.registry import Flow

LATE_RECORDING = declare("late_recording", RuleKind.DISCLOSURE)
LATE_RECORDING_DAYS = 30  # a month: the longest a monthly reporting cycle excuses


def late_recording(f: DisclosureFacts, flow: Flow, latest: date | None) -> list[AlertDraft]:
    """The finding when ``f`` arrives after its flow's record reached ``latest`` (the latest day
    held for its source and recipient before it) and ``f``'s day lies more than
    LATE_RECORDING_DAYS before that."""
    if latest is None or f.day >= latest - timedelta(days=LATE_RECORDING_DAYS):
        return []
    lag = (latest - f.day).days
    scope = Scope("source", flow.source.id, "")
    return [
        AlertDraft.about(
            LATE_RECORDING,
            Severity.WARNING,
            scope,
            f.day,
            f.event_id,
            observed=lag,
            threshold=LATE_RECORDING_DAYS,
            evidence=[f.event_id],
            legal_source=(
                "26 U.S.C. 6103(p)(3)(A); 5 U.S.C. 552a(c)(1): the accounting is made at the time"
                " of disclosure"
            ),
            message=(
                f"Disclosure {f.disclosure_id} ({f.record_count:,} records, transmitted"
                f" {f.day}) was recorded after the ledger already held {flow.source.id}'s"
                f" disclosures to {flow.recipient.id} up to {latest}, {lag} days later (more than"
                f" {LATE_RECORDING_DAYS}); its accounting was not made at the time of disclosure."
            ),
        )
    ]
