"""Rate limits per token and per client address, and the window refused anonymous calls are
counted in (see docs/api.md, "Rate limits").

Each token and each client address has a bucket of ``per_minute`` calls that refills evenly over
a minute; a call takes one from both or, when either is empty, is refused with 429 and a
Retry-After saying when the next call would pass. A refused call takes nothing, so a caller who
waits as told gets through. Buckets live in the server's memory (one process; a restart refills
them) and are bounded in number: a full bucket is the same as none, so the oldest are dropped.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from ledger.errors import ConfigError

ENV_PER_TOKEN = "LEDGER_API_TOKEN_RATE"  # noqa: S105 - a variable name, not a secret
ENV_ADDRESS = "LEDGER_API_ADDRESS_RATE"
ENV_WINDOW = "LEDGER_API_REFUSED_WINDOW"
BUCKETS_MAX = 50_000  # per kind (tokens, addresses) held in memory


def _setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{name}={text[:40]!r}: use a whole number from {low} to {high}.")
    return int(text)


@dataclass(frozen=True)
class ApiLimits:
    token_per_minute: int = 1200  # 20 a second: far above what a person or a script needs
    address_per_minute: int = 6000  # every token and anonymous call from one address together
    refused_window: int = 60  # seconds: refused anonymous calls are counted per window

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiLimits:
        e = os.environ if env is None else env
        return cls(
            _setting(e, ENV_PER_TOKEN, cls.token_per_minute, 1, 10**6),
            _setting(e, ENV_ADDRESS, cls.address_per_minute, 1, 10**7),
            _setting(e, ENV_WINDOW, cls.refused_window, 1, 3600),
        )


class Buckets:
    """Token buckets by key (a token id, a client address), ``per_minute`` calls each."""

    def __init__(self, per_minute: int, most: int = BUCKETS_MAX) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # calls per second
        self.most = most
        self._held: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (level, at)

    def _level(self, key: str, now: float) -> float:
        level, at = self._held.get(key, (self.capacity, now))
        return min(self.capacity, level + (now - at) * self.rate)

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may call (0: now), taking nothing."""
        missing = 1.0 - self._level(key, now)
        return 0.0 if missing <= 0 else missing / self.rate

    def take(self, key: str, now: float) -> None:
        self._held[key] = (self._level(key, now) - 1.0, now)
        self._held.move_to_end(key)
        while len(self._held) > self.most:  # the least recently used is the fullest
            self._held.popitem(last=False)


class RateLimiter:
    """Both kinds of bucket: ``check`` says whether a call may pass and takes from both if so."""

    def __init__(self, limits: ApiLimits) -> None:
        self.tokens = Buckets(limits.token_per_minute)
        self.addresses = Buckets(limits.address_per_minute)

    def check(self, token_id: str | None, address: str, now: float) -> tuple[str, int] | None:
        """None when the call may pass (and it is counted); else (what ran out, Retry-After)."""
        by_address = self.addresses.wait(address, now)
        by_token = self.tokens.wait(token_id, now) if token_id else 0.0
        if by_token > 0:
            return "token", max(1, math.ceil(by_token))
        if by_address > 0:
            return "address", max(1, math.ceil(by_address))
        self.addresses.take(address, now)
        if token_id:
            self.tokens.take(token_id, now)
        return None
