"""Canonical scopes: agency and authority text resolved to registry ids, with their ancestry.

Pure: built from the parsed TOML tables (ledger/rules/registry.toml, merged with the user's file
by ``ledger.rules.config.load_registry``). Volumes, rules and court-order coverage compare these
ids; the raw text stays in the event and the disclosures table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.errors import ConfigError
from ledger.rules.authorities import citation_family, in_statute, normalize_authority
from ledger.rules.names import fold, name_key
from ledger.rules.volume_book import PAIR_JOIN, pair_value


@dataclass(frozen=True)
class Resolved:
    """What one piece of text names: its canonical id, whether the registry knows it, and the
    chain of scopes it counts under, its own id first then each ancestor (parent agency,
    authority family)."""

    id: str
    known: bool
    chain: tuple[str, ...]


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class Flow:
    """One disclosure's source, recipient and authority, resolved."""

    source: Resolved
    recipient: Resolved
    authority: Resolved


def agency_key(text: str) -> str:
    """'U.S. Attorneys'' Offices' and 'us attorneys offices' match: case, punctuation, spacing;
    and so do 'I\u200bCE', full-width 'ＩＣＥ' and 'IСE' with a Cyrillic letter, by their folded
    confusable skeleton (ledger.rules.names)."""
    text = name_key(text).replace("&", " and ").replace("-", " ").replace("/", " ")
    text = re.sub(r"[.,'’()\"]", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.removeprefix("the ")


def display_text(text: str) -> str:
    """How an unknown name is counted: its folded words (no invisible characters), single-spaced."""
    return re.sub(r"\s+", " ", fold(text)).strip()


@dataclass
class Registry:
    agencies: dict[str, Agency] = field(default_factory=dict)
    authorities: dict[str, str] = field(default_factory=dict)  # canonical id -> description
    _by_key: dict[str, str] = field(default_factory=dict, repr=False)
    _agency_cache: dict[str, Resolved] = field(default_factory=dict, repr=False)
    _authority_cache: dict[str, Resolved] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for agency in self.agencies.values():
            if agency.parent is not None and agency.parent not in self.agencies:
                raise ConfigError(
                    f"Registry agency {agency.id!r} names parent {agency.parent!r}, which is not"
                    " in the registry."
                )
            for text in (agency.id, agency.name, *agency.aliases):
                key = agency_key(text)
                other = self._by_key.get(key)
                if other is not None and other != agency.id:
                    raise ConfigError(
                        f"Registry name {text!r} is used by both {other!r} and {agency.id!r}."
                    )
                self._by_key[key] = agency.id
        for agency in self.agencies.values():
            self._ancestors(agency.id)  # fails on a cycle

    def _ancestors(self, agency_id: str) -> tuple[str, ...]:
        chain = [agency_id]
        parent = self.agencies[agency_id].parent
        while parent is not None:
            if parent in chain:
                raise ConfigError(f"Registry agency {agency_id!r} is its own ancestor.")
            chain.append(parent)
            parent = self.agencies[parent].parent
        return tuple(chain)

    def agency(self, text: str) -> Resolved:
        """An agency's id and parents; an unknown one is its own single-spaced text."""
        found = self._agency_cache.get(text)
        if found is None:
            agency_id = self._by_key.get(agency_key(text)) or self._compound(text)
            if agency_id is None:
                shown = display_text(text)
                found = Resolved(shown, False, (shown,))
            else:
                found = Resolved(agency_id, True, self._ancestors(agency_id))
            self._agency_cache[text] = found
        return found

    def _compound(self, text: str) -> str | None:
        """'DHS/ICE', 'Treasury / IRS': parts that each name a registered agency, all on one line
        of descent, name the most specific of them."""
        parts = [p for p in re.split(r"\s*[/|>]\s*", fold(text)) if p.strip()]
        ids = [self._by_key.get(agency_key(p)) for p in parts]
        if len(ids) < 2 or any(i is None for i in ids):
            return None
        chains = [self._ancestors(i) for i in ids if i is not None]
        deepest = max(chains, key=len)
        return deepest[0] if all(c[0] in deepest for c in chains) else None

    def could_be(self, named: str, recipient: str) -> bool:
        """Whether data sent to ``recipient`` may reach the agency an order names: the recipient
        is it or part of it (ICE under an order naming DHS), the recipient contains it (data
        sent to DHS headquarters may be routed on to ICE), or the recipient is not in the
        registry (it could be any agency until a person maps it)."""
        found = self.agency(recipient)
        if not found.known:
            return True
        target = self.agency(named)
        return target.id in found.chain or found.id in target.chain

    def related(self, agency_id: str) -> set[str]:
        """The agency, the agencies it is part of and those part of it: one line of the
        registry's tree, whose history the ledger has seen under any of these names."""
        if agency_id not in self.agencies:
            return {agency_id}
        found = set(self._ancestors(agency_id))
        found.update(a for a in self.agencies if agency_id in self._ancestors(a))
        return found

    def history_of(self, source_id: str) -> set[str]:
        """The sources whose first day in the ledger starts ``source_id``'s coverage: its line of
        the tree (the Treasury's history includes the IRS's), or, for a source the registry does
        not know, every registered agency (the ledger has watched since it first held any of
        them, and saw nothing under this name): a new spelling starts no silent warm-up year."""
        if source_id in self.agencies:
            return self.related(source_id)
        return {source_id, *self.agencies}

    def authority(self, citation: str) -> Resolved:
        """A citation's canonical id and families; known when it is registered, or a family is and
        the provision exists in 26 U.S.C. 6103 (ledger/rules/data/statute_6103.toml)."""
        found = self._authority_cache.get(citation)
        if found is None:
            chain = citation_family(citation)
            canonical = chain[0] if chain else normalize_authority(citation)
            # A registered family does not make a paragraph the statute lacks real; one
            # registered itself is (an operator's file adds a paragraph the statute gained).
            known = canonical in self.authorities or (
                any(a in self.authorities for a in chain) and in_statute(canonical)
            )
            found = Resolved(canonical, known, chain or (canonical,))
            self._authority_cache[citation] = found
        return found

    def flow(self, source: str, recipient: str, authority: str) -> Flow:
        return Flow(self.agency(source), self.agency(recipient), self.authority(authority))

    def scope_value(self, kind: str, text: str) -> str:
        """What a user typed for a scope of ``kind`` as the stored value: 'Immigration and
        Customs Enforcement' is recipient ICE, '26 USC 6103(i)' authority 6103(i), and
        'ICE under 26 U.S.C. 6103(i)(2)' the pair 'ICE under 6103(i)(2)'."""
        if kind in ("recipient", "source"):
            return self.agency(text).id
        if kind == "authority":
            return self.authority(text).id
        if kind == "pair" and PAIR_JOIN in text:
            recipient, _, authority = text.partition(PAIR_JOIN)
            return pair_value(self.agency(recipient).id, self.authority(authority).id)
        return text

    def counts_under(
        self, kind: str, value: str, source: str, recipient: str, authority: str
    ) -> bool:
        """Whether a disclosure with these texts counts under the scope (kind, value)."""
        flow = self.flow(source, recipient, authority)
        if kind == "recipient":
            return value in flow.recipient.chain
        if kind == "authority":
            return value in flow.authority.chain
        if kind == "pair":
            return value == pair_value(flow.recipient.id, flow.authority.id)
        return value == flow.source.id

    def name(self, agency_id: str) -> str:
        agency = self.agencies.get(agency_id)
        return agency.name if agency else agency_id


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"Registry entry {where!r} must be a table.")
    return value


