"""Rules from court orders and the statute, checked the moment a disclosure is recorded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from ledger.rules.model import (
    AlertDraft,
    CourtOrderFacts,
    DisclosureFacts,
    NoticeFacts,
    RuleContext,
    Scope,
    Severity,
    alert_id,
)
from ledger.rules.registry import Registry

BULK = "bulk_without_notice"
STAY = "disclosure_during_stay"
MISSING_AUTHORITY = "missing_legal_authority"
INCOMPLETE = "request_incomplete"
UNKNOWN_RECIPIENT = "unknown_recipient"
INCOMPLETE_ADDRESS = {"PLACEHOLDER", "ZIP_ONLY", "MISSING", "NOT_COMPARED"}


def _hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    return f"{sign}{minutes // 60}h{minutes % 60:02d}m"


def _recipient_scope(ctx: RuleContext) -> Scope:
    flow = ctx.resolved
    return Scope("recipient", flow.source.id, flow.recipient.id)


def _disclosure_alert(
    ctx: RuleContext,
    rule: str,
    *discriminator: str,
    evidence: list[str],
    legal_source: str,
    message: str,
    threshold: int | None = None,
) -> AlertDraft:
    """A critical alert about the disclosure being evaluated, on its (source, recipient) scope;
    its id adds ``discriminator`` (e.g. the order) to the rule, scope, day and disclosure id."""
    d = ctx.disclosure
    scope = _recipient_scope(ctx)
    return AlertDraft(
        alert_id=alert_id(rule, scope, d.day, d.disclosure_id, *discriminator),
        rule=rule,
        severity=Severity.CRITICAL,
        scope=scope,
        day=d.day,
        observed=d.record_count,
        threshold=threshold,
        evidence=evidence,
        legal_source=legal_source,
        message=message,
    )


def notice_problem(
    d: DisclosureFacts,
    order: CourtOrderFacts,
    notice: NoticeFacts,
    registry: Registry,
    used: int = 0,
) -> str | None:
    """Why this notice does not satisfy the order for this disclosure, or None if it does.

    A notice answers an order when it was filed in the order's case, for the authority the
    transmission cites (or a family of it: any spelling), and served on the parties; it covers only the transmissions and the
    record count it announced: ``used`` records of earlier transmissions already count against
    its expected_record_count.
    """
    if notice.case_reference != order.case_reference:
        return (
            f"notice {notice.notice_id} was filed in {notice.case_reference}, not in the order's"
            f" case {order.case_reference}"
        )
    if not notice_authority_covers(notice, d, registry):
        return (
            f"notice {notice.notice_id} announced transmissions under {notice.legal_authority},"
            f" not {d.legal_authority}"
        )
    if not notice.served_on:
        return f"notice {notice.notice_id} was not served on the parties"
    lead = d.transmitted_at - notice.filed_at
    if lead < order.notice_delta:
        return (
            f"notice {notice.notice_id} was filed {_hours(lead)} before the transmission; "
            f"the order requires {order.notice_hours}h"
        )
    if not notice.planned_start <= d.transmitted_at <= notice.planned_end:
        return (
            f"the transmission at {d.transmitted_at:%Y-%m-%d %H:%M}Z is outside notice "
            f"{notice.notice_id}'s planned window {notice.planned_start:%Y-%m-%d %H:%M}Z to "
            f"{notice.planned_end:%Y-%m-%d %H:%M}Z"
        )
    if used + d.record_count > notice.expected_record_count:
        earlier = f" after {used:,} already sent under it" if used else ""
        return (
            f"{d.record_count:,} records{earlier} exceed the {notice.expected_record_count:,}"
            f" noticed in {notice.notice_id}"
        )
    return None


def notice_authority_covers(notice: NoticeFacts, d: DisclosureFacts, registry: Registry) -> bool:
    """The notice names the transmission's authority or a family of it, in any spelling."""
    return (
        registry.authority(notice.legal_authority).id in registry.authority(d.legal_authority).chain
    )


