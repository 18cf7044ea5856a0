"""Checkout benchmark: real parallel checkouts through gunicorn (2 workers) on PostgreSQL.

Run against a PostgreSQL database of its own (created and migrated if missing)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/checkout.py

Figures printed:
- checkouts per second and latency percentiles with ``BENCH_CLIENTS`` (16) concurrent clients, each
  checkout a guest cart of one line: on SKUs spread over ``BENCH_SKUS`` (64) products, then all on
  one hot SKU (plenty of stock), and their ratio (target: hot ≥ 0.5 × spread);
- a flash sale: 200 buyers for 50 units of one SKU: confirmed, insufficient_stock, other answers
  (must be 50 / 150 / 0), captures in the gateway, stock never negative, ledger balanced;
- database queries per checkout (one checkout in process, every database alias counted);
- the time each saga step takes (from the saga log of the orders made in the run: mean, p50, p95).
``BENCH_CHECKOUTS`` (default 400 per scenario), ``BENCH_PORT`` (8151) and ``BENCH_WORKERS`` (2) tune it.
"""

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")  # no mail on the console
os.environ.setdefault("LOG_LEVEL", "ERROR")

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
CHECKOUTS = int(os.environ.get("BENCH_CHECKOUTS", "400"))
SKUS = int(os.environ.get("BENCH_SKUS", "64"))
PORT = int(os.environ.get("BENCH_PORT", "8151"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
ADDRESS = {
    "full_name": "Bench Buyer",
    "line1": "Hauptstrasse 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


def ensure_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/commerce_bench")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def setup_shop(prefix: str) -> tuple[list[str], str, str]:
    from decimal import Decimal

    from contexts.catalogue.services import products
    from contexts.inventory import api as inventory_api
    from contexts.pricing import api as pricing_api
    from tests.catalogue.factories import CategoryFactory, ProductFactory

    inventory_api.ensure_warehouse(code="BENCH")
    pricing_api.ensure_shipping_zone(name="Bench DE", countries=["DE"])
    pricing_api.ensure_shipping_method(code="standard", name="Standard", delivery_days=3)
    pricing_api.ensure_shipping_rate(method="standard", zone="Bench DE", currency="EUR", price=Decimal("4.90"))
    pricing_api.ensure_tax_rate(country="DE", tax_class="standard", rate=Decimal("19.00"))
    category = CategoryFactory(name=f"Bench {prefix}")

    def product(sku: str, stock: int) -> None:
        ProductFactory(
            slug=sku.lower(), name=sku, category=category, variants=[products.VariantSpec(sku=sku, name="One")]
        )
        pricing_api.set_base_price(sku=sku, currency="EUR", amount=Decimal("10.00"))
        inventory_api.set_stock_level(sku=sku, warehouse_code="BENCH", on_hand=stock, reference=f"bench-{prefix}")

    spread = [f"{prefix}-S{i:03d}" for i in range(SKUS)]
    for sku in spread:
        product(sku, 100_000)
    hot, flash = f"{prefix}-HOT", f"{prefix}-FLASH"
    product(hot, 1_000_000)
    product(flash, 50)
    return spread, hot, flash


def carts_for(skus: list[str]) -> list[str]:
    from contexts.cart import api as cart_api

    ids = []
    for sku in skus:
        cart = cart_api.create_cart(customer_id=None, currency="EUR").cart
        cart_api.add_line(cart_id=cart.id, customer_id=None, sku=sku, quantity=1)
        ids.append(str(cart.id))
    return ids


def body(cart_id: str) -> dict:
    return {
        "cart_id": cart_id,
        "email": "bench@example.com",
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        "payment": {"token": "tok_ok"},
    }


def run_clients(base: str, cart_ids: list[str]) -> tuple[float, list[tuple[int, float, object]]]:
    from tests.support.http import request

    start = threading.Barrier(CLIENTS)
    chunks = [cart_ids[i::CLIENTS] for i in range(CLIENTS)]
    results: list[tuple[int, float, object]] = []
    lock = threading.Lock()

    def client(chunk: list[str]) -> None:
        start.wait()
        for cart_id in chunk:
            began = time.perf_counter()
            response = request("POST", f"{base}/api/v1/checkout", body(cart_id), {"Idempotency-Key": uuid.uuid4().hex})
            elapsed = time.perf_counter() - began
            with lock:
                results.append((response.status, elapsed, response.body))

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, chunks))
    return time.perf_counter() - began, results


def report(name: str, seconds: float, results: list) -> float:
    latencies = [elapsed * 1000 for _, elapsed, _ in results]
    statuses = Counter(status for status, _, _ in results)
    rate = statuses.get(201, 0) / seconds
    print(
        f"  {name:<7} {len(results)} checkouts in {seconds:5.1f} s: {rate:6.1f} checkouts/s; "
        f"latency ms p50 {percentile(latencies, 0.5):6.0f}  p95 {percentile(latencies, 0.95):6.0f}  "
        f"p99 {percentile(latencies, 0.99):6.0f}  max {max(latencies):6.0f}; statuses {dict(statuses)}"
    )
    return rate


def start_server() -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "commerce.settings"}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "commerce.wsgi",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    from tests.support.http import request

    for _ in range(100):
        time.sleep(0.2)
        try:
            if request("GET", f"http://127.0.0.1:{PORT}/health/live", timeout=2).status == 200:
                return process
        except OSError:
            continue
    process.terminate()
    sys.exit("gunicorn did not start")


