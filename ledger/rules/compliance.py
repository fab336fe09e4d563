"""Rules from court orders and the statute, checked the moment a disclosure is recorded."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.rules.declared import RuleClass, RuleKind, declare
from ledger.rules.model import (
    AlertDraft,
    DisclosureFacts,
    RuleContext,
    Scope,
    Severity,
)
from ledger.rules.notices import bulk_notice_checks
from ledger.rules.orders import reaches
from ledger.rules.requests import RequestFacts, coverage_problems, missing_elements

BULK = declare("bulk_without_notice", RuleKind.DISCLOSURE, rejudged=True)
STAY = declare("disclosure_during_stay", RuleKind.DISCLOSURE, rejudged=True)
MISSING_AUTHORITY = declare("missing_legal_authority", RuleKind.DISCLOSURE, rejudged=True)
INCOMPLETE = declare("request_incomplete", RuleKind.DISCLOSURE, rejudged=True)
UNKNOWN_RECIPIENT = declare("unknown_recipient", RuleKind.DISCLOSURE)
UNKNOWN_SOURCE = declare("unknown_source", RuleKind.DISCLOSURE)
INCOMPLETE_ADDRESS = {"PLACEHOLDER", "ZIP_ONLY", "MISSING", "NOT_COMPARED"}


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
    return AlertDraft.about(
        rule,
        Severity.CRITICAL,
        scope,
        d.day,
        d.disclosure_id,
        *discriminator,
        observed=d.record_count,
        evidence=evidence,
        legal_source=legal_source,
        message=message,
        threshold=threshold,
    )


class BulkWithoutNotice(RuleClass, rule=BULK):
    """While a notice order covers the recipient and authority, a bulk transmission needs a notice.

    Legal source: the court's order (e.g. Center for Taxpayer Rights v. IRS, No. 1:25-cv-00457-CKK,
    D.D.C., September 2025: 24 hours' notice to the court and plaintiffs before any transmission).
    A NoticeFiled for the recipient must be filed at least ``notice_hours`` before transmitted_at
    (23h59m fires, 24h00m does not), in the order's case while the order was in force, for the
    cited authority and served on the court and the plaintiffs; its planned window (at most a
    week) must contain transmitted_at, and its expected_record_count must not be exceeded by
    this transmission together with the earlier ones it covered. The cited notice alone decides;
    a day's transmissions to a recipient are summed against the threshold
    (``ledger.rules.notices``).
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        if not ctx.config.on(BULK):
            return []
        d = ctx.disclosure
        drafts = []
        checks = bulk_notice_checks(
            d,
            ctx.orders_in_force,
            ctx.notices,
            ctx.config.registry,
            ctx.notice_use,
            ctx.requests,
            ctx.same_day,
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


class DisclosureDuringStay(RuleClass, rule=STAY):
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
            and reaches(o, d, ctx.config.registry, ctx.requests)
        ]


class MissingLegalAuthority(RuleClass, rule=MISSING_AUTHORITY):
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


def _counts(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in pairs)


def address_problems(d: DisclosureFacts) -> list[str]:
    """What the disclosure's own record says about the address check: by count when recorded
    (DisclosureRecorded v2), else by its single verification status."""
    if d.address_counts:
        return [
            f"{count:,} of {d.record_count:,} addresses {status}"
            for status, count in d.address_counts
            if status in INCOMPLETE_ADDRESS and count > 0
        ]
    problems = []
    if d.address_verification is None:
        problems.append("the address check was not recorded")
    elif d.address_verification in INCOMPLETE_ADDRESS:
        problems.append(f"address verification is {d.address_verification}")
    if d.match_method == "TIN_NAME" and d.address_verification in (None, "NOT_COMPARED"):
        problems.append("a TIN-and-name match was released without an address check")
    return problems


def request_problems(d: DisclosureFacts, requests: Mapping[str, RequestFacts]) -> list[str]:
    """What is wrong with the request the disclosure cites: unseen, elements missing, received
    after the transmission, or not covering its taxpayers and tax periods."""
    if not d.request_id:
        return []  # nothing cited: the ledger cannot tell which request it answered
    request = requests.get(d.request_id)
    if request is None:
        return [f"its request {d.request_id} is not in the ledger"]
    missing = missing_elements(request)
    problems = coverage_problems(request, d.transmitted_at, d.record_count, d.tax_periods)
    if missing:
        problems.insert(0, f"request {d.request_id} does not set forth {', '.join(missing)}")
    return problems