@dataclass(frozen=True)
class NoticeCheck:
    """One notice order applied to one bulk transmission it covers."""

    order: CourtOrderFacts
    candidates: tuple[NoticeFacts, ...]  # filed for the recipient before it (the cited one, if any)
    notice: NoticeFacts | None  # the one that satisfies the order, else the latest candidate
    problem: str | None  # why the order is not satisfied; None when it is

    @property
    def complied(self) -> bool:
        return self.problem is None


def bulk_notice_checks(
    d: DisclosureFacts,
    orders: Iterable[CourtOrderFacts],
    notices: Iterable[NoticeFacts],
    registry: Registry,
    notice_use: Mapping[str, int] | None = None,
) -> list[NoticeCheck]:
    """Every notice order in force at the transmission that covers its recipient, authority and
    size, with the verdict on the notices: what bulk_without_notice alerts on and the dashboard
    shows. ``orders`` and ``notices`` may hold any others; they are passed over. ``notice_use``
    gives the records each notice already covered before this transmission."""
    use = notice_use or {}
    checks = []
    for order in orders:
        if (
            order.order_type != "NOTICE_REQUIREMENT"
            or not order.in_force(d.transmitted_at)
            or not order.covers(d.recipient_agency, d.legal_authority, registry)
        ):
            continue
        if order.bulk_threshold is not None and d.record_count < order.bulk_threshold:
            continue
        candidates = [
            n
            for n in notices
            if n.recipient_agency == d.recipient_agency and n.filed_at <= d.transmitted_at
        ]
        if d.notice_id:
            cited = [n for n in candidates if n.notice_id == d.notice_id]
            candidates = cited or candidates
        judged = [
            (n, notice_problem(d, order, n, registry, use.get(n.notice_id, 0))) for n in candidates
        ]
        satisfying = [n for n, problem in judged if problem is None]
        if satisfying:
            checks.append(NoticeCheck(order, tuple(candidates), satisfying[0], None))
        elif not judged:
            why = f"no notice was filed for {d.recipient_agency} before the transmission"
            checks.append(NoticeCheck(order, (), None, why))
        else:
            latest, why_not = max(judged, key=lambda pair: pair[0].filed_at)
            checks.append(NoticeCheck(order, tuple(candidates), latest, why_not))
    return checks


class BulkWithoutNotice:
    """While a notice order covers the recipient and authority, a bulk transmission needs a notice.

    Legal source: the court's order (e.g. Center for Taxpayer Rights v. IRS, No. 1:25-cv-00457-CKK,
    D.D.C., September 2025: 24 hours' notice to the court and plaintiffs before any transmission).
    A NoticeFiled for the recipient must be filed at least ``notice_hours`` before transmitted_at
    (23h59m fires, 24h00m does not), in the order's case, for the cited authority and served on
    the parties; its planned window must contain transmitted_at, and its expected_record_count
    must not be exceeded by this transmission together with the earlier ones it covered.
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        if not ctx.config.on(BULK):
            return []
        d = ctx.disclosure
        drafts = []
        checks = bulk_notice_checks(
            d, ctx.orders_in_force, ctx.notices, ctx.config.registry, ctx.notice_use
        )
        for check in checks:
            if check.complied:
                continue
            order = check.order
            drafts.append(
                _disclosure_alert(
                    ctx,
                    BULK,
                    order.order_id,
                    threshold=order.bulk_threshold,
                    evidence=[d.event_id, order.event_id, *(n.event_id for n in check.candidates)],
                    legal_source=(
                        f"Court order {order.order_id} in {order.case_reference}"
                        f" ({order.notice_hours}h notice)"
                    ),
                    message=(
                        f"Bulk transmission {d.disclosure_id} of {d.record_count:,} records to "
                        f"{d.recipient_agency} without valid notice: {check.problem}."
                    ),
                )
            )
        return drafts


class DisclosureDuringStay:
    """A disclosure to a recipient/authority covered by a stay or injunction in force.

    Legal source: the order itself (e.g. the 21 November 2025 stay and injunction in No.
    1:25-cv-00457-CKK; the 5 February 2026 injunction in No. 1:25-cv-12822, D. Mass.).
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        if not ctx.config.on(STAY):
            return []
        d = ctx.disclosure
        return [
            _disclosure_alert(
                ctx,
                STAY,
                o.order_id,
                evidence=[d.event_id, o.event_id],
                legal_source=f"{o.order_type.title()} {o.order_id} in {o.case_reference}",
                message=(
                    f"Disclosure {d.disclosure_id} to {d.recipient_agency} under {d.legal_authority}"
                    f" while {o.order_type.lower()} {o.order_id} ({o.case_reference}) is in force."
                ),
            )
            for o in ctx.orders_in_force
            if o.order_type in ("STAY", "INJUNCTION")
            and o.covers(d.recipient_agency, d.legal_authority, ctx.config.registry)
        ]


