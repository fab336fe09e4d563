"""The registry of every published Avro schema version, keyed by CRC-64-AVRO fingerprint."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import fastavro.schema

from ledger.errors import UnknownSchemaError

_CRC64_EMPTY = 0xC15D213AA4D7A795
_VERSION_FILE = re.compile(r"^v(\d+)\.avsc$")


def _crc64_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO, the Avro specification's "Schema Fingerprints" algorithm."""
    fp = _CRC64_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


@dataclass(frozen=True)
class SchemaVersion:
    """One published version of one event type's schema."""

    event_type: str
    version: int
    parsed: Any  # fastavro's parsed schema
    canonical_form: str
    fingerprint: bytes  # 8 bytes, little-endian, as written in single-object encoding
    path: Path

    # Worked out once per version (intake asks for every line). A cached_property writes the
    # instance's __dict__ directly, which a frozen dataclass allows.
    @cached_property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.parsed["fields"])

    @cached_property
    def field_name_set(self) -> frozenset[str]:
        return frozenset(self.field_names)

    @cached_property
    def required_fields(self) -> tuple[str, ...]:
        """The fields without a default, in schema order."""
        return tuple(f["name"] for f in self.parsed["fields"] if "default" not in f)

    @cached_property
    def logical_fields(self) -> tuple[tuple[str, str], ...]:
        """(field, Avro logical type) of every field that has one (in a union: its branch's)."""
        found = ((f["name"], logical_type(f["type"])) for f in self.parsed["fields"])
        return tuple((name, logical) for name, logical in found if logical)


def logical_type(field_type: Any) -> str | None:
    if isinstance(field_type, dict):
        return field_type.get("logicalType")
    if isinstance(field_type, list):
        for branch in field_type:
            found = logical_type(branch)
            if found:
                return found
    return None


def schemas_dir() -> Path:
    """The Avro contract: ``schemas/`` in an installed wheel, the checkout's top-level
    ``schemas/`` otherwise (an editable install or a source tree; docs/design.md, "Layout")."""
    packaged = Path(__file__).with_name("schemas")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "schemas"


def load_version(path: Path, event_type: str, version: int) -> SchemaVersion:
    raw = json.loads(path.read_text(encoding="utf-8"))
    # The fingerprint comes from a parse without fastavro's "already parsed" marker; the schema
    # kept for reading and writing has the marker, or fastavro parses it again on every call
    # (measured: half the cost of a read).
    canonical = fastavro.schema.to_parsing_canonical_form(
        fastavro.schema.parse_schema(raw, _write_hint=False)
    )
    parsed = fastavro.schema.parse_schema(raw)
    fp = crc64_avro(canonical.encode("utf-8")).to_bytes(8, "little")
    return SchemaVersion(event_type, version, parsed, canonical, fp, path)


@dataclass(frozen=True)
class SchemaRegistry:
    """Every version in ``schemas/``; the newest version of each type is the reader schema."""

    versions: tuple[SchemaVersion, ...]
    # Lookups by type and by fingerprint happen for every message: dictionaries, built once.
    _latest: dict[str, SchemaVersion] = field(init=False, repr=False, compare=False)
    _by_fingerprint: dict[bytes, SchemaVersion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        latest: dict[str, SchemaVersion] = {}
        for v in self.versions:
            if v.event_type not in latest or v.version > latest[v.event_type].version:
                latest[v.event_type] = v
        object.__setattr__(self, "_latest", latest)
        object.__setattr__(self, "_by_fingerprint", {v.fingerprint: v for v in self.versions})

    @classmethod
    def from_directory(cls, root: Path) -> SchemaRegistry:
        found = []
        for type_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for file in type_dir.iterdir():
                m = _VERSION_FILE.match(file.name)
                if m:
                    found.append(load_version(file, type_dir.name, int(m.group(1))))
        found.sort(key=lambda v: (v.event_type, v.version))
        return cls(tuple(found))

    @property
    def event_types(self) -> list[str]:
        return sorted(self.known_types)

    @cached_property
    def known_types(self) -> frozenset[str]:
        return frozenset(v.event_type for v in self.versions)

    def latest(self, event_type: str) -> SchemaVersion:
        found = self._latest.get(event_type)
        if found is None:
            known = ", ".join(self.event_types)
            raise UnknownSchemaError(f"Unknown event type {event_type!r}; known types: {known}.")
        return found

    def history(self, event_type: str) -> list[SchemaVersion]:
        return [v for v in self.versions if v.event_type == event_type]

    def by_fingerprint(self, fingerprint: bytes) -> SchemaVersion:
        found = self._by_fingerprint.get(bytes(fingerprint))
        if found is not None:
            return found
        raise UnknownSchemaError(
            f"The message names schema fingerprint {fingerprint.hex()}, which is not among the "
            f"{len(self.versions)} schema versions in schemas/. It was written with a schema this "
            "ledger has never published."
        )


@cache
def default_registry() -> SchemaRegistry:
    return SchemaRegistry.from_directory(schemas_dir())
