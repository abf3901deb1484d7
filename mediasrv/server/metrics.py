"""``GET /metrics``: the Prometheus text format, written by prometheus-client.

One ``CollectorRegistry`` per app, never the library's global one, so that
several apps in one process (tests, a benchmark) keep their numbers apart.
What the server's parts already know (the generation served, its files,
swaps, leases, the watcher, a follower's lag) is read from them at scrape
time by one collector, so serving code keeps no counters for it. What no
part keeps is observed as it happens: finished scans through the
coordinator's ``on_finished`` hook, and request latency by one middleware,
labelled by route pattern (never the raw path, which would make a series per
file). With ``--workers N`` each process answers for itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..serve.events import Scan
from .keys import COORDINATOR, LEADER, LIBRARY
from .middleware import Handler

# A scan takes from a few milliseconds (a delta of one folder) to minutes (a
# first walk of a million files).
SCAN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                600.0, float("inf"))
# The methods the API has; any other a client invents is counted as "other", so
# that no client can make series without end.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


class Metrics:
    """The app's registry and the two things observed as they happen."""

    def __init__(self, app: web.Application) -> None:
        self.registry = CollectorRegistry()  # not auto_describe: state is read at scrape only
        self.requests = Histogram(
            "mediasrv_http_request_duration_seconds",
            "Time from a request's arrival until its handler returned, by route pattern",
            ["route", "method", "status"], registry=self.registry,
        )
        self.scans = Counter("mediasrv_scans", "Scans finished, by mode and outcome",
                             ["mode", "status"], registry=self.registry)
        self.scan_seconds = Histogram("mediasrv_scan_duration_seconds",
                                      "How long finished scans ran", buckets=SCAN_BUCKETS,
                                      registry=self.registry)
        self.registry.register(ServerState(app))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def scan_finished(self, scan: Scan) -> None:
        mode = str(scan.result.mode if scan.result is not None and scan.result.mode else "none")
        self.scans.labels(mode, scan.status).inc()
        if scan.started_at is not None and scan.finished_at is not None:
            self.scan_seconds.observe(max(0.0, scan.finished_at - scan.started_at))


METRICS = web.AppKey("metrics", Metrics)


class ServerState(Collector):
    """What the library, the coordinator, the watcher and a follower say, read at scrape time."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        library = app[LIBRARY]
        served = library.generation
        if served is not None and library.current is not None:
            yield GaugeMetricFamily("mediasrv_generation", "The generation being served",
                                    value=served)
            yield GaugeMetricFamily("mediasrv_files", "Files in the generation being served",
                                    value=library.current.file_count)
        yield CounterMetricFamily("mediasrv_swaps", "Generations put into service",
                                  value=library.swaps)
        yield GaugeMetricFamily("mediasrv_leases",
                                "Requests still reading a generation that was swapped out",
                                value=library.retired_leases())
        yield GaugeMetricFamily("mediasrv_scanning", "Whether a scan is running",
                                value=int(app[COORDINATOR].running is not None))
        leader = app[LEADER]
        watcher = leader.watcher
        if watcher is not None:
            up = watcher.status["state"] in ("watching", "polling")
            yield GaugeMetricFamily("mediasrv_watcher_up",
                                    "Whether the library is being watched for changes",
                                    value=int(up))
        follower = leader.follower
        if follower is not None:
            yield GaugeMetricFamily(
                "mediasrv_follower_lag_seconds",
                "How long the newest published generation has waited to be served here "
                "(0: caught up)", value=float(follower.info.get("lag_s") or 0.0))


def route_of(request: web.Request) -> str:
    """The route pattern a request matched (``/media/{path}``), or ``unmatched``."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Observe each request's time to its answer in ``mediasrv_http_request_duration_seconds``."""
    started = time.perf_counter()
    status = "500"
    try:
        response = await handler(request)
        status = str(response.status)
        return response
    except web.HTTPException as exc:
        status = str(exc.status)
        raise
    except asyncio.CancelledError:
        status = "cancelled"  # the client went away (or the server stops) mid-answer
        raise
    finally:
        method = request.method if request.method in METHODS else "other"
        request.app[METRICS].requests.labels(route_of(request), method, status).observe(
            time.perf_counter() - started)


async def scrape(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    """``/metrics``, its registry and the request middleware (outermost: it sees every answer)."""
    metrics = app[METRICS] = Metrics(app)
    app[COORDINATOR].on_finished.append(metrics.scan_finished)
    app.middlewares.insert(0, timing)
    app.router.add_get("/metrics", scrape)
