"""Builds the live followers with their publishers and runs them until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from consumers.audit_log import AuditLogFollower
from consumers.runner import Follower, FollowerRunner
from consumers.volume import VolumeFollower
from ledger.errors import ConfigError
from ledger.producer import EventProducer
from ledger.rules.config import load_rules_config
from ledger.runtime import Ledger

log = logging.getLogger(__name__)

CONSUMER_NAMES = ("audit_log", "volume", "alert_delivery")


@dataclass
class RunningConsumers:
    runners: list[FollowerRunner]
    threads: list[threading.Thread]
    producers: list[EventProducer] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def follower(self, name: str) -> Follower:
        for r in self.runners:
            if r.follower.name == name:
                return r.follower
        raise KeyError(name)

    def stop(self, timeout: float = 30) -> None:
        for r in self.runners:
            r.stop.set()
        for t in self.threads:
            t.join(timeout)
        for p in self.producers:
            p.close()


def build_followers(
    ledger: Ledger, only: Sequence[str] | None = None
) -> tuple[list[Follower], list[EventProducer]]:
    names = list(only or CONSUMER_NAMES)
    unknown = sorted(set(names) - set(CONSUMER_NAMES))
    if unknown:
        raise ConfigError(
            f"Unknown consumer {', '.join(unknown)}; choose from {', '.join(CONSUMER_NAMES)}."
        )
    alerts = EventProducer(ledger.bootstrap, ledger.topics.alerts)
    dlq = EventProducer(ledger.bootstrap, ledger.topics.dlq)
    followers: list[Follower] = []
    if "audit_log" in names:
        from ledger.checkpointing import checkpointer_for

        followers.append(
            AuditLogFollower(
                publisher=alerts, dlq_publisher=dlq, checkpointer=checkpointer_for(ledger.settings)
            )
        )
    if "volume" in names:
        config = load_rules_config(ledger.settings.rules_file)
        followers.append(VolumeFollower(config, ledger.settings.timezone, publisher=alerts))
    if "alert_delivery" in names:
        from consumers.alert_delivery import AlertDeliveryFollower
        from ledger.webhook_config import load_delivery_config

        followers.append(AlertDeliveryFollower(load_delivery_config()))
    return followers, [alerts, dlq]


def topic_for(ledger: Ledger, follower: Follower) -> str:
    """Alert delivery follows ledger.alerts; every other follower follows ledger.disclosures."""
    return ledger.topics.alerts if follower.name == "alert_delivery" else ledger.topics.disclosures


def start_consumers(
    ledger: Ledger,
    only: Sequence[str] | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> RunningConsumers:
    followers, producers = build_followers(ledger, only)
    runners = [
        FollowerRunner(f, ledger.bootstrap, ledger.writer_url, ledger.schema, topic_for(ledger, f),
                       group_prefix=ledger.topics.prefix)
        for f in followers
    ]  # fmt: skip
    running = RunningConsumers(runners, [], producers)

    def run(runner: FollowerRunner) -> None:
        try:
            runner.run(None if on_batch is None else lambda n: on_batch(runner.follower.name, n))
        except BaseException as exc:  # surfaced to the caller, never swallowed
            log.exception("consumer %s stopped with an error", runner.follower.name)
            running.errors.append(exc)

    for runner in runners:
        t = threading.Thread(
            target=run, args=(runner,), name=f"consumer-{runner.follower.name}", daemon=True
        )
        t.start()
        running.threads.append(t)
    return running