class RequestIncomplete(RuleClass, rule=INCOMPLETE):
    """A 6103(i)(2) disclosure on an incomplete request, or without a verified address.

    Legal source: 26 U.S.C. 6103(i)(2)(A)-(B): a written request by the agency head or inspector
    general that sets forth the taxpayer's name and address, the tax periods, the statutory
    authority and the specific reasons. In 2026 the D.D.C. found about 42,695 such disclosures:
    placeholder addresses ("Failed to Provide"), zip-only matches, and TIN matches released
    without comparing the address. Fires when:

    - the cited request (``request_id``) is not in the ledger, or lacks an element
      (``ledger.rules.requests.missing_elements`` names each);
    - address counts (v2) put any record at PLACEHOLDER, ZIP_ONLY, MISSING or NOT_COMPARED; or,
      without counts, address_verification is one of those or not recorded, or the match was
      TIN_NAME with the address not compared.

    The message carries the match-quality counts when the disclosure recorded them.
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        d = ctx.disclosure
        cfg = ctx.config
        if not cfg.on(INCOMPLETE) or not any(
            a in ctx.resolved.authority.chain for a in cfg.incomplete_authorities
        ):
            return []
        problems = [*request_problems(d, ctx.requests), *address_problems(d)]
        if not problems:
            return []
        counts = []
        if d.match_counts:
            counts.append(f"matched by {_counts(d.match_counts)}")
        if d.address_counts:
            counts.append(f"addresses {_counts(d.address_counts)}")
        return [
            _disclosure_alert(
                ctx,
                INCOMPLETE,
                evidence=[d.event_id, *_request_evidence(d, ctx.requests)],
                legal_source=(
                    "26 U.S.C. 6103(i)(2)(B): the request must set forth the taxpayer's name"
                    " and address, the tax periods, the authority and the reasons"
                ),
                message=(
                    f"Disclosure {d.disclosure_id} of {d.record_count:,} records to"
                    f" {d.recipient_agency}: {'; '.join(problems + counts)}."
                ),
            )
        ]


def _request_evidence(d: DisclosureFacts, requests: Mapping[str, RequestFacts]) -> list[str]:
    request = requests.get(d.request_id) if d.request_id else None
    return [request.event_id] if request else []


class UnknownRecipient(RuleClass, rule=UNKNOWN_RECIPIENT):
    """The recipient agency is not in the registry: its volume is counted under its own text, so
    it has no parent agency; it could be any agency, so every court order naming an agency
    covers it until a person maps it.

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
            AlertDraft.about(
                UNKNOWN_RECIPIENT,
                Severity.WARNING,
                scope,
                d.day,
                observed=d.record_count,
                evidence=[d.event_id],
                legal_source="26 U.S.C. 6103(p)(3)(A): accounting of disclosures by recipient",
                message=(
                    f"Disclosure {d.disclosure_id} names recipient {d.recipient_agency!r}, which "
                    "is not in the registry of agencies; it is counted under that name alone and"
                    " every court order naming an agency covers it until it is mapped."
                ),
            )
        ]


class UnknownSource(RuleClass, rule=UNKNOWN_SOURCE):
    """The source agency is not in the registry: a spelling the ledger cannot place.

    Critical, the day it appears (once per source and day): its volume has no history under
    that name, so the prior-year rules could not speak for it; its coverage starts with the
    ledger's, not on its first day (ledger.rules.registry.Registry.history_of). Add the agency
    or an alias (IRS-CI is the IRS) to the registry (LEDGER_REGISTRY_FILE).
    """

    def evaluate(self, ctx: RuleContext) -> list[AlertDraft]:
        source = ctx.resolved.source
        if not ctx.config.on(UNKNOWN_SOURCE) or source.known:
            return []
        d = ctx.disclosure
        return [
            AlertDraft.about(
                UNKNOWN_SOURCE,
                Severity.CRITICAL,
                Scope("source", source.id, ""),
                d.day,
                observed=d.record_count,
                evidence=[d.event_id],
                legal_source="26 U.S.C. 6103(p)(3)(A): accounting of disclosures by the agency",
                message=(
                    f"Disclosure {d.disclosure_id} of {d.record_count:,} records names source"
                    f" {d.source_agency!r}, which is not in the registry of agencies; map it to"
                    " its agency so its volume is judged against that agency's history."
                ),
            )
        ]
