"""A dataclass built from an object with fields of the same names: an event's facts, its row."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")


def fields_of(cls: type[T], source: object, **values: Any) -> T:
    """``cls`` with every field ``source`` has under the same name, ``values`` for the rest (a
    renamed field, a derived one, or one ``source`` lacks)."""
    names = [f.name for f in fields(cast("type[DataclassInstance]", cls))]
    same = {n: getattr(source, n) for n in names if n not in values and hasattr(source, n)}
    return cls(**same, **values)
