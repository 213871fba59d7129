"""Prometheus metrics: what each process counts, and the operator-only /metrics page.

Two kinds of figures, chosen by where the truth lives (docs/deploy.md lists them):

- Counted in the process that sees the event: HTTP requests (by view, method and status)
  and cache fail-opens. gunicorn runs several worker processes, so with
  PROMETHEUS_MULTIPROC_DIR set prometheus_client keeps these in files there and a scrape
  of any worker adds up all of them (gunicorn.conf.py wipes the folder at start and
  forgets dead workers).
- Read at scrape time, by collectors the project registers (config/metrics.py): queue
  depth from the broker, the outbox backlog and submit-to-e-mail latency from the
  database. Those are the same whichever process answers, and need nothing from the
  Celery workers, which run in other processes or containers without an endpoint.
"""

import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "cohortlabs_http_request_duration_seconds",
    "Time to answer an HTTP request, by view (URL name), method and status.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE_FAIL_OPENS = Counter(
    "cohortlabs_cache_fail_opens_total",
    "Cache calls that failed and were answered without the cache (the cache was down).",
    ["cache"],
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def cache_fail_open(cache: str = "default") -> None:
    """Count one cache call that failed open (call it where the failure is swallowed)."""
    CACHE_FAIL_OPENS.labels(cache=cache).inc()


class MetricsMiddleware:
    """Times every request that reaches Django and counts it by view and status.

    The view label is the URL pattern's name, never the path, so that ids in URLs do not
    make a new series each; requests that match no URL are labelled "<unmatched>".
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        REQUEST_SECONDS.labels(
            view=(match.view_name if match and match.view_name else "<unmatched>"),
            method=request.method if request.method in METHODS else "other",
            status=str(response.status_code),
        ).observe(time.perf_counter() - start)
        return response


def _registry(extra: Iterable[Collector]) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every worker's files added up
    else:
        registry.register(_Forward(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return registry


class _Forward(Collector):
    """This process's own metrics (single-process servers: runserver, tests)."""

    def __init__(self, source: CollectorRegistry):
        self.source = source

    def collect(self):
        return self.source.collect()


def is_operator(request: HttpRequest) -> bool:
    """True for `Authorization: Bearer <METRICS_TOKEN>`; nobody when the token is unset."""
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and constant_time_compare(given, token)


def metrics_response(
    request: HttpRequest, collectors: Callable[[], Iterable[Collector]]
) -> HttpResponse:
    """The Prometheus text page for the operator; a plain 404 for anyone else."""
    if not is_operator(request):
        raise Http404
    response = HttpResponse(
        generate_latest(_registry(collectors())), content_type=CONTENT_TYPE_LATEST
    )
    response["Cache-Control"] = "no-store"
    return response
