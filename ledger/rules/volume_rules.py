"""Volume rules: the prior-year spike and its multi-day form, new recipients and authorities, the
statistical early warning."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, lru_cache

from ledger.rules.config import RulesConfig
from ledger.rules.declared import RuleClass, RuleKind, declare
from ledger.rules.model import AlertDraft, RuleContext, ScopeWindow, Severity

SPIKE = declare("spike_over_prior_year", RuleKind.VOLUME)
SUSTAINED = declare("sustained_over_prior_year", RuleKind.VOLUME)
NEW_SCOPE_RULES = {
    "recipient": declare("new_recipient", RuleKind.VOLUME, "new_scope"),
    "authority": declare("new_authority", RuleKind.VOLUME, "new_scope"),
}
ANOMALY = declare("statistical_anomaly", RuleKind.VOLUME)
PRIOR_YEAR_LEGAL_SOURCE = (
    "26 U.S.C. 6103(p)(3)(A), (C): accounting and annual reporting of disclosures"
)


def warming_up(coverage_start: date, day: date, warmup_days: int = 365) -> bool:
    """The prior year means nothing until the ledger has seen a year of the source (see
    docs/design.md, 'History and warm-up')."""
    return day < coverage_start + timedelta(days=warmup_days)


@dataclass(frozen=True)
class Judging:
    """What a scope window is judged with: the source's coverage start, the evidence, and the
    switches and thresholds of the rules config."""

    coverage_start: date
    evidence: Sequence[str]
    warmup_days: int = 365
    spike_on: bool = True
    new_on: bool = True
    new_critical_records: int = 10_000

    @cached_property
    def warm_from(self) -> date:
        """The first day the prior-year rules speak (every window of a disclosure asks)."""
        return self.coverage_start + timedelta(days=self.warmup_days)

    @classmethod
    def of(cls, config: RulesConfig, coverage_start: date, evidence: Sequence[str]) -> Judging:
        return cls(
            coverage_start,
            evidence,
            config.warmup_days,
            spike_on=config.on(SPIKE),
            new_on=config.on("new_scope"),
            new_critical_records=config.new_scope_critical_records,
        )


def _over_prior_year(
    rule: str, window: ScopeWindow, on: Judging, records: int, prior: int, when: str
) -> AlertDraft:
    """The critical alert of both prior-year rules: ``records`` (on a day, or over a trailing
    window, as ``when`` says) exceed the ``prior`` records of the 365 days before."""
    return AlertDraft.about(
        rule,
        Severity.CRITICAL,
        window.scope,
        window.day,
        observed=records,
        threshold=prior,
        evidence=list(on.evidence),
        legal_source=PRIOR_YEAR_LEGAL_SOURCE,
        message=(
            f"{records:,} records {when} exceed the {prior:,} of the 365 days before"
            f" ({records / max(prior, 1):.2f}x), for {window.scope}."
        ),
    )


class _WindowRule(RuleClass):
    """A rule judged one scope window at a time: every window of the context as a disclosure
    arrives, one later day's window when a late disclosure re-judges it (``evaluate_window``)."""

    switches: tuple[str, ...] = ()  # the rule runs while any of these is on

    def evaluate_window(self, window: ScopeWindow, on: Judging) -> list[AlertDraft]:
        raise NotImplementedError

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        if not any(ctx.config.on(switch) for switch in self.switches):
            return []
        on = judging(ctx)
        return [draft for window in ctx.windows for draft in self.evaluate_window(window, on)]


def judging(ctx: RuleContext) -> Judging:
    """The disclosure's ``Judging``, made once: each window rule asks for it, and a context
    is made per disclosure (kept in its ``__dict__``, as ``functools.cached_property`` does)."""
    found: Judging | None = ctx.__dict__.get("_judging")
    if found is None:
        found = Judging.of(ctx.config, ctx.coverage_start, [ctx.disclosure.event_id])
        ctx.__dict__["_judging"] = found
    return found


class SpikeOverPriorYear(_WindowRule, rule=SPIKE):
    """One day's records exceed the sum over the 365 days before it.

    Legal source: 26 U.S.C. 6103(p)(3)(A) and (C) (the accounting and the annual report of
    disclosures). The 7 August 2025 IRS-to-ICE transfer (47,289 records in a day) exceeded all
    6103(i) disclosures of a typical year (43,141 federal law-enforcement (i) disclosures in
    2022). A recipient or authority with no history fires new_recipient / new_authority instead
    (at its own scope only), CRITICAL when its first day holds more than
    ``new_scope_critical_records``; nothing fires while the source is warming up.
    """

    legal_source = PRIOR_YEAR_LEGAL_SOURCE
    switches = (SPIKE, "new_scope")

    def evaluate_window(self, window: ScopeWindow, on: Judging) -> list[AlertDraft]:
        scope = window.scope
        if window.day < on.warm_from:  # warming up
            return []  # `ledger alerts --first-seen` lists the scopes first seen meanwhile
        if not spike_may_fire(
            scope.kind,
            window.own,
            window.day_records,
            window.prior_365_records,
            window.prior_365_disclosures,
            spike_on=on.spike_on,
            new_on=on.new_on,
        ):
            return []
        if window.prior_365_disclosures == 0:
            rule = NEW_SCOPE_RULES[scope.kind]
            big = window.day_records > on.new_critical_records
            return [
                AlertDraft.about(
                    rule,
                    Severity.CRITICAL if big else Severity.INFO,
                    scope,
                    window.day,
                    # A day that grows past the threshold raises a second, critical alert.
                    *(("critical",) if big else ()),
                    observed=window.day_records,
                    threshold=on.new_critical_records if big else 0,
                    evidence=list(on.evidence),
                    legal_source="5 U.S.C. 552a(c); 26 U.S.C. 6103(p)(3)(A): accounting of disclosures",
                    message=(
                        f"New {scope.kind} for {scope.source}: {scope.value} "
                        f"(no disclosures in the prior 365 days; {window.day_records:,} records"
                        f" on {window.day})."
                    ),
                )
            ]
        return [
            _over_prior_year(
                SPIKE, window, on, window.day_records, window.prior_365_records, f"on {window.day}"
            )
        ]


