"""Builds the live consumers with their publishers and runs them until stopped."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from consumers.audit_log import AuditLogConsumer
from consumers.base import Consumer
from consumers.membership import Membership, claim_instance
from consumers.runner import ConsumerRunner, leave_group
from consumers.taxpayer_index_service import IndexLoop, start_index_loop
from consumers.volume import VolumeConsumer
from ledger.errors import ConfigError
from ledger.kafka.producer import EventProducer
from ledger.rules.config import configured_rules
from ledger.runtime import Ledger

log = logging.getLogger(__name__)

KAFKA_CONSUMERS = ("audit_log", "volume", "alert_delivery")
# taxpayer_index follows the disclosure logs' checkpoints, not Kafka: a loop of its own.
CONSUMER_NAMES = (*KAFKA_CONSUMERS, "taxpayer_index")
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0


@dataclass
class RunningConsumers:
    runners: list[ConsumerRunner]
    threads: list[threading.Thread]
    producers: list[EventProducer] = field(default_factory=list)
    memberships: dict[str, Membership] = field(default_factory=dict)  # by consumer name
    errors: list[BaseException] = field(default_factory=list)  # every failure, restarted or not
    stopping: threading.Event = field(default_factory=threading.Event)
    restarts: dict[str, int] = field(default_factory=dict)
    index: IndexLoop | None = None  # the taxpayer index's loop, when it runs here

    def consumer(self, name: str) -> Consumer:
        for r in self.runners:
            if r.consumer.name == name:
                return r.consumer
        raise KeyError(name)

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        for r in self.runners:
            r.stop.set()
        for t in self.threads:
            t.join(timeout)
        for p in self.producers:
            p.close()
        for r in self.runners:
            # A stopped static member leaves its group (its partitions move on at once); its
            # slot is freed only once the leave is done, or a late leave would remove the next
            # member that claims the same instance id.
            left = r.instance_id is None or leave_group(r.bootstrap, r.group_id, r.instance_id)
            membership = self.memberships.get(r.consumer.name)
            if left and membership is not None:
                membership.release()


def check_names(names: Sequence[str]) -> list[str]:
    unknown = sorted(set(names) - set(CONSUMER_NAMES))
    if unknown:
        raise ConfigError(
            f"Unknown consumer {', '.join(unknown)}; choose from {', '.join(CONSUMER_NAMES)}."
        )
    return list(names)


def build_consumers(
    ledger: Ledger, only: Sequence[str] | None = None
) -> tuple[list[Consumer], list[EventProducer]]:
    names = check_names(only or CONSUMER_NAMES)
    if not set(names) & set(KAFKA_CONSUMERS):
        return [], []  # the taxpayer index alone needs no Kafka producer
    alerts = EventProducer(ledger.bootstrap, ledger.topics.alerts)
    dlq = EventProducer(ledger.bootstrap, ledger.topics.dlq)
    consumers: list[Consumer] = []
    if "audit_log" in names:
        from consumers.checkpointer import checkpointer_for

        consumers.append(
            AuditLogConsumer(
                publisher=alerts, dlq_publisher=dlq, checkpointer=checkpointer_for(ledger.settings)
            )
        )
    if "volume" in names:
        config = configured_rules(ledger.settings)
        consumers.append(
            VolumeConsumer(config, ledger.settings.timezone, publisher=alerts, dlq_publisher=dlq)
        )
    if "alert_delivery" in names:
        from consumers.alert_delivery import AlertDeliveryConsumer
        from ledger.webhook_config import load_delivery_config

        consumers.append(
            AlertDeliveryConsumer(load_delivery_config(), publisher=alerts, dlq_publisher=dlq)
        )
    return consumers, [alerts, dlq]


def start_witnessing(ledger: Ledger, running: RunningConsumers) -> None:
    """A thread asking LEDGER_WITNESSES to cosign new checkpoints; stops with the consumers."""
    from consumers.witnessing import WitnessCollector
    from ledger.witness.client import parse_witnesses

    collector = WitnessCollector(
        ledger.writer_url, ledger.schema, parse_witnesses(ledger.settings.witnesses)
    )
    t = threading.Thread(
        target=collector.run, args=(running.stopping,), name="witnessing", daemon=True
    )
    t.start()
    running.threads.append(t)


def start_consumers(
    ledger: Ledger,
    only: Sequence[str] | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> RunningConsumers:
    consumers, producers = build_consumers(ledger, only)
    memberships = {
        f.name: claim_instance(ledger.settings.data_dir, f"{ledger.topics.prefix}ledger-{f.name}")
        for f in consumers
    }

    def runner_for(consumer: Consumer) -> ConsumerRunner:
        return ConsumerRunner(
            consumer,
            ledger.bootstrap,
            ledger.writer_url,
            ledger.schema,
            consumer.topics(ledger.topics),
            group_prefix=ledger.topics.prefix,
            instance_id=memberships[consumer.name].instance_id,
        )

    runners = [runner_for(f) for f in consumers]
    running = RunningConsumers(runners, [], producers, memberships=memberships)
    if ledger.settings.witnesses and any(f.name == "audit_log" for f in consumers):
        start_witnessing(ledger, running)
    if "taxpayer_index" in check_names(only or CONSUMER_NAMES):
        running.index, thread = start_index_loop(ledger, running.stopping)
        running.threads.append(thread)

    def run(index: int) -> None:
        """Supervises one consumer: a failure restarts it (with backoff), never the others.

        Records and outages are handled inside the runner; what reaches here is unexpected
        (a bug, a rebalance callback failing), so it is logged, kept in ``errors`` and retried
        with a fresh Kafka consumer and database connection.
        """
        failures = 0
        while not running.stopping.is_set():
            runner = running.runners[index]
            name = runner.consumer.name
            try:
                runner.run(None if on_batch is None else functools.partial(on_batch, name))
                return
            except BaseException as exc:  # surfaced to the caller, never swallowed
                log.exception("consumer %s stopped with an error; restarting it", name)
                running.errors.append(exc)
            delay = min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2**failures)
            failures += 1
            while not running.stopping.wait(delay):
                try:
                    running.runners[index] = runner_for(runner.consumer)
                    running.restarts[name] = running.restarts.get(name, 0) + 1
                    break
                except Exception as exc:
                    log.warning("consumer %s cannot restart yet: %s", name, exc)

    for index, runner in enumerate(runners):
        t = threading.Thread(
            target=run, args=(index,), name=f"consumer-{runner.consumer.name}", daemon=True
        )
        t.start()
        running.threads.append(t)
    return running
