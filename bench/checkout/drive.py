"""Concurrent HTTP clients on the standard library alone (importable by any script, no Django needed)."""

import http.client
import json
import statistics
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: Any
    headers: dict[str, str]


def request(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 120
) -> Response:
    """One request on a connection of its own (gunicorn's sync workers close it after each answer anyway)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})} if payload is not None else dict(headers or {})
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=payload, headers=sent)
        answer = connection.getresponse()
        raw = answer.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Response(status=answer.status, body=parsed, headers=dict(answer.getheaders()))
    finally:
        connection.close()


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass(slots=True)
class Run:
    """What one scenario against one server gave: wall time and, per operation, (status, seconds, body)."""

    seconds: float
    results: list[tuple[int, float, Any]] = field(default_factory=list)

    @property
    def statuses(self) -> Counter:
        return Counter(status for status, _, _ in self.results)

    @property
    def succeeded(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def rate(self) -> float:
        """Successful operations per second."""
        return self.succeeded / self.seconds if self.seconds else 0.0

    def latency_ms(self, share: float) -> float:
        return percentile([elapsed * 1000 for _, elapsed, _ in self.results], share)

    @property
    def max_ms(self) -> float:
        return max((elapsed * 1000 for _, elapsed, _ in self.results), default=0.0)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def codes(self) -> Counter:
        """The ``code`` of each refusal's JSON body."""
        return Counter(body.get("code") for status, _, body in self.results if status >= 400 and isinstance(body, dict))


def run_clients(clients: int, items: Sequence[Any], operation: Callable[[Any], tuple[int, Any]]) -> Run:
    """``clients`` threads released together, each working through its share of ``items`` one at a time;
    ``operation(item)`` returns (status, body) and is timed from its start to its end."""
    start = threading.Barrier(clients)
    lock = threading.Lock()
    run = Run(seconds=0.0)

    def client(chunk: Sequence[Any]) -> None:
        start.wait()
        for item in chunk:
            began = time.perf_counter()
            try:
                status, answer = operation(item)
            except OSError as error:  # refused or reset: counted as a failure, not a crash of the bench
                status, answer = 599, str(error)
            elapsed = time.perf_counter() - began
            with lock:
                run.results.append((status, elapsed, answer))

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, [items[i::clients] for i in range(clients)]))
    run.seconds = time.perf_counter() - began
    return run


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
