"""An alert flood is itself a finding: so many alerts about one source on one day that a reader
could miss the one that matters among them (600 one-record disclosures to unregistered offices
raise over a thousand).

The store counts the alerts of each (source, day) as they are inserted (``ledger.store.alerts``)
and raises ``alert_flood`` once when the count passes ``FLOOD_THRESHOLD``; its id derives from the
source and the day, so redelivery and replay raise it once, like any alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ledger.rules.declared import RuleKind, declare
from ledger.rules.model import AlertDraft, LogScope, Scope, Severity

RULE = declare("alert_flood", RuleKind.LIFECYCLE, None)
# Alerts a day about one source (or one log partition, for malformed messages) before the flood
# is a finding. A day with a real prior-year spike raises one alert per scope it crosses (a
# handful); a hundred is far past anything an ordinary day produces, and far short of a page of
# `ledger alerts`, so the flood alert is raised while its cause is still on the first page.
FLOOD_THRESHOLD = 100
LEGAL_SOURCE = "26 U.S.C. 6103(p)(4) (safeguards: a record of disclosures that can be reviewed)"
EVIDENCE_MAX = 10  # evidence items of the flood alert: the causes of the alerts that crossed


def flood_scope(scope: Scope | LogScope) -> Scope | LogScope:
    """What a flood is counted on: the source as a whole, or the log partition."""
    if isinstance(scope, Scope):
        return Scope("source", scope.source, "")
    return scope


def flood_alert(
    scope: Scope | LogScope, day: date, count: int, evidence: Sequence[str]
) -> AlertDraft:
    """The critical alert of ``count`` alerts on ``scope`` (a ``flood_scope``) and ``day``."""
    return AlertDraft.about(
        RULE,
        Severity.CRITICAL,
        scope,
        day,
        observed=count,
        threshold=FLOOD_THRESHOLD,
        evidence=list(evidence)[:EVIDENCE_MAX],
        legal_source=LEGAL_SOURCE,
        message=(
            f"{count:,} alerts were raised about {scope} for {day}, more than the"
            f" {FLOOD_THRESHOLD} that make a flood: the alerts may hide one another. List them"
            " newest first (`ledger alerts`, open critical ones come first) and find what sends"
            " so many."
        ),
    )