def spike_may_fire(
    kind: str,
    own: bool,
    day_records: int,
    prior_records: int,
    prior_disclosures: int,
    *,
    spike_on: bool,
    new_on: bool,
) -> bool:
    """Whether spike_over_prior_year, new_recipient or new_authority fires on a scope's day past
    its warm-up, from the day's figures alone. The rule asks this first, and the judge asks it
    before building a window, so the two cannot disagree."""
    if prior_disclosures == 0:  # no history: a new scope, at the disclosure's own scope only
        return new_on and own and kind in NEW_SCOPE_RULES
    return spike_on and day_records > prior_records  # exactly equal does not fire


def spikes(window: ScopeWindow) -> bool:
    """The day alone exceeds its prior year (what spike_over_prior_year fires on)."""
    return window.prior_365_disclosures > 0 and window.day_records > window.prior_365_records


class SustainedOverPriorYear(_WindowRule, rule=SUSTAINED):
    """A trailing 7-, 30- or 90-day window's records exceed the 365 days before that window.

    Legal source: as spike_over_prior_year, 26 U.S.C. 6103(p)(3)(A) and (C). Catches a transfer
    split over several days (47,289 records in four transmissions on four days, none alone over
    the prior year). Fires on the first day of an episode only (a window ending that day exceeds,
    none ending the day before did), not on a day the spike rule fires for the same scope, and
    not while the source is warming up. Runs at every scope.
    """

    legal_source = PRIOR_YEAR_LEGAL_SOURCE
    switches = (SUSTAINED,)

    def evaluate_window(self, window: ScopeWindow, on: Judging) -> list[AlertDraft]:
        trailing = window.sustained
        if trailing is None or window.day < on.warm_from:  # or warming up
            return []
        if on.spike_on and spikes(window):
            return []  # the day alone says it: spike_over_prior_year fires instead
        first = window.day - timedelta(days=trailing.days - 1)
        during = f"in the {trailing.days} days {first} to {window.day}"
        return [
            _over_prior_year(
                SUSTAINED, window, on, trailing.records, trailing.prior_records, during
            )
        ]


@lru_cache(maxsize=4096)
def _baseline(trailing_90: tuple[int, ...]) -> tuple[int, float, float]:
    """How many of the 90 days had disclosures, and their median and MAD (0, 0 with none).
    Every event of a scope's day asks about the same 90 days (they end the day before), so the
    answer is cached by them: pure, and it was the anomaly rule's whole cost."""
    history = [v for v in trailing_90 if v > 0]
    if not history:
        return 0, 0.0, 0.0
    med = statistics.median(history)
    return len(history), med, statistics.median(abs(v - med) for v in history)


class StatisticalAnomaly(RuleClass, rule=ANOMALY):
    """A (source, recipient) day far outside its robust baseline: median + k * MAD of 90 days.

    An early warning well below the prior-year rule (docs/design.md, 'Rules'); no legal threshold
    of its own.
    The baseline is taken over the days that had disclosures (weekends and idle days are not
    "normal zero" days for a flow that transmits on business days), and the rule is silent until
    the window holds ``min_history_days`` such days.
    """

    legal_source = "Early warning (robust baseline); see 26 U.S.C. 6103(p)(3)(A)"

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        cfg = ctx.config
        window = ctx.window("recipient")
        if not cfg.on(ANOMALY) or window is None:
            return []
        days, med, mad = _baseline(tuple(window.trailing_90))
        if days < cfg.anomaly_min_history_days:
            return []
        mad = max(mad, cfg.anomaly_mad_floor_fraction * med, 1.0)
        threshold = int(med + cfg.anomaly_k * mad)
        if window.day_records <= threshold:
            return []
        scope = window.scope
        return [
            AlertDraft.about(
                ANOMALY,
                Severity.WARNING,
                scope,
                window.day,
                observed=window.day_records,
                threshold=threshold,
                evidence=[ctx.disclosure.event_id],
                legal_source=self.legal_source,
                message=(
                    f"{window.day_records:,} records on {window.day} for {scope}, above the 90-day "
                    f"baseline (median {med:,.0f} + {cfg.anomaly_k:g} x MAD {mad:,.0f} = {threshold:,})."
                ),
            )
        ]
