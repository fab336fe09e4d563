"""Rules and registry files are read only when they are regular files, and their numbers are in
range (the CLI's exit status and one-line message: test_api_limits.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger.cli.exit_codes import exit_code_of
from ledger.errors import ConfigError
from ledger.exit_codes import ExitCode
from ledger.rules.config import FILE_MAX, RANGES, load_registry, load_rules_config


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[spike_over_prior_year]\nwarmup_days = -5\n", "warmup_days"),
        ("[spike_over_prior_year]\nwarmup_days = 99999\n", "warmup_days"),
        ("[spike_over_prior_year]\nwarmup_days = true\n", "warmup_days"),
        ("[statistical_anomaly]\nk = 0\n", "statistical_anomaly.k"),
        ("[statistical_anomaly]\nmad_floor_fraction = 1.5\n", "mad_floor_fraction"),
        ("[new_scope]\ncritical_records = 0\n", "critical_records"),
        ("[new_scope]\nenabled = 1\n", "new_scope.enabled"),
        ("[spike_over_prior_year]\nwarmup_dayz = 30\n", "warmup_dayz"),
    ],
)
def test_a_setting_out_of_range_or_unknown_is_refused(
    tmp_path: Path, text: str, named: str
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_rules_config(rules)
    assert named in str(caught.value)
    assert exit_code_of(caught.value) == ExitCode.USAGE


def test_the_shipped_defaults_and_the_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    for (section, key), (low, high) in RANGES.items():
        for value in (low, high):
            rules.write_text(f"[{section}]\n{key} = {value!r}\n")
            load_rules_config(rules)
    assert load_rules_config().warmup_days == 365


def test_special_files_are_refused_without_being_read(tmp_path: Path) -> None:
    fifo = tmp_path / "rules.fifo"
    os.mkfifo(fifo)  # opening it for reading in the ordinary way would wait for a writer
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * FILE_MAX + "\n")
    for path, problem in (
        (fifo, "not a regular file"),
        (Path("/dev/zero"), "not a regular file"),
        (tmp_path, "not a regular file"),
        (big, "over"),
        (tmp_path / "missing.toml", "Cannot read"),
    ):
        for load in (load_rules_config, load_registry):
            with pytest.raises(ConfigError, match=problem):
                load(path)


def test_a_link_to_a_regular_file_is_read(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[spike_over_prior_year]\nwarmup_days = 30\n")
    link = tmp_path / "mounted.toml"
    link.symlink_to(rules)
    assert load_rules_config(link).warmup_days == 30
