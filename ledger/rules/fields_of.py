"""A dataclass built from an object with fields of the same names: an event's facts, its row."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")


def fields_of(cls: type[T], source: object, **values: Any) -> T:
    """``cls`` with every field ``source`` has under the same name, ``values`` for the rest (a
    renamed field, a derived one, or one ``source`` lacks)."""
    given = frozenset(values)
    recipe = _RECIPES.get((cls, type(source), given)) or _learn(cls, source, given)
    if recipe.defaults is None:
        return cls(**{n: getattr(source, n) for n in recipe.names}, **values)
    # A frozen dataclass's __init__ sets each field through object.__setattr__: for classes whose
    # __init__ does nothing else, filling the instance directly gives the same object (two are
    # built per disclosure on the volume consumer's hot path).
    built = object.__new__(cls)
    fill = built.__dict__
    fill.update(recipe.defaults)
    for name in recipe.names:
        fill[name] = getattr(source, name)
    fill.update(values)
    return built


class _Recipe(NamedTuple):
    names: tuple[str, ...]  # copied from the source
    defaults: dict[str, Any] | None  # the rest's defaults; None: build through __init__


# (class, source type, given names) -> how to build it: asking the dataclass for its fields on
# every call cost 4 us.
_RECIPES: dict[tuple[type, type, frozenset[str]], _Recipe] = {}


def _learn(cls: type, source: object, given: frozenset[str]) -> _Recipe:
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields if f.name not in given and hasattr(source, f.name))
    rest = [f for f in fields if f.name not in given and f.name not in names]
    direct = (
        not hasattr(cls, "__post_init__")
        and not hasattr(cls, "__slots__")
        and all(f.init for f in fields)
        and all(f.default is not dataclasses.MISSING for f in rest)
    )
    recipe = _Recipe(names, {f.name: f.default for f in rest} if direct else None)
    _RECIPES[(cls, type(source), given)] = recipe
    return recipe
