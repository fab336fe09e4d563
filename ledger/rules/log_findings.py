"""Findings about the log itself rather than a disclosure: a record no consumer could read, one
written by a principal not allowed to write it, an event id reused for other bytes. The
consumers raise them (``consumers.base``, ``consumers.claims``); they are declared
here so the catalogue is complete without importing the consumers."""

from __future__ import annotations

from ledger.rules.declared import RuleKind, declare

MALFORMED = declare("malformed_event", RuleKind.LIFECYCLE, None)
UNAUTHORIZED = declare("unauthorized_event", RuleKind.LIFECYCLE, None)
REUSED_EVENT_ID = declare("reused_event_id", RuleKind.LIFECYCLE, None)
