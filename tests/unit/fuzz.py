"""The hypothesis profile of the fuzz tests: derandomized (CI stays stable), no deadline.

``LEDGER_FUZZ_EXAMPLES`` raises the number of examples for a longer run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(default_examples: int) -> settings:
    return settings(
        max_examples=int(os.environ.get("LEDGER_FUZZ_EXAMPLES", str(default_examples))),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
