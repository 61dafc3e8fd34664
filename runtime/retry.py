"""When a failed handler runs again: a small, explicit exponential schedule.

Why not ``tenacity``/``backoff``: both retry by looping *around a call* inside one coroutine, but here a retry
is a broker-level redelivery — the bus ``nack``s with a delay and the adapter hands the event out again (maybe
to another member of the group, maybe after a restart, with the broker counting attempts). What we need from
a library is only the delay for attempt *n*, which is one line; the policy below states it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``max_attempts`` deliveries in all; attempt *n* failing waits
    ``min(max_delay, base_delay * multiplier ** (n - 1))``, scaled by a random factor in ``[1 - jitter, 1]``
    (jitter spreads retries of many consumers apart), before the next. After the last attempt the event goes
    to the dead-letter channel with the error."""

    max_attempts: int = 5
    base_delay: float = 0.1
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        raw = min(self.max_delay, self.base_delay * self.multiplier ** max(0, attempt - 1))
        return raw * (1.0 - self.jitter * random.random())  # jitter, not cryptography

    def exhausted(self, attempt: int) -> bool:
        return attempt >= self.max_attempts

    @classmethod
    def from_channel_options(cls, options: Mapping[str, Any], default: RetryPolicy | None = None) -> RetryPolicy:
        """The registry's ``retry_limit`` channel option, when set, is the number of retries after the first
        attempt (the orders channel's ``retry_limit = 5`` means 6 deliveries at most)."""
        base = default or cls()
        limit = options.get("retry_limit")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
            return RetryPolicy(limit + 1, base.base_delay, base.multiplier, base.max_delay, base.jitter)
        return base