def registry_from_tables(tables: Mapping[str, Any]) -> Registry:
    """A registry from the parsed TOML tables ``agencies`` and ``authorities``."""
    unknown = set(tables) - {"agencies", "authorities"}
    if unknown:
        raise ConfigError(
            f"Unknown registry section {sorted(unknown)[0]!r}; see ledger/rules/registry.toml."
        )
    agencies = {}
    for agency_id, entry in _table(tables.get("agencies", {}), "agencies").items():
        entry = _table(entry, f"agencies.{agency_id}")
        extra = set(entry) - {"name", "aliases", "parent"}
        if extra or not isinstance(entry.get("name"), str):
            raise ConfigError(
                f"Registry agency {agency_id!r} needs a name and may have aliases and a parent"
                + (f" (not {sorted(extra)[0]!r})." if extra else ".")
            )
        aliases = entry.get("aliases", [])
        parent = entry.get("parent")
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ConfigError(f"Registry agency {agency_id!r}: aliases must be a list of names.")
        if parent is not None and not isinstance(parent, str):
            raise ConfigError(f"Registry agency {agency_id!r}: parent must be an agency id.")
        agencies[agency_id] = Agency(agency_id, entry["name"], tuple(aliases), parent)
    authorities = {}
    for citation, entry in _table(tables.get("authorities", {}), "authorities").items():
        description = entry.get("description", "") if isinstance(entry, dict) else entry
        if not isinstance(description, str):
            raise ConfigError(f"Registry authority {citation!r}: description must be text.")
        chain = citation_family(citation)
        authorities[chain[0] if chain else normalize_authority(citation)] = description
    return Registry(agencies, authorities)


def coverage_starts(
    first_days: Mapping[str, date], sources: Iterable[str], registry: Registry
) -> dict[str, date]:
    """Each source's coverage start: the first day of any source in its history
    (``Registry.history_of``), from ``first_days`` (what the ledger holds, by source id)."""
    found = {}
    for source in sources:
        days = [first_days[s] for s in registry.history_of(source) if s in first_days]
        if days:
            found[source] = min(days)
    return found
