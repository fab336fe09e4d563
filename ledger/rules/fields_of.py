"""A dataclass built from an object with fields of the same names: an event's facts, its row."""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")


def fields_of(cls: type[T], source: object, **values: Any) -> T:
    """``cls`` with every field ``source`` has under the same name, ``values`` for the rest (a
    renamed field, a derived one, or one ``source`` lacks)."""
    names = _NAMES.get((cls, type(source), frozenset(values)))
    if names is None:  # the first of its kind: which names it has is learnt from it
        names = _learn(cls, source, frozenset(values))
    same = {n: getattr(source, n) for n in names}
    return cls(**same, **values)


# (class, source type, given names) -> the names copied from the source: the hot path builds
# two of these per disclosure, and asking the dataclass for its fields each time cost 4 us.
_NAMES: dict[tuple[type, type, frozenset[str]], tuple[str, ...]] = {}


def _learn(cls: type, source: object, given: frozenset[str]) -> tuple[str, ...]:
    names = tuple(f.name for f in _fields(cls) if f.name not in given and hasattr(source, f.name))
    _NAMES[(cls, type(source), given)] = names
    return names


@lru_cache(maxsize=64)
def _fields(cls: type) -> tuple[Any, ...]:
    return fields(cast("type[DataclassInstance]", cls))
