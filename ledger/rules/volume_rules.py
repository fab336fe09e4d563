"""Volume rules: the prior-year spike, new recipients and authorities, the statistical early warning."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache

from ledger.rules.model import AlertDraft, RuleContext, ScopeWindow, Severity, alert_id

SPIKE = "spike_over_prior_year"
NEW_SCOPE_RULES = {"recipient": "new_recipient", "authority": "new_authority"}
ANOMALY = "statistical_anomaly"


def warming_up(coverage_start: date, day: date, warmup_days: int = 365) -> bool:
    """DESIGN 4: the prior year means nothing until the ledger has seen a year of the source."""
    return day < coverage_start + timedelta(days=warmup_days)


def _window_alert(
    rule: str,
    severity: Severity,
    window: ScopeWindow,
    *,
    threshold: int,
    evidence: list[str],
    legal_source: str,
    message: str,
) -> AlertDraft:
    """An alert about one scope's day: its id is (rule, scope, day), it observes the day's records."""
    return AlertDraft(
        alert_id=alert_id(rule, window.scope, window.day),
        rule=rule,
        severity=severity,
        scope=window.scope,
        day=window.day,
        observed=window.day_records,
        threshold=threshold,
        evidence=evidence,
        legal_source=legal_source,
        message=message,
    )


class SpikeOverPriorYear:
    """One day's records exceed the sum over the 365 days before it.

    Legal source: 26 U.S.C. 6103(p)(3)(A) and (C) (the accounting and the annual report of
    disclosures). The 7 August 2025 IRS-to-ICE transfer (47,289 records in a day) exceeded all
    6103(i) disclosures of a typical year. A scope with no history fires new_recipient /
    new_authority instead; nothing fires while the source is warming up.
    """

    legal_source = "26 U.S.C. 6103(p)(3)(A), (C): accounting and annual reporting of disclosures"

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        if not ctx.config.on(SPIKE) and not ctx.config.on("new_scope"):
            return []
        drafts: list[AlertDraft] = []
        for window in ctx.windows.values():
            drafts.extend(
                self.evaluate_window(
                    window,
                    ctx.coverage_start,
                    [ctx.disclosure.event_id],
                    ctx.config.warmup_days,
                    spike_on=ctx.config.on(SPIKE),
                    new_on=ctx.config.on("new_scope"),
                )
            )
        return drafts

    def evaluate_window(
        self,
        window: ScopeWindow,
        coverage_start: date,
        evidence: Sequence[str],
        warmup_days: int = 365,
        *,
        spike_on: bool = True,
        new_on: bool = True,
    ) -> list[AlertDraft]:
        scope = window.scope
        if window.prior_365_disclosures == 0:
            rule = NEW_SCOPE_RULES.get(scope.kind)
            if rule is None or not new_on:
                return []
            return [
                _window_alert(
                    rule,
                    Severity.INFO,
                    window,
                    threshold=0,
                    evidence=list(evidence),
                    legal_source="5 U.S.C. 552a(c); 26 U.S.C. 6103(p)(3)(A): accounting of disclosures",
                    message=(
                        f"New {scope.kind} for {scope.source}: {scope.value} "
                        "(no disclosures in the prior 365 days)."
                    ),
                )
            ]
        if not spike_on or warming_up(coverage_start, window.day, warmup_days):
            return []
        if window.day_records <= window.prior_365_records:  # exactly equal does not fire
            return []
        ratio = window.day_records / max(window.prior_365_records, 1)
        return [
            _window_alert(
                SPIKE,
                Severity.CRITICAL,
                window,
                threshold=window.prior_365_records,
                evidence=list(evidence),
                legal_source=self.legal_source,
                message=(
                    f"{window.day_records:,} records on {window.day} exceed the "
                    f"{window.prior_365_records:,} of the 365 days before ({ratio:.2f}x), for {scope}."
                ),
            )
        ]


def median_and_mad(values: Sequence[int]) -> tuple[float, float]:
    return _median_and_mad(tuple(values))


@lru_cache(maxsize=4096)
def _median_and_mad(values: tuple[int, ...]) -> tuple[float, float]:
    # Every event of a scope and day asks about the same trailing window (it excludes the day
    # itself), so the answer is cached by the window's values: pure, and it is the hot path.
    med = statistics.median(values)
    return med, statistics.median(abs(v - med) for v in values)


class StatisticalAnomaly:
    """A (source, recipient) day far outside its robust baseline: median + k * MAD of 90 days.

    An early warning well below the prior-year rule (DESIGN 4); no legal threshold of its own.
    The baseline is taken over the days that had disclosures (weekends and idle days are not
    "normal zero" days for a flow that transmits on business days), and the rule is silent until
    the window holds ``min_history_days`` such days.
    """

    legal_source = "Early warning (robust baseline); see 26 U.S.C. 6103(p)(3)(A)"

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        cfg = ctx.config
        window = ctx.windows.get("recipient")
        if not cfg.on(ANOMALY) or window is None:
            return []
        history = [v for v in window.trailing_90 if v > 0]
        if len(history) < cfg.anomaly_min_history_days:
            return []
        med, mad = median_and_mad(history)
        mad = max(mad, cfg.anomaly_mad_floor_fraction * med, 1.0)
        threshold = int(med + cfg.anomaly_k * mad)
        if window.day_records <= threshold:
            return []
        scope = window.scope
        return [
            _window_alert(
                ANOMALY,
                Severity.WARNING,
                window,
                threshold=threshold,
                evidence=[ctx.disclosure.event_id],
                legal_source=self.legal_source,
                message=(
                    f"{window.day_records:,} records on {window.day} for {scope}, above the 90-day "
                    f"baseline (median {med:,.0f} + {cfg.anomaly_k:g} x MAD {mad:,.0f} = {threshold:,})."
                ),
            )
        ]
