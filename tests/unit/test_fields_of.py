"""fields_of: a dataclass from an object with fields of the same names, built directly where
its __init__ would only set fields, and through __init__ otherwise."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger.codec import EventCodec
from ledger.events import DisclosureRecorded
from ledger.rules.fields_of import fields_of
from ledger.rules.model import DisclosureFacts
from ledger.store.volume import DisclosureRow

VECTORS = Path(__file__).parents[1] / "assets" / "event_vectors.json"


def golden_disclosures() -> list[DisclosureRecorded]:
    codec = EventCodec()
    vectors = json.loads(VECTORS.read_text())["vectors"]
    events = [codec.decode(bytes.fromhex(v["value"])).event for v in vectors]
    return [e for e in events if isinstance(e, DisclosureRecorded)]


def through_init(cls: type, source: object, **values: object) -> object:
    names = [f.name for f in dataclasses.fields(cls) if f.name not in values]
    return cls(**{n: getattr(source, n) for n in names if hasattr(source, n)}, **values)


@pytest.mark.parametrize("event", golden_disclosures(), ids=lambda e: e.event_id[:8])
def test_built_directly_it_equals_what_init_builds(event: DisclosureRecorded) -> None:
    tz = ZoneInfo("America/New_York")
    facts = DisclosureFacts.from_event(event, tz)
    assert facts == through_init(
        DisclosureFacts,
        event,
        day=event.transmitted_at.astimezone(tz).date(),
        match_counts=tuple(sorted(event.match_counts.items())),
        address_counts=tuple(sorted(event.address_counts.items())),
    )
    row = DisclosureRow.of(event, day=facts.day, log_id="t/0", kafka_offset=7)
    assert row == through_init(DisclosureRow, event, day=facts.day, log_id="t/0", kafka_offset=7)
    assert vars(row).keys() == {f.name for f in dataclasses.fields(DisclosureRow)}


@dataclasses.dataclass(frozen=True)
class Checked:
    name: str
    size: int = 0

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True)
class Listed:
    name: str
    tags: list[str] = dataclasses.field(default_factory=list)


def test_a_class_whose_init_does_more_is_built_through_it() -> None:
    with pytest.raises(ValueError, match="negative"):
        fields_of(Checked, Listed("x"), size=-1)
    built = fields_of(Listed, Checked("y"))
    assert built == Listed("y")  # a factory default: through __init__
    assert built.tags == []
    with pytest.raises(TypeError):
        fields_of(Checked, object())  # a required field nobody gives
