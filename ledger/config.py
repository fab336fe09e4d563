"""Settings read from the environment (secrets come from files named there, never the repo)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.errors import ConfigError

DISCLOSURES_TOPIC = "ledger.disclosures"
COURT_TOPIC = "ledger.court"


def is_court_topic(topic: str) -> bool:
    """Whether ``topic`` is a court topic, whatever its tenant prefix."""
    return topic.endswith(COURT_TOPIC)


@dataclass(frozen=True)
class Topics:
    """Kafka topic names. A prefix (``LEDGER_TOPIC_PREFIX``) lets tests and tenants share a broker."""

    prefix: str = ""

    @property
    def disclosures(self) -> str:
        return f"{self.prefix}{DISCLOSURES_TOPIC}"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}ledger.alerts"

    @property
    def court(self) -> str:
        """Court events (orders, amendments, vacaturs, notices): only the clerk's principal
        writes it; the same event types on the disclosures topic are refused."""
        return f"{self.prefix}{COURT_TOPIC}"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}ledger.disclosures.dlq"

    def logged(self) -> tuple[str, str]:
        """The topics whose records enter the signed audit log, one log per partition each."""
        return (self.disclosures, self.court)

    def all(self) -> tuple[str, ...]:
        return (self.disclosures, self.court, self.alerts, self.dlq)


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str | None
    database_url: str | None
    data_dir: Path
    timezone: ZoneInfo
    partitions: int
    brokers: int  # local Kafka nodes `ledger up` starts (LEDGER_BROKERS): 1, 3 or 5
    topics: Topics
    db_schema: str
    log_origin: str
    taxpayer_key_file: Path | None
    signing_key_file: Path | None
    rules_file: Path | None
    registry_file: Path | None = None
    public_min_count: int = 10  # public export bundles suppress counts below this
    witnesses: str = ""  # LEDGER_WITNESSES: 'URL VKEY' pairs the checkpointer asks to cosign
    # LEDGER_KAFKA_ACLS=1: `ledger up` starts its brokers with SASL/PLAIN principals (ledger,
    # agency, court) and the StandardAuthorizer, and ledger clients log in as LEDGER_KAFKA_PRINCIPAL.
    kafka_acls: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        tz_name = e.get("LEDGER_TIMEZONE", "America/New_York")
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"LEDGER_TIMEZONE={tz_name!r} is not a known IANA time zone."
            ) from exc
        raw_parts = e.get("LEDGER_PARTITIONS", "3")
        try:
            partitions = int(raw_parts)
            if partitions < 1:
                raise ValueError
        except ValueError as exc:
            raise ConfigError(
                f"LEDGER_PARTITIONS={raw_parts!r} must be a positive integer."
            ) from exc
        raw_brokers = e.get("LEDGER_BROKERS", "1")
        if raw_brokers not in ("1", "3", "5"):  # a quorum needs an odd number of voters
            raise ConfigError(f"LEDGER_BROKERS={raw_brokers!r} must be 1, 3 or 5.")
        raw_min = e.get("LEDGER_PUBLIC_MIN_COUNT", "10")
        if not raw_min.isdigit() or int(raw_min) < 1:
            raise ConfigError(f"LEDGER_PUBLIC_MIN_COUNT={raw_min!r} must be a positive integer.")
        key_file = e.get("LEDGER_TAXPAYER_KEY_FILE")
        signing = e.get("LEDGER_SIGNING_KEY_FILE")
        # The working directory's .ledger, never the code's location: two clones (or a plain
        # install in site-packages) must not share, start or wipe each other's services.
        data_dir = Path(e.get("LEDGER_DATA_DIR") or Path.cwd() / ".ledger").absolute()
        return cls(
            kafka_bootstrap=e.get("LEDGER_KAFKA_BOOTSTRAP") or None,
            database_url=e.get("LEDGER_DATABASE_URL") or None,
            data_dir=data_dir,
            timezone=tz,
            partitions=partitions,
            brokers=int(raw_brokers),
            topics=Topics(e.get("LEDGER_TOPIC_PREFIX", "")),
            db_schema=e.get("LEDGER_DB_SCHEMA", "ledger"),
            log_origin=e.get("LEDGER_LOG_ORIGIN", "ledger.example.gov/disclosures"),
            taxpayer_key_file=Path(key_file) if key_file else None,
            signing_key_file=Path(signing) if signing else None,
            rules_file=Path(e["LEDGER_RULES_FILE"]) if e.get("LEDGER_RULES_FILE") else None,
            registry_file=(
                Path(e["LEDGER_REGISTRY_FILE"]) if e.get("LEDGER_REGISTRY_FILE") else None
            ),
            public_min_count=int(raw_min),
            witnesses=e.get("LEDGER_WITNESSES", ""),
            kafka_acls=e.get("LEDGER_KAFKA_ACLS", "") in ("1", "true", "yes"),
        )
