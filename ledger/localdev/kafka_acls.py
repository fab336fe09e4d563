"""Local Kafka with authentication and ACLs (``LEDGER_KAFKA_ACLS=1``): SASL/PLAIN principals for
the ledger, the agencies and the court's clerk, and Kafka's StandardAuthorizer.

Each writer has its own topic (see docs/trust.md): agencies may write only the disclosures
topic, the court's clerk only the court topic; the ledger (a super user) writes everything else,
among them the alerts topic. The passwords are generated once into ``<data_dir>/kafka-sasl/``,
readable by their owner only; SASL/PLAIN sends them in clear, which is acceptable on loopback
only: a real cluster adds TLS (SASL_SSL) or uses SCRAM.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from ledger.local_secrets import write_private

LEDGER, AGENCY, COURT = "ledger", "agency", "court"
PRINCIPALS = (LEDGER, AGENCY, COURT)
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def sasl_dir(data_dir: Path) -> Path:
    return data_dir / "kafka-sasl"


def passwords(data_dir: Path) -> dict[str, str]:
    """Each principal's password, generated on first use."""
    found = {}
    for name in PRINCIPALS:
        path = sasl_dir(data_dir) / f"{name}.password"
        if not path.exists():
            write_private(path, secrets.token_urlsafe(24) + "\n", "Kafka password")
        found[name] = path.read_text().strip()
    return found


def _jaas(users: dict[str, str]) -> str:
    # The broker's own login (for inter-broker and controller traffic) is the ledger principal.
    accounts = " ".join(f'user_{name}="{pw}"' for name, pw in users.items())
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{LEDGER}" password="{users[LEDGER]}" {accounts};'
    )


def listener_properties(broker_port: int, controller_port: int, users: dict[str, str]) -> str:
    """server.properties lines for SASL_PLAINTEXT on both listeners and the StandardAuthorizer."""
    jaas = _jaas(users)
    return f"""listeners=SASL_PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{broker_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config={jaas}
listener.name.controller.plain.sasl.jaas.config={jaas}
authorizer.class.name={AUTHORIZER}
super.users=User:{LEDGER}
allow.everyone.if.no.acl.found=false
"""


def client_settings(data_dir: Path, principal: str = LEDGER) -> dict[str, Any]:
    """kafka-python settings to connect to the local brokers as ``principal``."""
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": principal,
        "sasl_plain_password": passwords(data_dir)[principal],
    }
