"""Counters and latency histograms every adapter keeps per channel, and the snapshot type it reports.

Histograms use fixed buckets (seconds, Prometheus-style upper bounds) so snapshots from several adapters or
processes add up bucket by bucket; the HTTP service turns a snapshot into the Prometheus exposition format
with a maintained library, so nothing here formats text.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)


@dataclass(frozen=True)
class HistogramSnapshot:
    """``counts[i]`` observations fell at or below ``buckets[i]`` and above the bound before it; the last count
    is for observations above every bound (``+Inf``)."""

    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: tuple[int, ...] = (0,) * (len(LATENCY_BUCKETS) + 1)
    count: int = 0
    sum: float = 0.0

    def quantile(self, q: float) -> float:
        """An upper bound of the ``q`` quantile (the bucket bound it falls in); ``inf`` past the last bound."""
        if self.count == 0:
            return 0.0
        rank, seen = q * self.count, 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            seen += count
            if seen >= rank:
                return bound
        return float("inf")


class Histogram:
    """A latency histogram with fixed buckets."""

    __slots__ = ("_counts", "_sum", "buckets")

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self._counts = [0] * (len(buckets) + 1)
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self._sum += seconds

    def snapshot(self) -> HistogramSnapshot:
        return HistogramSnapshot(self.buckets, tuple(self._counts), sum(self._counts), self._sum)


@dataclass(frozen=True)
class ChannelMetrics:
    """One channel's counters since the adapter started.

    ``delivered`` counts every hand-over to a consumer (redeliveries included); ``retried`` counts nacks;
    ``skipped`` counts events a consumer never saw because it fell behind the retained history (see the
    adapter's back-pressure policy); ``errors`` counts failed publishes and failed handler attempts.
    """

    published: int = 0
    delivered: int = 0
    acked: int = 0
    retried: int = 0
    dead_lettered: int = 0
    in_flight: int = 0
    errors: int = 0
    skipped: int = 0
    publish_latency: HistogramSnapshot = field(default_factory=HistogramSnapshot)
    handler_latency: HistogramSnapshot = field(default_factory=HistogramSnapshot)


COUNTERS = tuple(f.name for f in fields(ChannelMetrics) if f.type in ("int", int))


@dataclass(frozen=True)
class MetricsSnapshot:
    """An adapter's metrics at one instant, per channel."""

    adapter: str
    channels: Mapping[str, ChannelMetrics]

    def total(self, counter: str) -> int:
        """A counter summed over channels, e.g. ``snapshot.total("published")``."""
        return sum(int(getattr(m, counter)) for m in self.channels.values())


class ChannelCounters:
    """One channel's live counters. Hot paths hold this handle (``MetricsRecorder.counters``) and add to its
    attributes directly — ``counters.delivered += 1`` — instead of looking the channel up by name per event."""

    __slots__ = ("handler_latency", "publish_latency", *COUNTERS)

    published: int
    delivered: int
    acked: int
    retried: int
    dead_lettered: int
    in_flight: int
    errors: int
    skipped: int

    def __init__(self) -> None:
        for name in COUNTERS:
            setattr(self, name, 0)
        self.publish_latency = Histogram()
        self.handler_latency = Histogram()


class MetricsRecorder:
    """What an adapter (and the bus, for handler outcomes) writes into; ``snapshot`` is what it reports."""

    def __init__(self, adapter: str) -> None:
        self.adapter = adapter
        self._channels: dict[str, ChannelCounters] = {}

    def counters(self, channel: str) -> ChannelCounters:
        """The live counters of ``channel`` (created on first use): a handle for per-event code."""
        counters = self._channels.get(channel)
        if counters is None:
            counters = self._channels[channel] = ChannelCounters()
        return counters

    def add(self, channel: str, counter: str, amount: int = 1) -> None:
        """Add to a counter (``in_flight`` goes down with a negative amount)."""
        counters = self.counters(channel)
        setattr(counters, counter, getattr(counters, counter) + amount)

    def observe_publish(self, channel: str, seconds: float, events: int = 1) -> None:
        counters = self.counters(channel)
        counters.published += events
        counters.publish_latency.observe(seconds)

    def observe_handler(self, channel: str, seconds: float) -> None:
        self.counters(channel).handler_latency.observe(seconds)

    def snapshot(self) -> MetricsSnapshot:
        channels = {
            name: ChannelMetrics(
                **{counter: getattr(c, counter) for counter in COUNTERS},
                publish_latency=c.publish_latency.snapshot(),
                handler_latency=c.handler_latency.snapshot(),
            )
            for name, c in self._channels.items()
        }
        return MetricsSnapshot(self.adapter, channels)
