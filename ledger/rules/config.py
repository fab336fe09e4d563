"""The rules configuration: shipped TOML defaults merged with LEDGER_RULES_FILE; unknown keys fail."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError
from ledger.rules.authorities import normalize_authority


def _defaults() -> dict[str, Any]:
    text = (
        resources.files("ledger.rules").joinpath("default_rules.toml").read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


def _merge(base: dict[str, Any], override: dict[str, Any], path: str = "") -> dict[str, Any]:
    # Sections whose keys are data (names of sources, citations) accept new keys.
    open_sections = {"coverage_start", "authorities"}
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
    coverage_start: dict[str, date] = field(default_factory=dict)
    authorities: dict[str, str] = field(default_factory=dict)  # normalised citation -> description

    def on(self, section: str) -> bool:
        return self.enabled.get(section, True)

    def authority_known(self, citation: str) -> bool:
        return normalize_authority(citation) in self.authorities


def load_rules_config(path: Path | None = None) -> RulesConfig:
    data = _defaults()
    if path is not None:
        try:
            user = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"Cannot read rules file {path}: {exc.strerror}.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Rules file {path} is not valid TOML: {exc}.") from exc
        data = _merge(data, user)
    coverage = {}
    for source, start in data["coverage_start"].items():
        if not isinstance(start, date):
            raise ConfigError(f"coverage_start.{source!r} must be a date such as 2024-01-01.")
        coverage[source] = start
    anomaly = data["statistical_anomaly"]
    return RulesConfig(
        enabled={
            name: bool(section.get("enabled", True))
            for name, section in data.items()
            if isinstance(section, dict) and "enabled" in section
        },
        warmup_days=int(data["spike_over_prior_year"]["warmup_days"]),
        incomplete_authorities=tuple(data["request_incomplete"]["authorities"]),
        anomaly_k=float(anomaly["k"]),
        anomaly_min_history_days=int(anomaly["min_history_days"]),
        anomaly_mad_floor_fraction=float(anomaly["mad_floor_fraction"]),
        coverage_start=coverage,
        authorities={normalize_authority(k): v for k, v in data["authorities"].items()},
    )
