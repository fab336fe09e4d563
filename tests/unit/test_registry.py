"""The registry of canonical scopes: citation spellings, families, agencies and their parents."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ConfigError
from ledger.rules.authorities import citation_family
from ledger.rules.config import load_registry, load_rules_config
from ledger.rules.registry import agency_key

REGISTRY = load_registry()
# The Joint Committee on Taxation's (p)(3)(C) disclosure totals by 6103 subsection, 1995-2022
# (a copy kept with the tests: docs/design.md, "Canonical scopes").
JCT = Path(__file__).resolve().parents[1] / "assets" / "jct_6103p3C_total_1995_2022.csv"
JCT_SUBSECTIONS = [
    "(c)", "(d)", "(i)(1)", "(i)(2)", "(i)(3)", "(i)(3)(A)", "(i)(3)(B)", "(i)(3)(C)",
    "(i)(7)(A)", "(i)(7)(C)", "(i)(8)", "(j)(1)(A)", "(l)(6)", "(l)(21)",
]  # fmt: skip


def jct_rows() -> list[str]:
    """The JCT (p)(3)(C) table's subsections."""
    with JCT.open(newline="") as f:
        return [
            r["IRC Section 6103 subsection"]
            for r in csv.DictReader(f)
            if r["IRC Section 6103 subsection"]
        ]


def test_every_authority_of_the_jct_table_resolves_to_a_known_id() -> None:
    subsections = jct_rows()
    assert set(JCT_SUBSECTIONS) <= set(subsections)
    for sub in subsections:
        found = REGISTRY.authority(f"IRC Section 6103 {sub}")
        assert found.known, sub
        assert found.id == "6103" + sub
        assert REGISTRY.authority("6103" + sub.lower()).id == "6103" + sub


@pytest.mark.parametrize(
    "text",
    [
        "26 USC 6103(i)(2)",
        "26 U.S.C. 6103(i)(2)",
        "26 U.S.C. § 6103(i)(2)",
        "26 U.S.C. §6103 (i) (2)",
        "26 usc §6103 (i)(2)",
        "IRC § 6103(i)(2)",
        "I.R.C. 6103(i)(2)",
        "I.R.C. §6103(I)(2)",
        "Section 6103(i)(2)",
        "6103(i)(2)",
        "  6103 ( i ) ( 2 ) ",
        "26USC6103(i)(2)",
    ],
)
def test_citation_spellings_are_one_authority(text: str) -> None:
    assert REGISTRY.authority(text).id == "6103(i)(2)"
    assert REGISTRY.authority(text).known


def test_families_follow_the_citation_structure() -> None:
    assert citation_family("26 U.S.C. 6103(i)(2)(a)") == ("6103(i)(2)(A)", "6103(i)(2)", "6103(i)")
    assert citation_family("IRC 6103(i)(3)(A)(ii)") == (
        "6103(i)(3)(A)(ii)",
        "6103(i)(3)(A)",
        "6103(i)(3)",
        "6103(i)",
    )
    assert citation_family("6103(d)") == ("6103(d)",)
    assert citation_family("26 U.S.C. 7213") == ()
    assert citation_family("6103") == ()
    assert citation_family("") == ()
    # within a registered paragraph is known; an unregistered paragraph of a family is not
    assert REGISTRY.authority("6103(i)(2)(A)").known
    assert REGISTRY.authority("6103(i)(2)(A)").chain == ("6103(i)(2)(A)", "6103(i)(2)", "6103(i)")
    assert not REGISTRY.authority("26 U.S.C. 6103(i)(9)").known
    assert REGISTRY.authority("26 U.S.C. 6103(i)(9)").chain == ("6103(i)(9)", "6103(i)")
    other = REGISTRY.authority("26 U.S.C. 7213(a)")
    assert (other.id, other.known, other.chain) == ("26 usc 7213(a)", False, ("26 usc 7213(a)",))


@given(
    st.sampled_from(["26 U.S.C. ", "26 usc ", "IRC § ", "I.R.C. ", ""]),
    st.text("i2Ab() .", max_size=12),
)
def test_normalising_never_fails_and_is_stable(prefix: str, rest: str) -> None:
    found = REGISTRY.authority(prefix + "6103" + rest)
    assert REGISTRY.authority(found.id).id == found.id
    assert found.chain[0] == found.id


@pytest.mark.parametrize(
    ("text", "chain"),
    [
        ("U.S. Immigration and Customs Enforcement", ("ICE", "DHS")),
        ("immigration and customs enforcement", ("ICE", "DHS")),
        ("ICE", ("ICE", "DHS")),
        ("Customs and Border Protection", ("CBP", "DHS")),
        ("USCIS", ("USCIS", "DHS")),
        ("Department of Homeland Security", ("DHS",)),
        ("U.S. Attorneys' Offices", ("EOUSA", "DOJ")),
        ("US Attorneys", ("EOUSA", "DOJ")),
        ("Executive Office for United States Attorneys", ("EOUSA", "DOJ")),
        ("Federal  Bureau of Investigation", ("FBI", "DOJ")),
        ("DEA", ("DEA", "DOJ")),
        ("Internal Revenue Service", ("IRS", "TREASURY")),
        ("the Bureau of the Census", ("CENSUS", "COMMERCE")),
        ("Government Accountability Office", ("GAO",)),
        ("California Franchise Tax Board", ("CA-FTB",)),
        ("New York State Department of Taxation and Finance", ("NY-DTF",)),
        ("Texas Comptroller of Public Accounts", ("TX-CPA",)),
        ("Social Security Administration", ("SSA",)),
    ],
)
def test_agencies_resolve_with_their_parents(text: str, chain: tuple[str, ...]) -> None:
    found = REGISTRY.agency(text)
    assert (found.id, found.known, found.chain) == (chain[0], True, chain)


