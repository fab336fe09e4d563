"""Names as identities: folding, TR39 skeletons, and what the registry and statute make of them."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.rules.authorities import in_statute, normalize_authority
from ledger.rules.config import load_registry
from ledger.rules.names import ascii_lookalikes, fold, invisible, is_blank, name_key, skeleton

REGISTRY = load_registry()
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u3164"]
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@given(names, st.lists(st.sampled_from(INVISIBLE), max_size=4), st.integers(0, 20))
def test_invisible_characters_do_not_change_a_name(text: str, extra: list[str], at: int) -> None:
    spliced = text[:at] + "".join(extra) + text[at:]
    assert name_key(spliced) == name_key(text)


@given(names)
def test_fold_is_idempotent_and_leaves_nothing_invisible(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert not any(invisible(c) for c in once)


@given(names)
def test_case_does_not_change_a_name(text: str) -> None:
    assert name_key(text.lower()) == name_key(text) == name_key(text.casefold())


@given(st.text(st.sampled_from("ICEDHSirsbp "), min_size=1, max_size=12))
def test_full_width_spelling_is_the_same_name(text: str) -> None:
    wide = "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in text)
    assert name_key(wide) == name_key(text)


@pytest.mark.parametrize(
    "spelling",
    [
        "I\u0421E",  # Cyrillic capital ES
        "\u0399CE",  # Greek capital IOTA
        "IC\u0395",  # Greek capital EPSILON
        "\u0406\u0421\u0415",  # Cyrillic I, ES, IE
        "\u0456\u0441\u0435",  # Cyrillic small i, es, ie
        "\uff29\uff23\uff25",  # full width
        "I\u200bC\u200dE",
        "ice",
    ],
)
def test_homoglyphs_of_ice_are_ice(spelling: str) -> None:
    assert name_key(spelling) == name_key("ICE")
    assert REGISTRY.agency(spelling).id == "ICE"


def test_skeleton_follows_tr39_on_its_own_examples() -> None:
    # UTS #39, section 4: "paypal" with a Cyrillic a; the Latin and Cyrillic letters share one.
    assert skeleton("p\u0430ypal") == skeleton("paypal")
    assert skeleton("\u0441") == "c"
    assert skeleton("1") == skeleton("l")  # digit one and small L are confusable
    assert unicodedata.is_normalized("NFD", skeleton("caf\u00e9"))


def test_different_agencies_keep_different_keys() -> None:
    keys = {name_key(a.name) for a in REGISTRY.agencies.values()}
    assert len(keys) == len(REGISTRY.agencies)


@pytest.mark.parametrize("text", ["", " ", "\u00a0", "\u200b", "\u200b \ufeff\u2060", "\t\n"])
def test_blank_names(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", ["ICE", " x ", "\u200bI"])
def test_names_that_show_something_are_not_blank(text: str) -> None:
    assert not is_blank(text)


@pytest.mark.parametrize(
    ("spelling", "agency"),
    [
        ("ICE ERO", "ICE"),
        ("DHS/ICE", "ICE"),
        ("DHS / ICE", "ICE"),
        ("Enforcement and Removal Operations", "ICE"),
        ("IRS-CI", "IRS"),
        ("IRS Criminal Investigation", "IRS"),
        ("Department of the Treasury", "TREASURY"),
        ("Treasury/IRS", "IRS"),
        ("DHS/CBP", "CBP"),
    ],
)
def test_components_resolve_to_their_agency(spelling: str, agency: str) -> None:
    found = REGISTRY.agency(spelling)
    assert (found.id, found.known) == (agency, True)


def test_parts_on_two_lines_of_descent_are_not_guessed() -> None:
    assert not REGISTRY.agency("DHS/FBI").known


def test_related_agencies_are_one_line_of_the_tree() -> None:
    assert REGISTRY.related("TREASURY") == {"TREASURY", "IRS"}
    assert REGISTRY.related("IRS") == {"TREASURY", "IRS"}
    assert REGISTRY.related("Nobody") == {"Nobody"}


def test_citations_fold_lookalikes_but_keep_ascii_apart() -> None:
    assert normalize_authority("6103(\u0456)(2)") == normalize_authority("6103(i)(2)")
    assert normalize_authority("\uff16\uff11\uff10\uff13(i)(2)") == "6103(i)(2)"
    # Paragraph 1 and subsection l are different provisions: ASCII is never remapped.
    assert ascii_lookalikes("6103(l)(1)") == "6103(l)(1)"


@pytest.mark.parametrize(
    ("citation", "exists"),
    [
        ("6103(i)(2)", True),
        ("6103(i)(2)(A)", True),
        ("6103(i)(2)(B)(iv)", True),  # clauses are not checked
        ("6103(i)(2)(Z)", False),
        ("6103(i)(9)", False),
        ("6103(i)(99)", False),
        ("6103(i)(6)(A)", False),
        ("6103(z)", False),
        ("6103(c)(1)", False),
        ("6103(l)(7)", True),
    ],
)
def test_authorities_name_paragraphs_the_statute_has(citation: str, exists: bool) -> None:
    assert in_statute(citation) is exists
    assert REGISTRY.authority(f"26 U.S.C. {citation}").known is exists
