"""Pricing benchmark: a quote of a 50-line basket under 20 live promotions and a voucher.

Run against PostgreSQL (the database is created and migrated if missing)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/pricing.py

Without ``DATABASE_URL`` it runs on a SQLite file of its own (``var/bench_pricing.sqlite3``).
The script creates its own data (SKUs ``BENCH-000``…, promotions named ``bench …``, voucher
``BENCH10``), replacing what an earlier run left. Figures printed:

- ``api.quote``: database queries per quote, quotes per second (one thread, warm), mean latency;
- ``api.quote`` of the same basket shipped to DE with ``standard`` shipping and VAT (every fifth SKU at
  the reduced rate), prices including tax and (``PRICES_INCLUDE_TAX`` off) excluding it: queries per
  quote, quotes per second;
- ``api.prices_for`` of the same 50 SKUs with category ids: queries per call, calls per second;
- ``api.set_base_prices`` of 10 000 SKUs (``BATCH-…``, in calls of 5 000): a first write, an unchanged
  re-run and a re-run changing every price: seconds, items per second, queries on pricing's database
  (its own and the outbox's). Delivery of the PriceChanged events is held back while timing (as when
  a worker delivers); a sample is then delivered in process to show what inline delivery costs.
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
BATCH_ITEMS = 10_000
BATCH_CALL = 5_000
PROMOTIONS = 20
SECONDS = 5.0


def build_data():
    from contexts.pricing import api as pricing_api
    from contexts.pricing.models import Price, Promotion, Voucher, VoucherRedemption

    VoucherRedemption.objects.filter(voucher__code="BENCH10").delete()
    Voucher.objects.filter(code="BENCH10").delete()
    Promotion.objects.filter(name__startswith="bench ").delete()
    Price.objects.filter(sku__startswith="BENCH-").delete()

    skus = [f"BENCH-{n:03}" for n in range(LINES)]
    for n, sku in enumerate(skus):
        tax_class = "reduced" if n % 5 == 1 else "standard"
        pricing_api.set_base_price(
            sku=sku, currency="EUR", amount=Decimal(5 + n) + Decimal("0.99"), tax_class=tax_class
        )
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
    # shipping and VAT: created once, left as they are afterwards
    pricing_api.ensure_tax_rate(country="DE", tax_class="standard", rate=Decimal(19))
    pricing_api.ensure_tax_rate(country="DE", tax_class="reduced", rate=Decimal(7))
    pricing_api.ensure_shipping_method(code="bench-standard", name="Bench standard", delivery_days=3)
    pricing_api.ensure_shipping_zone(name="bench DE", countries=["DE"])
    pricing_api.ensure_shipping_rate(
        method="bench-standard", zone="bench DE", currency="EUR", price=Decimal("4.90"), free_over=Decimal(5000)
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
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate_all", verbosity=0)  # creates the PostgreSQL database(s) if missing
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
    from django.test import override_settings

    for include in (True, False):
        with override_settings(PRICES_INCLUDE_TAX=include):

            def shipped():
                return pricing_api.quote(
                    lines=lines,
                    currency="EUR",
                    voucher_codes=["bench10"],
                    customer_id=1,
                    country="DE",
                    shipping_method="bench-standard",
                )

            taxed = shipped()
            assert taxed.shipping_total == Decimal("4.90") and taxed.tax_total > 0
            queries, rate, mean_ms = measure(shipped)
        mode = "incl. tax" if include else "excl. tax"
        print(
            f"quote to DE with shipping and VAT ({mode}): {queries} queries/quote, {rate:,.0f} quotes/s, "
            f"{mean_ms:.2f} ms mean (total {taxed.total}, tax {taxed.tax_total})"
        )
    categories = {sku: [1 + n % 8] for n, sku in enumerate(skus)}
    queries, rate, mean_ms = measure(lambda: pricing_api.prices_for(skus=skus, currency="EUR", category_ids=categories))
    print(f"prices_for: {queries} queries/call for {len(skus)} SKUs, {rate:,.0f} calls/s, {mean_ms:.2f} ms mean")
    bench_batches()


def bench_batches() -> None:
    """set_base_prices' own cost, with event delivery held back (as when a worker delivers), then the
    cost of delivering a sample of the PriceChanged it published to their subscribers, in process."""
    from unittest import mock

    from django.db import connections

    from commerce.database import database_for
    from commerce.eventbus import dispatch
    from commerce.eventbus.delivery import deliver_many
    from contexts.pricing import api as pricing_api
    from contexts.pricing.models import Price

    Price.objects.filter(sku__startswith="BATCH-").delete()
    held: list[tuple[str, int]] = []

    def hold(alias, delivery_ids) -> None:
        held.extend((alias, pk) for pk in delivery_ids)

    def run(amount: Decimal) -> tuple[float, int, pricing_api.PriceBatchResult]:
        prices = [
            pricing_api.PriceInput(sku=f"BATCH-{n:05}", currency="EUR", amount=amount) for n in range(BATCH_ITEMS)
        ]
        totals = [0, 0, 0]
        counts = {"own": 0, "outbox": 0}

        def count(execute, sql, params, many, context):
            counts["outbox" if "eventbus_" in sql else "own"] += 1
            return execute(sql, params, many, context)

        connection = connections[database_for("pricing")]
        with mock.patch.object(dispatch, "dispatch", hold), connection.execute_wrapper(count):
            started = time.perf_counter()
            for start in range(0, len(prices), BATCH_CALL):
                result = pricing_api.set_base_prices(prices=prices[start : start + BATCH_CALL])
                totals = [totals[0] + result.created, totals[1] + result.updated, totals[2] + result.unchanged]
            seconds = time.perf_counter() - started
        own, queries = counts["own"], counts["own"] + counts["outbox"]
        summary = pricing_api.PriceBatchResult(created=totals[0], updated=totals[1], unchanged=totals[2])
        return seconds, (own, queries), summary

    print(f"set_base_prices, {BATCH_ITEMS:,} items in calls of {BATCH_CALL:,} (event delivery held back):")
    for label, amount in (("first write", "9.99"), ("unchanged re-run", "9.99"), ("every price changed", "10.49")):
        seconds, (own, queries), result = run(Decimal(amount))
        print(
            f"  {label:<20} {seconds:6.2f} s, {BATCH_ITEMS / seconds:>9,.0f} items/s; "
            f"{own} pricing queries, {queries - own} outbox queries; "
            f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}"
        )
    sample = held[:500]
    started = time.perf_counter()
    for alias in sorted({alias for alias, _ in sample}):
        deliver_many(alias, [pk for a, pk in sample if a == alias])  # as inline dispatch does after commit
    per_event = (time.perf_counter() - started) / max(len(sample), 1)
    print(
        f"  delivering PriceChanged in process: {per_event * 1000:.2f} ms per delivery (sample of {len(sample)}); "
        f"the {len(held):,} deliveries above would take ~{per_event * len(held):.0f} s inline "
        f"({len(held) - len(sample):,} left queued for the sweep)"
    )
    Price.objects.filter(sku__startswith="BATCH-").delete()


if __name__ == "__main__":
    main()