class MissingLegalAuthority:
    """The cited authority is absent or not in the configured registry.

    Legal source: 26 U.S.C. 6103(a): returns and return information are confidential unless a
    section 6103 exception authorises the disclosure.
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        d = ctx.disclosure
        if not ctx.config.on(MISSING_AUTHORITY) or (
            d.legal_authority and ctx.config.authority_known(d.legal_authority)
        ):
            return []
        why = (
            "cites no legal authority"
            if not d.legal_authority.strip()
            else (f"cites {d.legal_authority!r}, which is not in the registry of authorities")
        )
        return [
            _disclosure_alert(
                ctx,
                MISSING_AUTHORITY,
                evidence=[d.event_id],
                legal_source="26 U.S.C. 6103(a): confidentiality unless an exception applies",
                message=f"Disclosure {d.disclosure_id} to {d.recipient_agency} {why}.",
            )
        ]


class RequestIncomplete:
    """A 6103(i)(2) disclosure whose request did not set forth a verified taxpayer address.

    Legal source: 26 U.S.C. 6103(i)(2)(B) (the request must set forth the taxpayer's name and
    address). In 2026 the D.D.C. found about 42,695 such disclosures: placeholder addresses
    ("Failed to Provide"), zip-only matches, and TIN matches released without comparing the
    address. Fires when address_verification is PLACEHOLDER, ZIP_ONLY, MISSING, NOT_COMPARED or
    not recorded, or the match was TIN_NAME with the address not compared.
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        d = ctx.disclosure
        cfg = ctx.config
        if not cfg.on(INCOMPLETE) or not any(
            a in ctx.resolved.authority.chain for a in cfg.incomplete_authorities
        ):
            return []
        problems = []
        if d.address_verification is None:
            problems.append("the address check was not recorded")
        elif d.address_verification in INCOMPLETE_ADDRESS:
            problems.append(f"address verification is {d.address_verification}")
        if d.match_method == "TIN_NAME" and d.address_verification in (None, "NOT_COMPARED"):
            problems.append("a TIN-and-name match was released without an address check")
        if not problems:
            return []
        return [
            _disclosure_alert(
                ctx,
                INCOMPLETE,
                evidence=[d.event_id],
                legal_source=(
                    "26 U.S.C. 6103(i)(2)(B): the request must set forth the taxpayer's name"
                    " and address"
                ),
                message=(
                    f"Disclosure {d.disclosure_id} of {d.record_count:,} records to"
                    f" {d.recipient_agency}: {'; '.join(problems)}."
                ),
            )
        ]


class UnknownRecipient:
    """The recipient agency is not in the registry: its volume is counted under its own text, so
    it has no parent agency and court orders naming an agency do not reach it.

    A data-quality warning, once per recipient and day; add the agency (or an alias) to the
    registry (LEDGER_REGISTRY_FILE) to count it with its own agency.
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        recipient = ctx.resolved.recipient
        if not ctx.config.on(UNKNOWN_RECIPIENT) or recipient.known:
            return []
        d = ctx.disclosure
        scope = _recipient_scope(ctx)
        return [
            AlertDraft(
                alert_id=alert_id(UNKNOWN_RECIPIENT, scope, d.day),
                rule=UNKNOWN_RECIPIENT,
                severity=Severity.WARNING,
                scope=scope,
                day=d.day,
                observed=d.record_count,
                threshold=None,
                evidence=[d.event_id],
                legal_source="26 U.S.C. 6103(p)(3)(A): accounting of disclosures by recipient",
                message=(
                    f"Disclosure {d.disclosure_id} names recipient {d.recipient_agency!r}, which "
                    "is not in the registry of agencies; it is counted under that name alone."
                ),
            )
        ]
