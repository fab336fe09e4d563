"""The rules configuration: shipped TOML defaults merged with LEDGER_RULES_FILE; unknown keys fail."""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.rules.registry import Registry, registry_from_tables


def _shipped(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("ledger.rules").joinpath(name).read_text(encoding="utf-8"))


def _defaults() -> dict[str, Any]:
    return _shipped("default_rules.toml")


FILE_MAX = 1024 * 1024  # bytes: a rules or registry file is a few kilobytes


def _read_text(path: Path, what: str) -> str:
    """A regular file's text, at most FILE_MAX bytes: never a FIFO (which would hang start-up),
    a device (/dev/zero would fill memory) or a directory. A symbolic link to a regular file is
    read (configuration is often mounted that way)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {path}: {exc.strerror}.") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"The {what} {path} is not a regular file.")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(FILE_MAX + 1)
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {path}: {exc.strerror}.") from exc
    finally:
        os.close(fd)
    if len(data) > FILE_MAX:
        raise ConfigError(f"The {what} {path} is over {FILE_MAX // 1024} KiB.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"The {what} {path} is not UTF-8 text.") from None


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    text = _read_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what.capitalize()} {path} is not valid TOML: {exc}.") from exc
    except RecursionError:
        raise ConfigError(f"{what.capitalize()} {path} is nested too deeply.") from None


def load_registry(
    path: Path | None = None, rules_authorities: dict[str, Any] | None = None
) -> Registry:
    """The shipped registry, with the entries of ``path`` (LEDGER_REGISTRY_FILE) added or replacing
    those of the same id, and a rules file's legacy ``[authorities]`` entries added."""
    tables = _shipped("registry.toml")
    if path is not None:
        user = _read_toml(path, "registry file")
        for section in user:
            if section not in ("agencies", "authorities") or not isinstance(user[section], dict):
                raise ConfigError(
                    f"Unknown registry section {section!r} in {path}; see ledger/rules/registry.toml."
                )
            tables[section] = {**tables.get(section, {}), **user[section]}
    if rules_authorities:
        tables["authorities"] = {**tables["authorities"], **rules_authorities}
    return registry_from_tables(tables)


def _merge(base: dict[str, Any], override: dict[str, Any], path: str = "") -> dict[str, Any]:
    # Sections whose keys are data (names of sources, citations) accept new keys.
    open_sections = {"coverage_start", "authorities"}  # authorities: legacy, now the registry
    out = dict(base)
    for key, value in override.items():
        where = f"{path}.{key}" if path else key
        if key not in base and path not in open_sections:
            raise ConfigError(
                f"Unknown rules setting {where!r}; see ledger/rules/default_rules.toml."
            )
        if isinstance(base.get(key), dict):
            if not isinstance(value, dict):
                raise ConfigError(f"Rules setting {where!r} must be a table.")
            out[key] = _merge(base[key], value, where)
        else:
            if (
                key in base
                and type(value) is not type(base[key])
                and not (isinstance(value, int | float) and isinstance(base[key], int | float))
            ):
                raise ConfigError(f"Rules setting {where!r} must be a {type(base[key]).__name__}.")
            out[key] = value
    return out


@dataclass(frozen=True)
class RulesConfig:
    enabled: dict[str, bool]
    warmup_days: int
    incomplete_authorities: tuple[str, ...]
    anomaly_k: float
    anomaly_min_history_days: int
    anomaly_mad_floor_fraction: float
    coverage_start: dict[str, date] = field(default_factory=dict)  # by canonical source id
    new_scope_critical_records: int = 10_000
    registry: Registry = field(default_factory=lambda: load_registry())

    def on(self, section: str) -> bool:
        """Whether the rules file leaves this rule (or section) switched on."""
        switched = self.enabled.get(section)
        if switched is not None:
            return switched
        # Imported here: the catalogue imports every rule module, and they import this one.
        from ledger.rules.catalogue import SWITCHES

        if section not in SWITCHES:  # a misspelled name must fail, not read as "on"
            raise KeyError(f"no rule or rules section named {section!r} (ledger.rules.catalogue)")
        return True

    def authority_known(self, citation: str) -> bool:
        return self.registry.authority(citation).known


# (section, key) -> the closed range its value must lie in: a negative warm-up would make the
# prior-year rules speak before a year was seen, a k of 0 would fire on every wobble.
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("spike_over_prior_year", "warmup_days"): (0, 3650),
    ("new_scope", "critical_records"): (1, 10**12),
    ("statistical_anomaly", "k"): (0.5, 1000),
    ("statistical_anomaly", "min_history_days"): (1, 90),
    ("statistical_anomaly", "mad_floor_fraction"): (0, 1),
}


def _check_ranges(data: dict[str, Any]) -> None:
    for (section, key), (low, high) in RANGES.items():
        value = data[section][key]
        if isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(
                f"Rules setting '{section}.{key}' = {value!r} is out of range: it must be a"
                f" number from {low:g} to {high:g}."
            )
    for name, section in data.items():
        if isinstance(section, dict) and not isinstance(section.get("enabled", True), bool):
            raise ConfigError(f"Rules setting '{name}.enabled' must be true or false.")


def load_rules_config(path: Path | None = None, registry_path: Path | None = None) -> RulesConfig:
    """The rules (LEDGER_RULES_FILE over the defaults) and the registry (LEDGER_REGISTRY_FILE)."""
    data = _defaults()
    if path is not None:
        data = _merge(data, _read_toml(path, "rules file"))
        _check_ranges(data)
    registry = load_registry(registry_path, data["authorities"])
    coverage = {}
    for source, start in data["coverage_start"].items():
        if not isinstance(start, date):
            raise ConfigError(f"coverage_start.{source!r} must be a date such as 2024-01-01.")
        coverage[registry.agency(source).id] = start
    anomaly = data["statistical_anomaly"]
    return RulesConfig(
        enabled={
            name: bool(section.get("enabled", True))
            for name, section in data.items()
            if isinstance(section, dict) and "enabled" in section
        },
        warmup_days=int(data["spike_over_prior_year"]["warmup_days"]),
        incomplete_authorities=tuple(
            registry.authority(a).id for a in data["request_incomplete"]["authorities"]
        ),
        anomaly_k=float(anomaly["k"]),
        anomaly_min_history_days=int(anomaly["min_history_days"]),
        anomaly_mad_floor_fraction=float(anomaly["mad_floor_fraction"]),
        coverage_start=coverage,
        new_scope_critical_records=int(data["new_scope"]["critical_records"]),
        registry=registry,
    )


def configured_rules(settings: Settings) -> RulesConfig:
    """The rules and registry a ledger runs with (LEDGER_RULES_FILE, LEDGER_REGISTRY_FILE).

    The one provider: the consumers, CLI, API, dashboard, reports and export all take the
    registry from here, so a rules file's ``[authorities]`` reach every one of them alike.
    """
    return load_rules_config(settings.rules_file, settings.registry_file)
