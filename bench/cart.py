"""Cart benchmark: the cart's hot paths against the product list, under a real WSGI server, in one run.

Run against a PostgreSQL database of its own (created, migrated and given the demo shop if missing;
its carts are emptied first)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_cart_bench .venv/bin/python bench/cart.py

It starts gunicorn (2 sync workers, ``BENCH_PORT``, default 8141) and drives it with 16 concurrent
clients (a small bounded threaded client on ``http.client``), each scenario for ``BENCH_SECONDS``
(default 10) in all, in ``BENCH_ROUNDS`` (default 5) interleaved rounds (list, create+add, get, list,
...): on a machine shared with other work, a load that changes during the run then weighs on the
three scenarios alike instead of on whichever ran at that moment:

- ``list``: ``GET /api/v1/products?page=N`` (the reference);
- ``create+add``: ``POST /carts`` then ``POST /carts/{id}/lines`` (one operation = both writes);
- ``get 20-line cart``: ``GET /carts/{id}`` of carts holding 20 lines, ``WELCOME10`` and standard
  shipping to Germany.

Printed: requests or operations per second, latency percentiles (ms), database queries per request
(counted in process through ``django.test.Client``, since gunicorn's workers are other processes), and
the two ratios of issue 11: create+add ops/s ÷ list req/s (≥ 0.5 wanted) and the median latency of
getting a 20-line cart ÷ that of a list request (≤ 2 wanted). Figures, never asserted in tests.
"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

PORT = int(os.environ.get("BENCH_PORT", "8141"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
HOST = "127.0.0.1"


def ensure_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/commerce_cart_bench"
        )


def request(method: str, path: str, body: dict | None = None) -> tuple[int, dict | list | None]:
    connection = http.client.HTTPConnection(HOST, PORT, timeout=30)
    try:
        payload = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)
    finally:
        connection.close()


def drive(operation, seconds: float) -> tuple[list[float], list[str], float, float]:
    """Drive ``operation(rng)`` from CLIENTS threads for ``seconds``; each call is one timed operation.
    Returns every operation's latency, the errors, the window and the operations done within it."""
    spans: list[tuple[float, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)
    stop = [0.0]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        if start.wait() == 0:
            stop[0] = time.perf_counter() + seconds
        start.wait()
        while time.perf_counter() < stop[0]:
            began = time.perf_counter()
            try:
                operation(rng)
            except Exception as error:  # reported, not hidden
                with lock:
                    errors.append(repr(error)[:200])
                continue
            mine.append((began, time.perf_counter()))
        with lock:
            spans.extend(mine)

    threads = [threading.Thread(target=client, args=(random.randrange(2**32),)) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # An operation still running at the end counts for the share of it done within the window: the
    # window's throughput with every client busy throughout, whatever an operation's length.
    done = sum(1.0 if end <= stop[0] else max(stop[0] - began, 0.0) / (end - began) for began, end in spans)
    return [end - began for began, end in spans], errors, seconds, done


def run(scenarios: list[tuple[str, object, int]]) -> dict[str, dict]:
    """Each scenario for SECONDS in all, in ROUNDS interleaved rounds; figures per scenario."""
    collected = {label: ([], [], 0.0, 0.0) for label, _, _ in scenarios}
    for _ in range(ROUNDS):
        for label, operation, _ in scenarios:
            latencies, errors, elapsed, done = drive(operation, SECONDS / ROUNDS)
            previous = collected[label]
            collected[label] = (
                previous[0] + latencies,
                previous[1] + errors,
                previous[2] + elapsed,
                previous[3] + done,
            )
    results = {}
    for label, _, requests_per_op in scenarios:
        latencies, errors, elapsed, done = collected[label]
        latencies.sort()

        def pct(p: float, latencies=latencies) -> float:
            return (
                latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else float("nan")
            )

        figures = {
            "label": label,
            "ops": len(latencies),
            "rate": done / elapsed,
            "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
            "p90": pct(90),
            "p99": pct(99),
            "errors": len(errors),
        }
        unit = "ops/s" if requests_per_op > 1 else "req/s"
        print(
            f"  {label:18} {figures['rate']:7.1f} {unit}  p50 {figures['p50']:6.1f} ms  p90 {figures['p90']:6.1f} ms  "
            f"p99 {figures['p99']:6.1f} ms  ({figures['ops']} in {elapsed:.1f} s, {len(errors)} errors)"
        )
        if errors:
            print(f"    first error: {errors[0]}")
        results[label] = figures
    return results


def queries_per_request(scenarios: dict) -> None:
    """Database queries each scenario's requests make, counted in this process (all aliases)."""
    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    print("queries per request (in process, django.test.Client):")
    for label, make in scenarios.items():
        make(client)  # warm up
        captures = [CaptureQueriesContext(connections[alias]) for alias in settings.DATABASES]
        for capture in captures:
            capture.__enter__()
        count = make(client)
        for capture in captures:
            capture.__exit__(None, None, None)
        queries = sum(len(capture.captured_queries) for capture in captures)
        print(f"  {label:18} {queries / count:5.1f} queries/request")


def main() -> None:
    ensure_database()
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command

    from contexts.cart.models import Cart
    from contexts.catalogue import api as catalogue_api
    from contexts.catalogue.models import ListingEntry, Variant
    from contexts.inventory import api as inventory_api

    call_command("migrate_all", verbosity=0)
    call_command("seed_demo", verbosity=0)
    Cart.objects.all().delete()
    skus = list(Variant.objects.filter(product__is_published=True).values_list("sku", flat=True))
    available = inventory_api.get_availability(skus=skus)
    priced = {sku for sku, info in catalogue_api.get_variants(skus=skus).items() if info.published}
    sellable = sorted(sku for sku in skus if sku in priced and available[sku].available >= 2)
    pages = max(ListingEntry.objects.count() // 24, 1)
    print(f"demo shop: {len(skus)} published SKUs, {len(sellable)} with 2+ available, {pages} list pages")

    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "commerce.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"{HOST}:{PORT}",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                if request("GET", "/health/live")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("gunicorn did not start")

        def make_full_cart(rng: random.Random) -> str:
            status, cart = request("POST", "/api/v1/carts", {})
            for sku in rng.sample(sellable, 20):
                status, body = request("POST", f"/api/v1/carts/{cart['id']}/lines", {"sku": sku, "quantity": 1})
                assert status == 201, body
            status, body = request("POST", f"/api/v1/carts/{cart['id']}/vouchers", {"code": "WELCOME10"})
            assert status == 200, body
            status, body = request(
                "PATCH", f"/api/v1/carts/{cart['id']}", {"country": "DE", "shipping_method": "standard"}
            )
            assert status == 200, body
            return cart["id"]

        setup_rng = random.Random(1)
        full_carts = [make_full_cart(setup_rng) for _ in range(CLIENTS)]

        def product_list(rng: random.Random) -> None:
            status, _ = request("GET", f"/api/v1/products?page={rng.randrange(1, pages + 1)}")
            assert status == 200, status

        def create_and_add(rng: random.Random) -> None:
            status, cart = request("POST", "/api/v1/carts", {})
            assert status == 201, (status, cart)
            status, body = request(
                "POST", f"/api/v1/carts/{cart['id']}/lines", {"sku": rng.choice(sellable), "quantity": 1}
            )
            assert status == 201, (status, body)

        def get_full_cart(rng: random.Random) -> None:
            status, body = request("GET", f"/api/v1/carts/{rng.choice(full_carts)}")
            assert status == 200 and len(body["lines"]) == 20, status

        print(
            f"gunicorn: {WORKERS} sync workers; {CLIENTS} concurrent clients, {SECONDS:.0f} s per scenario "
            f"in {ROUNDS} interleaved rounds"
        )
        for warm in (product_list, create_and_add, get_full_cart):
            warm(random.Random(0))
        figures = run(
            [
                ("list", product_list, 1),
                ("create+add", create_and_add, 2),
                ("get 20-line cart", get_full_cart, 1),
            ]
        )
        listing, writes, reads = figures["list"], figures["create+add"], figures["get 20-line cart"]
    finally:
        server.terminate()
        server.wait(timeout=30)

    def list_page(client) -> int:
        assert client.get("/api/v1/products?page=2").status_code == 200
        return 1

    def create_add(client) -> int:
        cart = client.post("/api/v1/carts", {}, content_type="application/json").json()
        response = client.post(
            f"/api/v1/carts/{cart['id']}/lines", {"sku": sellable[0], "quantity": 1}, content_type="application/json"
        )
        assert response.status_code == 201
        return 2

    def get_cart(client) -> int:
        assert client.get(f"/api/v1/carts/{full_carts[0]}").status_code == 200
        return 1

    queries_per_request({"list": list_page, "create+add": create_add, "get 20-line cart": get_cart})
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print("ratios (issue 11):")
    print(f"  create+add ops/s / list req/s           = {writes['rate'] / listing['rate']:.2f}   (wanted >= 0.50)")
    print(f"  p50 get 20-line cart / p50 list request = {reads['p50'] / listing['p50']:.2f}   (wanted <= 2.00)")


if __name__ == "__main__":
    main()
