"""The rules configuration: shipped TOML defaults merged with LEDGER_RULES_FILE; unknown keys fail."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError
from ledger.rules.registry import Registry, registry_from_tables
from ledger.safe_files import read_text, why


def _shipped(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("ledger.rules").joinpath(name).read_text(encoding="utf-8"))


def _defaults() -> dict[str, Any]:
    return _shipped("default_rules.toml")


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path, what=what))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {what} {path}: {why(exc)}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what.capitalize()} {path} is not valid TOML: {exc}.") from exc


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
        return self.enabled.get(section, True)

    def authority_known(self, citation: str) -> bool:
        return self.registry.authority(citation).known


def load_rules_config(path: Path | None = None, registry_path: Path | None = None) -> RulesConfig:
    """The rules (LEDGER_RULES_FILE over the defaults) and the registry (LEDGER_REGISTRY_FILE)."""
    data = _defaults()
    if path is not None:
        data = _merge(data, _read_toml(path, "rules file"))
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
