"""BACKWARD compatibility of schema versions: the newest reader must read every older writer."""

from __future__ import annotations

import io

import fastavro
from fastavro.utils import generate_many

from ledger.schema_registry import SchemaRegistry, SchemaVersion


def incompatibilities(reader: SchemaVersion, writer: SchemaVersion, samples: int = 25) -> list[str]:
    """Problems reading ``writer`` data with ``reader``; empty when BACKWARD compatible."""
    problems = []
    writer_fields = {f["name"] for f in writer.parsed["fields"]}
    for field in reader.parsed["fields"]:
        if field["name"] not in writer_fields and "default" not in field:
            problems.append(
                f"{reader.event_type} v{reader.version} adds field {field['name']!r} without a "
                f"default, so v{writer.version} records cannot be read"
            )
    for record in generate_many(writer.parsed, samples):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, writer.parsed, record)
        buf.seek(0)
        try:
            fastavro.schemaless_reader(buf, writer.parsed, reader.parsed)
        except Exception as exc:  # any resolution failure is the finding itself
            problems.append(
                f"{reader.event_type} v{reader.version} cannot read v{writer.version} data: {exc}"
            )
            break
    return problems


def check_registry(registry: SchemaRegistry) -> list[str]:
    """Every newer version against every older version of the same type."""
    problems = []
    for event_type in registry.event_types:
        history = registry.history(event_type)
        for i, newer in enumerate(history):
            for older in history[:i]:
                problems.extend(incompatibilities(newer, older))
    return problems
