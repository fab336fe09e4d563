"""How the CLI speaks: rich tables for people, JSON for scripts, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

# A query row: one of the store's typed rows (a dataclass), or a mapping.
Record = Any
# A table column: the record's field whose value it shows, or how to show it from the record.
Column = str | Callable[[Record], Any]


def field_of(record: Record, name: str) -> Any:
    return record[name] if isinstance(record, Mapping) else getattr(record, name)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):  # a typed row: its fields in order
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, sort_keys=False) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if v is None else str(to_jsonable(v)) for v in row])
    console.print(table)


def print_records(title: str, columns: Mapping[str, Column], records: Iterable[Record]) -> None:
    """A table of query rows, one column for each heading of ``columns``."""
    shown = columns.values()
    rows = [[c(r) if callable(c) else field_of(r, c) for c in shown] for r in records]
    print_table(title, list(columns), rows)


def counted(key: str) -> Column:
    """A count column, with thousands separators."""
    return lambda r: f"{field_of(r, key):,}"


def fail(message: str, code: int) -> NoReturn:
    # escape: rich would read "[key]" in "changes[key]" (or any bracket in a message) as markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise SystemExit(code)
