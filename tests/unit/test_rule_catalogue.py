"""The rule catalogue is the one list: the README's rules table, the rules file's switches and
``RulesConfig.on`` agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger.rules.catalogue import CATALOGUE, RULE_NAMES, SWITCHES
from ledger.rules.config import _defaults, load_rules_config

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_rules() -> set[str]:
    text = README.read_text(encoding="utf-8")
    table = text.split("## What it alerts on", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([a-z_]+)`", first_cell))
    return names


def test_the_readme_rules_table_lists_exactly_the_catalogue() -> None:
    assert readme_rules() == set(RULE_NAMES)


def test_every_switchable_rule_has_its_section_in_the_shipped_rules_file() -> None:
    shipped = _defaults()
    for info in CATALOGUE:
        if info.section is not None:
            assert "enabled" in shipped[info.section], info


def test_every_enabled_switch_of_the_shipped_file_is_a_rule_section() -> None:
    shipped = _defaults()
    switches = {name for name, s in shipped.items() if isinstance(s, dict) and "enabled" in s}
    assert switches <= SWITCHES


def test_a_misspelled_rule_name_is_an_error_not_on() -> None:
    config = load_rules_config()
    assert config.on("spike_over_prior_year")
    with pytest.raises(KeyError):
        config.on("spike_over_prior_yaer")


def test_the_default_rules_are_every_declared_rule_class() -> None:
    from ledger.rules import default_rules
    from ledger.rules.declared import rule_classes

    rules = default_rules()
    assert {type(r) for r in rules} == set(rule_classes())
    assert all(r.rule in RULE_NAMES for r in rules)  # type: ignore[attr-defined]
    kinds = [next(i.kind for i in CATALOGUE if i.name == r.rule) for r in rules]  # type: ignore[attr-defined]
    assert kinds == sorted(kinds, key=lambda k: k != "per volume window")  # volume rules first


def test_the_rules_a_late_fact_rejudges_are_declared_so() -> None:
    from ledger.rules.lifecycle import _DISCLOSURE_RULES, DISCLOSURE_RULES

    assert set(DISCLOSURE_RULES) == {i.name for i in CATALOGUE if i.rejudged}
    assert [r.rule for r in _DISCLOSURE_RULES] == list(DISCLOSURE_RULES)  # type: ignore[attr-defined]


def test_a_rule_is_declared_once_and_before_its_class() -> None:
    from ledger.rules.declared import RuleClass, RuleKind, declare

    assert declare("spike_over_prior_year", RuleKind.VOLUME) == "spike_over_prior_year"
    with pytest.raises(ValueError, match="declared twice"):
        declare("spike_over_prior_year", RuleKind.DISCLOSURE)
    with pytest.raises(ValueError, match="declare rule 'never_declared' before its class"):

        class _Undeclared(RuleClass, rule="never_declared"):
            pass
