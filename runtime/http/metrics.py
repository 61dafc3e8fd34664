"""``GET /metrics``: Prometheus exposition through ``prometheus_client`` (nothing here formats text).

Each service has its own ``CollectorRegistry`` (two apps in one process, as in tests, never collide):

* HTTP: ``pubsub_http_requests_total{method,route,status}`` and ``pubsub_http_request_duration_seconds``
  (route = the path template, so ids in paths do not explode cardinality), recorded by an ASGI middleware;
* SSE: ``pubsub_sse_clients``, ``pubsub_sse_events_sent_total``, ``pubsub_sse_disconnects_total{reason}``;
* adapters, read from ``Bus.metrics()`` at scrape time: ``pubsub_events_<counter>_total{adapter,channel}``
  for every counter of ``hipponot_pubsub.runtime.metrics.ChannelMetrics``, ``pubsub_events_in_flight``, and the
  ``pubsub_publish_latency_seconds`` / ``pubsub_handler_latency_seconds`` histograms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from ..metrics import COUNTERS, HistogramSnapshot, MetricsSnapshot

if TYPE_CHECKING:
    from .sse import StreamHub

EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_LATEST


def _cumulative(histogram: HistogramSnapshot) -> list[tuple[str, float]]:
    buckets: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*histogram.buckets, float("inf")), histogram.counts, strict=True):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
    return buckets


class _AdapterCollector(Collector):
    def __init__(self, snapshots: Callable[[], Iterable[MetricsSnapshot]], hub: Callable[[], StreamHub]) -> None:
        self._snapshots = snapshots
        self._hub = hub

    def collect(self) -> Iterator[Metric]:
        labels = ["adapter", "channel"]
        counters = {
            name: CounterMetricFamily(f"pubsub_events_{name}", f"events {name.replace('_', ' ')} per channel",
                                      labels=labels)
            for name in COUNTERS if name != "in_flight"
        }
        in_flight = GaugeMetricFamily("pubsub_events_in_flight", "deliveries handed out and not yet settled",
                                      labels=labels)
        publish = HistogramMetricFamily("pubsub_publish_latency_seconds", "adapter publish latency", labels=labels)
        handler = HistogramMetricFamily("pubsub_handler_latency_seconds", "subscriber handler latency",
                                        labels=labels)
        try:
            snapshots = list(self._snapshots())
        except Exception:  # the bus is not running: nothing to report
            snapshots = []
        for snapshot in snapshots:
            for channel, metrics in sorted(snapshot.channels.items()):
                values = [snapshot.adapter, channel]
                for name, family in counters.items():
                    family.add_metric(values, float(getattr(metrics, name)))
                in_flight.add_metric(values, float(metrics.in_flight))
                publish.add_metric(values, _cumulative(metrics.publish_latency), metrics.publish_latency.sum)
                handler.add_metric(values, _cumulative(metrics.handler_latency), metrics.handler_latency.sum)
        yield from counters.values()
        yield from (in_flight, publish, handler)
        hub = self._hub()
        yield GaugeMetricFamily("pubsub_sse_clients", "open SSE streams", value=float(hub.active))
        yield CounterMetricFamily("pubsub_sse_events_sent", "events written to SSE streams",
                                  value=float(hub.sent_events))
        disconnects = CounterMetricFamily("pubsub_sse_disconnects", "SSE streams ended, by reason",
                                          labels=["reason"])
        for reason, count in sorted(hub.disconnects.items()):
            disconnects.add_metric([reason], float(count))
        yield disconnects


class ServiceMetrics:
    """The registry of one service, with the HTTP metrics its middleware records."""

    def __init__(self, snapshots: Callable[[], Iterable[MetricsSnapshot]], hub: Callable[[], StreamHub]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("pubsub_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.duration = Histogram("pubsub_http_request_duration_seconds", "HTTP request duration (to the last "
                                  "byte; for SSE streams, the stream's life)", ["method", "route"],
                                  registry=self.registry)
        self.registry.register(_AdapterCollector(snapshots, hub))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """An ASGI middleware recording every HTTP request of ``app``.

        Per request it costs a dict lookup for the labelled children (``labels()`` takes a lock and builds the
        label tuple every call), one counter increment and one histogram observation."""
        requests, duration = self.requests, self.duration
        children: dict[tuple[Any, Any, int], tuple[Any, Any]] = {}

        async def record(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def sending(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                method = scope.get("method", "")
                route = scope.get("path_template") or "unmatched"
                key = (route, method, status)
                child = children.get(key)
                if child is None:
                    child = children[key] = (requests.labels(method, route, str(status)),
                                             duration.labels(method, route))
                child[0].inc()
                child[1].observe(time.perf_counter() - started)

        return record


def metrics_middleware_factory(metrics: Callable[[], ServiceMetrics]) -> Callable[[ASGIApp], ASGIApp]:
    """A Litestar middleware factory (``middleware=[...]``) that records into the service's metrics."""

    def factory(app: ASGIApp) -> ASGIApp:
        inner: dict[str, Any] = {}

        async def call(scope: Scope, receive: Receive, send: Send) -> None:
            wrapped = inner.get("app")
            if wrapped is None:
                wrapped = inner["app"] = metrics().middleware(app)
            await wrapped(scope, receive, send)

        return call

    return factory
