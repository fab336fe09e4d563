"""Webhook endpoints from the TOML file named by LEDGER_WEBHOOKS_FILE (secrets from files)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import ConfigError
from ledger.safe_files import read_text, why
from ledger.webhooks import secret_key


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    secret: str  # whsec_...; read from secret_file, never from the TOML itself


@dataclass(frozen=True)
class DeliveryConfig:
    endpoints: tuple[Endpoint, ...] = ()
    attempts: int = 6
    base_seconds: float = 1.0
    factor: float = 2.0
    timeout_seconds: float = 10.0


_RETRY_KEYS = {"attempts", "base_seconds", "factor", "timeout_seconds"}
_ENDPOINT_KEYS = {"name", "url", "secret_file"}


def load_delivery_config(path: Path | None = None) -> DeliveryConfig:
    if path is None:
        env = os.environ.get("LEDGER_WEBHOOKS_FILE")
        if not env:
            return DeliveryConfig()
        path = Path(env)
    try:
        data = tomllib.loads(read_text(path, what="webhooks file"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read webhooks file {path}: {why(exc)}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Webhooks file {path} is not valid TOML: {exc}.") from exc
    unknown = set(data) - {"retry", "endpoint"}
    if unknown:
        raise ConfigError(f"Unknown webhooks setting(s): {', '.join(sorted(unknown))}.")
    retry = data.get("retry", {})
    if set(retry) - _RETRY_KEYS:
        raise ConfigError(
            f"Unknown retry setting(s): {', '.join(sorted(set(retry) - _RETRY_KEYS))}."
        )
    endpoints = []
    for entry in data.get("endpoint", []):
        if set(entry) != _ENDPOINT_KEYS:
            raise ConfigError(
                f"Each [[endpoint]] needs exactly {', '.join(sorted(_ENDPOINT_KEYS))}."
            )
        secret_path = Path(entry["secret_file"])
        if not secret_path.is_absolute():
            secret_path = path.parent / secret_path
        try:
            secret = read_text(secret_path, what="webhook secret file").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Cannot read the secret of endpoint {entry['name']}: {why(exc)}."
            ) from exc
        secret_key(secret)  # validates the form
        endpoints.append(Endpoint(entry["name"], entry["url"], secret))
    defaults = DeliveryConfig()
    return DeliveryConfig(
        endpoints=tuple(endpoints),
        attempts=int(retry.get("attempts", defaults.attempts)),
        base_seconds=float(retry.get("base_seconds", defaults.base_seconds)),
        factor=float(retry.get("factor", defaults.factor)),
        timeout_seconds=float(retry.get("timeout_seconds", defaults.timeout_seconds)),
    )
