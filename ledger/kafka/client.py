"""Connection settings shared by every Kafka client: bootstrap plus optional SASL/TLS from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError

# Environment variable -> kafka-python setting, for a real deployment's SASL/TLS.
_SECURITY_ENV = {
    "LEDGER_KAFKA_SECURITY_PROTOCOL": "security_protocol",
    "LEDGER_KAFKA_SASL_MECHANISM": "sasl_mechanism",
    "LEDGER_KAFKA_SASL_USERNAME": "sasl_plain_username",
    "LEDGER_KAFKA_SSL_CAFILE": "ssl_cafile",
    "LEDGER_KAFKA_SSL_CERTFILE": "ssl_certfile",
    "LEDGER_KAFKA_SSL_KEYFILE": "ssl_keyfile",
}


def client_config(bootstrap: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """kafka-python keyword arguments common to producers, consumers and the admin client."""
    e = os.environ if env is None else env
    config: dict[str, Any] = {"bootstrap_servers": bootstrap.split(",")}
    for var, key in _SECURITY_ENV.items():
        if e.get(var):
            config[key] = e[var]
    password_file = e.get("LEDGER_KAFKA_SASL_PASSWORD_FILE")
    if (
        e.get("LEDGER_KAFKA_ACLS", "") in ("1", "true", "yes")
        and "sasl_plain_username" not in config
    ):
        # The local brokers `ledger up` started with ACLs: log in as one of their principals.
        principal = e.get("LEDGER_KAFKA_PRINCIPAL", "ledger")
        data_dir = Path(e.get("LEDGER_DATA_DIR") or Path.cwd() / ".ledger").absolute()
        config.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN")
        config["sasl_plain_username"] = principal
        password_file = password_file or str(data_dir / "kafka-sasl" / f"{principal}.password")
    if password_file:
        try:
            config["sasl_plain_password"] = Path(password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"Cannot read LEDGER_KAFKA_SASL_PASSWORD_FILE: {exc.strerror}"
            ) from exc
    return config