def test_every_name_the_demo_uses_is_known() -> None:
    from ledger.demo import history, split

    names = {f.recipient for f in history.FLOWS} | {history.SOURCE, history.ICE, split.FBI}
    assert [n for n in names if not REGISTRY.agency(n).known] == []


def test_an_unknown_agency_is_its_single_spaced_text() -> None:
    found = REGISTRY.agency("  Office  of   Nobody ")
    assert (found.id, found.known, found.chain) == (
        "Office of Nobody",
        False,
        ("Office of Nobody",),
    )
    assert agency_key("U.S. Attorneys' Offices") == agency_key("us attorneys offices")


def test_a_user_file_adds_and_replaces_entries(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(
        '[agencies.HSI]\nname = "Homeland Security Investigations"\nparent = "ICE"\n'
        '[agencies.ICE]\nname = "Immigration and Customs Enforcement"\naliases = ["ERO"]\n'
        'parent = "DHS"\n[authorities."6103(i)(9)"]\ndescription = "made up for the test"\n'
    )
    registry = load_registry(path)
    assert registry.agency("Homeland Security Investigations").chain == ("HSI", "ICE", "DHS")
    assert registry.agency("ERO").id == "ICE"
    assert not registry.agency("U.S. Immigration and Customs Enforcement").known  # replaced
    assert registry.authority("26 USC 6103(i)(9)").known
    assert registry.agency("FBI").chain == ("FBI", "DOJ")  # the shipped entries stay


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[agencies.X]\nname = "X"\nparent = "NOPE"\n', "parent 'NOPE'"),
        (
            '[agencies.X]\nname = "X"\nparent = "Y"\n[agencies.Y]\nname = "Y"\nparent = "X"\n',
            "own ancestor",
        ),
        ('[agencies.X]\nname = "Internal Revenue Service"\n', "used by both"),
        ('[agencies.X]\nnom = "X"\n', "needs a name"),
        ("[people]\n", "Unknown registry section 'people'"),
        ("[agencies\n", "not valid TOML"),
    ],
)
def test_a_bad_registry_file_is_one_plain_error(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_registry(path)


def test_rules_file_authorities_still_extend_the_registry(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[authorities]\n"26 U.S.C. 6103(q)" = "a legacy entry"\n'
        '[coverage_start]\n"Internal Revenue Service" = 2024-01-01\n'
    )
    config = load_rules_config(rules)
    assert config.authority_known("IRC § 6103(q)")
    assert config.coverage_start == {"IRS": config.coverage_start["IRS"]}
    assert config.incomplete_authorities == ("6103(i)(2)",)
    assert config.new_scope_critical_records == 10_000


def test_which_spellings_count_under_a_scope() -> None:
    ice = ("Internal Revenue Service", "Immigration and Customs Enforcement", "IRC § 6103(i)(2)(A)")
    assert REGISTRY.counts_under("recipient", "DHS", *ice)
    assert not REGISTRY.counts_under("recipient", "DOJ", *ice)
    assert REGISTRY.counts_under("authority", "6103(i)", *ice)
    assert REGISTRY.counts_under("pair", "ICE under 6103(i)(2)(A)", *ice)
    assert not REGISTRY.counts_under("pair", "ICE under 6103(i)(2)", *ice)
    assert REGISTRY.counts_under("source", "IRS", *ice)
    assert REGISTRY.scope_value(
        "pair", "U.S. Immigration and Customs Enforcement under 26 USC 6103(i)(2)"
    ) == ("ICE under 6103(i)(2)")


def test_every_reader_gets_the_registry_from_one_provider(tmp_path: Path) -> None:
    """The rules file's authorities reach the registry the CLI, API, reports and export use:
    they all take it from ``configured_rules`` (the consumers too), never from a bare
    ``load_registry`` that would miss them."""
    from ledger.config import Settings
    from ledger.rules.config import configured_rules

    rules = tmp_path / "rules.toml"
    rules.write_text('[authorities]\n"26 U.S.C. 6103(q)" = "a legacy entry"\n')
    settings = Settings.from_env({"LEDGER_RULES_FILE": str(rules)})
    assert configured_rules(settings).registry.authority("IRC § 6103(q)").known
    root = Path(__file__).resolve().parents[2] / "ledger"
    bare = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "load_registry(" in p.read_text() and p.name != "config.py"
    ]
    assert bare == []
