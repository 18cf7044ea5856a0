"""Pricing benchmark: a quote of a 50-line basket under 20 live promotions and a voucher.

Run against PostgreSQL (the database is created and migrated if missing)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/pricing.py

Without ``DATABASE_URL`` it runs on a SQLite file of its own (``var/bench_pricing.sqlite3``).
The script creates its own data (SKUs ``BENCH-000``…, promotions named ``bench …``, voucher
``BENCH10``), replacing what an earlier run left. Figures printed:

- ``api.quote``: database queries per quote, quotes per second (one thread, warm), mean latency;
- ``api.prices_for`` of the same 50 SKUs with category ids: queries per call, calls per second.
"""

import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
if not os.environ.get("DATABASE_URL"):
    (ROOT / "var").mkdir(exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench_pricing.sqlite3'}"

LINES = 50
PROMOTIONS = 20
SECONDS = 5.0


def ensure_postgres_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    with psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{config["NAME"]}"')


def build_data():
    from contexts.pricing import api as pricing_api
    from contexts.pricing.models import Price, Promotion, Voucher, VoucherRedemption

    VoucherRedemption.objects.filter(voucher__code="BENCH10").delete()
    Voucher.objects.filter(code="BENCH10").delete()
    Promotion.objects.filter(name__startswith="bench ").delete()
    Price.objects.filter(sku__startswith="BENCH-").delete()

    skus = [f"BENCH-{n:03}" for n in range(LINES)]
    for n, sku in enumerate(skus):
        pricing_api.set_base_price(sku=sku, currency="EUR", amount=Decimal(5 + n) + Decimal("0.99"))
        if n % 5 == 0:
            pricing_api.set_sale_price(sku=sku, currency="EUR", amount=Decimal(4 + n))
    for n in range(PROMOTIONS):
        common = {"name": f"bench {n}", "priority": n % 3, "stacks": n % 4 == 0}
        if n < 10:  # SKU-scoped, percentage and fixed
            kind, value = ("percentage", Decimal(5 + n)) if n % 2 else ("fixed", Decimal("0.50"))
            pricing_api.create_promotion(
                **common, kind=kind, value=value, currency="EUR", scope="skus", skus=skus[n * 5 : n * 5 + 5]
            )
        elif n < 17:  # category-scoped
            pricing_api.create_promotion(
                **common, kind="percentage", value=Decimal(n - 5), scope="categories", category_ids=[n - 9]
            )
        else:  # basket, with minimum subtotals
            pricing_api.create_promotion(
                **common,
                kind="fixed",
                value=Decimal(n - 12),
                currency="EUR",
                scope="basket",
                min_subtotal=Decimal(100 * (n - 16)),
            )
    pricing_api.create_voucher(
        code="BENCH10", kind="percentage", value=Decimal(10), currency="EUR", min_spend=Decimal(20)
    )
    lines = [
        pricing_api.QuoteLineRequest(sku=sku, quantity=1 + n % 4, category_ids=(1 + n % 8,))
        for n, sku in enumerate(skus)
    ]
    return skus, lines


def measure(call) -> tuple[int, float, float]:
    """(queries per call, calls per second, mean ms) over ~SECONDS of back-to-back calls."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from commerce.database import database_for

    with CaptureQueriesContext(connections[database_for("pricing")]) as captured:
        call()
    queries = len(captured.captured_queries)
    for _ in range(20):  # warm up
        call()
    timings = []
    started = time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        t0 = time.perf_counter()
        call()
        timings.append(time.perf_counter() - t0)
    return queries, len(timings) / sum(timings), statistics.mean(timings) * 1000


def main() -> None:
    ensure_postgres_database()
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from contexts.pricing import api as pricing_api

    skus, lines = build_data()
    sample = pricing_api.quote(lines=lines, currency="EUR", voucher_codes=["bench10"], customer_id=1)
    assert sample.vouchers and not sample.refused_vouchers
    assert sum(line.total for line in sample.lines) == sample.total

    print(f"pricing bench on {connection.vendor} ({connection.settings_dict['NAME']})")
    print(
        f"basket: {LINES} lines, {PROMOTIONS} live promotions ({len(sample.promotions)} applied), voucher BENCH10; "
        f"subtotal {sample.subtotal} EUR, discount {sample.discount_total}, total {sample.total}"
    )
    queries, rate, mean_ms = measure(
        lambda: pricing_api.quote(lines=lines, currency="EUR", voucher_codes=["bench10"], customer_id=1)
    )
    print(f"quote:      {queries} queries/quote, {rate:,.0f} quotes/s, {mean_ms:.2f} ms mean (1 thread)")
    categories = {sku: [1 + n % 8] for n, sku in enumerate(skus)}
    queries, rate, mean_ms = measure(lambda: pricing_api.prices_for(skus=skus, currency="EUR", category_ids=categories))
    print(f"prices_for: {queries} queries/call for {len(skus)} SKUs, {rate:,.0f} calls/s, {mean_ms:.2f} ms mean")


if __name__ == "__main__":
    main()
