"""Service metrics in the Prometheus text format, written by hand (no extra dependency).

Prometheus *scrapes* ``GET /metrics`` every few seconds and stores each number as a time
series. Three kinds are enough here:

* a **counter** only goes up (requests served, reloads done); Prometheus turns it into a
  rate: ``rate(automlops_http_requests_total[5m])``;
* a **gauge** goes up and down (the model version being served);
* a **histogram** counts observations into cumulative buckets (``le`` = "less or equal"),
  from which ``histogram_quantile(0.99, ...)`` estimates latency percentiles.

The format is plain text, one ``name{label="value"} number`` per line, described at
https://prometheus.io/docs/instrumenting/exposition_formats/.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


class Metrics:
    """Thread-safe counters and histograms of one service process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._latency_counts: dict[str, list[int]] = {}
        self._latency_sum: dict[str, float] = defaultdict(float)
        self._reloads: dict[str, int] = defaultdict(int)
        self._rows_predicted: dict[tuple[str, str], int] = defaultdict(int)
        self._gauges: dict[str, Callable[[], Iterable[tuple[dict[str, str], float]]]] = {}
        self._help: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------ recording
    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request and put its duration in the latency histogram."""
        with self._lock:
            self._requests[(route, method, str(status))] += 1
            counts = self._latency_counts.get(route)
            if counts is None:
                counts = self._latency_counts[route] = [0] * (len(LATENCY_BUCKETS) + 1)
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self._latency_sum[route] += seconds

    def model_reload(self, result: str) -> None:
        """``result`` is ``"success"`` or ``"refused"`` (a version that failed verification)."""
        with self._lock:
            self._reloads[result] += 1

    def rows_predicted(self, name: str, version: int, n: int) -> None:
        with self._lock:
            self._rows_predicted[(name, str(version))] += n

    def reloads(self, result: str) -> int:
        with self._lock:
            return self._reloads[result]

    def gauge(self, name: str, help_text: str, read: Callable[[], Iterable[tuple[dict[str, str], float]]],
              kind: str = "gauge") -> None:
        """Register a value read at scrape time: ``read()`` yields ``(labels, value)`` pairs."""
        self._gauges[name] = read
        self._help[name] = (help_text, kind)

    # ------------------------------------------------------------------ exposition
    def render(self) -> str:
        """The whole exposition, ready to return from ``GET /metrics``."""
        with self._lock:
            requests = dict(self._requests)
            latency = {k: list(v) for k, v in self._latency_counts.items()}
            sums = dict(self._latency_sum)
            reloads = {"success": self._reloads["success"], "refused": self._reloads["refused"]}
            rows = dict(self._rows_predicted)
        out: list[str] = []
        out += ["# HELP automlops_http_requests_total HTTP requests answered, by route, method and status.",
                "# TYPE automlops_http_requests_total counter"]
        for (route, method, status), n in sorted(requests.items()):
            out.append(f"automlops_http_requests_total{_labels([('route', route), ('method', method), ('status', status)])} {n}")
        out += ["# HELP automlops_http_request_duration_seconds Time to answer an HTTP request, by route.",
                "# TYPE automlops_http_request_duration_seconds histogram"]
        for route, counts in sorted(latency.items()):
            running = 0
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                out.append(f"automlops_http_request_duration_seconds_bucket{_labels([('route', route), ('le', le)])} {running}")
            out.append(f"automlops_http_request_duration_seconds_sum{_labels([('route', route)])} {sums[route]!r}")
            out.append(f"automlops_http_request_duration_seconds_count{_labels([('route', route)])} {running}")
        out += ["# HELP automlops_model_reloads_total Model versions swapped in (success) or refused by "
                "verification (refused).", "# TYPE automlops_model_reloads_total counter"]
        out += [f"automlops_model_reloads_total{_labels([('result', r)])} {n}" for r, n in reloads.items()]
        out += ["# HELP automlops_predictions_total Rows predicted, by model name and version.",
                "# TYPE automlops_predictions_total counter"]
        out += [f"automlops_predictions_total{_labels([('model', m), ('version', v)])} {n}"
                for (m, v), n in sorted(rows.items())]
        for name, read in self._gauges.items():
            help_text, kind = self._help[name]
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            out += [f"{name}{_labels(sorted(labels.items()))} {_number(value)}" for labels, value in read()]
        return "\n".join(out) + "\n"