def queries_per_checkout(sku: str) -> int:
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from commerce.database import context_aliases

    (cart_id,) = carts_for([sku])
    client = Client()
    contexts = [CaptureQueriesContext(connections[alias]) for alias in context_aliases()]
    for context in contexts:
        context.__enter__()
    try:
        response = client.post(
            "/api/v1/checkout", body(cart_id), content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    assert response.status_code == 201, response.content
    return sum(len(context.captured_queries) for context in contexts)


def main() -> None:
    ensure_database()
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate_all", verbosity=0)
    from contexts.inventory import api as inventory_api
    from contexts.inventory import selectors as inventory_selectors
    from contexts.inventory.models import StockLevel
    from contexts.orders.models import GatewayCharge, Order, SagaStep
    from contexts.orders.services import money_position

    prefix = f"CB{int(time.time())}"
    spread, hot, flash = setup_shop(prefix)
    started_at = timezone.now()
    print(f"checkout bench: gunicorn {WORKERS} workers, {CLIENTS} clients, {CHECKOUTS} checkouts per scenario")
    print(f"  queries per checkout (in process, all databases): {queries_per_checkout(spread[0])}")
    spread_carts = carts_for([spread[i % len(spread)] for i in range(CHECKOUTS)])
    hot_carts = carts_for([hot] * CHECKOUTS)
    flash_carts = carts_for([flash] * 200)
    server = start_server()
    try:
        base = f"http://127.0.0.1:{PORT}"
        spread_rate = report("spread", *run_clients(base, spread_carts))
        hot_rate = report("hot", *run_clients(base, hot_carts))
        print(f"  hot / spread ratio: {hot_rate / spread_rate:.2f} (target >= 0.50)")
        seconds, flash_results = run_clients(base, flash_carts)
        statuses = Counter(status for status, _, _ in flash_results)
        codes = Counter(
            result.get("code") for status, _, result in flash_results if status != 201 and isinstance(result, dict)
        )
        captures = GatewayCharge.objects.filter(status="captured", created_at__gte=started_at).count()
        level_ok = not StockLevel.objects.filter(on_hand__lt=0).exists()
        print(
            f"  flash sale: 200 buyers, 50 units in {seconds:.1f} s: {statuses.get(201, 0)} confirmed, "
            f"{codes.get('insufficient_stock', 0)} insufficient_stock, "
            f"{sum(n for s, n in statuses.items() if s >= 500)} 5xx, other {dict(codes)}; "
            f"available now {inventory_api.get_availability(skus=[flash])[flash].available}; "
            f"stock never negative: {level_ok}; ledger mismatches: {len(inventory_selectors.ledger_mismatches())}"
        )
        print(f"  flash-sale orders confirmed: {Order.objects.filter(lines__sku=flash, status='confirmed').count()}")
        print(
            f"  captures in the gateway this run: {captures}; money position differences: {len(money_position().differences)}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("  saga steps (ms):   mean    p50    p95")
    steps: dict[str, list[float]] = {}
    for name, duration in SagaStep.objects.filter(started_at__gte=started_at, compensation=False).values_list(
        "name", "duration_ms"
    ):
        steps.setdefault(name, []).append(duration)
    for name in (
        "reserve_stock",
        "redeem_voucher",
        "authorize_payment",
        "capture_payment",
        "commit_reservation",
        "close_cart",
        "confirm_order",
    ):
        values = steps.get(name, [])
        if values:
            print(
                f"    {name:<19} {statistics.fmean(values):6.1f} {percentile(values, 0.5):6.1f} {percentile(values, 0.95):6.1f}"
            )


if __name__ == "__main__":
    main()
