"""The shop's side of the checkout benchmark: its catalogue, its carts, its query count and its verdict.

Self-contained on purpose (it imports only the shop's own code, never ``bench``): ``bench/checkout`` runs
this file as a script in a subprocess, with the code under test first on ``PYTHONPATH`` (the working tree,
or the baseline commit's worktree) and that server's own database in ``DATABASE_URL``, so the baseline's
carts, query count and ledger are made and read by the baseline's own code::

    PYTHONPATH=<tree> DATABASE_URL=<its db> python bench/checkout/_shop.py prepare '<json spec>'
    PYTHONPATH=<tree> DATABASE_URL=<its db> python bench/checkout/_shop.py report '<json spec>'

Each prints one JSON document on its last line of output. ``setup_shop``, ``carts_for`` and ``body`` are
also imported in process by ``bench/load/run.py`` and ``bench/extraction.py`` (through ``bench.checkout``).
"""

import json
import os
import sys
import time
import uuid
from decimal import Decimal

ADDRESS = {
    "full_name": "Bench Buyer",
    "line1": "Hauptstrasse 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
SAGA_STEPS = (
    "reserve_stock",
    "redeem_voucher",
    "authorize_payment",
    "capture_payment",
    "commit_reservation",
    "close_cart",
    "confirm_order",
)


def body(cart_id: str) -> dict:
    """The JSON body of ``POST /api/v1/checkout`` for a guest cart (the floor takes the same one)."""
    return {
        "cart_id": cart_id,
        "email": "bench@example.com",
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        "payment": {"token": "tok_ok"},
    }


def _product(category, sku: str, stock: int, reference: str) -> None:
    from contexts.catalogue.services import products
    from contexts.inventory import api as inventory_api
    from contexts.pricing import api as pricing_api
    from tests.catalogue.factories import ProductFactory

    ProductFactory(slug=sku.lower(), name=sku, category=category, variants=[products.VariantSpec(sku=sku, name="One")])
    pricing_api.set_base_price(sku=sku, currency="EUR", amount=Decimal("10.00"))
    inventory_api.set_stock_level(sku=sku, warehouse_code="BENCH", on_hand=stock, reference=reference)


def _category(prefix: str):
    from tests.catalogue.factories import CategoryFactory

    return CategoryFactory(name=f"Bench {prefix}")


def setup_shop(prefix: str) -> tuple[list[str], str, str]:
    """A warehouse, German shipping and tax, ``BENCH_SKUS`` (64) spread SKUs with plenty of stock, a hot SKU
    with a million units and a flash-sale SKU with 50: (spread SKUs, hot SKU, flash SKU)."""
    from contexts.inventory import api as inventory_api
    from contexts.pricing import api as pricing_api

    inventory_api.ensure_warehouse(code="BENCH")
    pricing_api.ensure_shipping_zone(name="Bench DE", countries=["DE"])
    pricing_api.ensure_shipping_method(code="standard", name="Standard", delivery_days=3)
    pricing_api.ensure_shipping_rate(method="standard", zone="Bench DE", currency="EUR", price=Decimal("4.90"))
    pricing_api.ensure_tax_rate(country="DE", tax_class="standard", rate=Decimal("19.00"))
    category = _category(prefix)
    spread = [f"{prefix}-S{i:03d}" for i in range(int(os.environ.get("BENCH_SKUS", "64")))]
    for sku in spread:
        _product(category, sku, 100_000, f"bench-{prefix}")
    hot, flash = f"{prefix}-HOT", f"{prefix}-FLASH"
    _product(category, hot, 1_000_000, f"bench-{prefix}")
    _product(category, flash, 50, f"bench-{prefix}")
    return spread, hot, flash


def fill_catalogue(products: int) -> list[str]:
    """Plain products (one variant, 10.00 EUR, 100 000 units in ``BENCH``) until the catalogue holds ``products``
    products, imported in bulk by the catalogue's own importer (one by one would take minutes): their SKUs.
    Their SKUs do not depend on the run, so a later run on the same database finds them made (its own spread,
    hot and flash SKUs come on top: the catalogue grows by those from run to run)."""
    import csv
    import tempfile
    from pathlib import Path

    from contexts.catalogue.demo.generate import HEADER
    from contexts.catalogue.models import Product, Variant
    from contexts.catalogue.services.importing import import_catalogue

    others = Product.objects.exclude(slug__startswith="bench-filler-").count()
    skus = [f"BENCH-FILLER-{i:05d}" for i in range(max(0, products - others))]
    if Variant.objects.filter(sku__in=skus).count() == len(skus):
        return skus
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "filler.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADER)
            for sku in skus:
                row = [sku.lower(), sku.title(), "Bench > Filler", "A filler product.", sku, "One", ""]
                writer.writerow([*row, "10.00", "EUR", "BENCH:100000", ""])
        import_catalogue(path)
    return skus


def carts_for(skus: list[str]) -> list[str]:
    """One guest cart per SKU, each holding one unit of it: their ids."""
    from contexts.cart import api as cart_api

    ids = []
    for sku in skus:
        cart = cart_api.create_cart(customer_id=None, currency="EUR").cart
        cart_api.add_line(cart_id=cart.id, customer_id=None, sku=sku, quantity=1)
        ids.append(str(cart.id))
    return ids


TRANSACTION_CONTROL = frozenset({"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"})  # as Django logs them


def queries_per_checkout(sku: str) -> dict:
    """Statements of one checkout in process (``django.test.Client``), every database alias counted:
    ``in_request`` before the response was sent (what the customer waits for; BEGIN/COMMIT included),
    ``executed`` those without BEGIN/COMMIT (what django-prometheus's ``django_db_execute_total``, and so
    ``bin/bench``, counts), ``after`` what ran after the response (the event handlers, where the shop's
    code defers them: ``commerce.eventbus.after_response``; code without it runs them all in the request)."""
    from contextlib import ExitStack, nullcontext

    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from commerce.database import context_aliases

    try:
        from commerce.eventbus import after_response
    except ImportError:  # a baseline from before the bus deferred its deliveries
        after_response = None

    (cart_id,) = carts_for([sku])
    marks: dict[str, int] = {}
    with ExitStack() as stack:
        captured = {
            alias: stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in context_aliases()
        }

        def mark() -> None:
            if not marks:
                marks.update({alias: len(capture.captured_queries) for alias, capture in captured.items()})

        stack.enter_context(after_response.observe(mark) if after_response else nullcontext())
        response = Client().post(
            "/api/v1/checkout", body(cart_id), content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
    assert response.status_code == 201, response.content
    before = [
        query["sql"]
        for alias, capture in captured.items()
        for query in capture.captured_queries[: marks.get(alias, len(capture.captured_queries))]
    ]
    total = sum(len(capture.captured_queries) for capture in captured.values())
    return {
        "in_request": len(before),
        "executed": sum(1 for sql in before if sql not in TRANSACTION_CONTROL),
        "after": total - len(before),
    }


def prepare(spec: dict) -> dict:
    """The catalogue and every cart of the run, made before any timing, and the query count of one checkout.

    ``spec``: prefix, rounds, checkouts (per scenario and round), warm (warm-up carts), flash_buyers,
    flash_units, products (the catalogue's size: filled up with plain products). One flash-sale SKU per round,
    each with ``flash_units`` units."""
    from django.utils import timezone

    from contexts.catalogue.models import Product
    from contexts.inventory import api as inventory_api

    prefix, rounds, checkouts = spec["prefix"], spec["rounds"], spec["checkouts"]
    spread, hot, first_flash = setup_shop(prefix)
    category = _category(f"{prefix} flash")
    flash_skus = [first_flash] + [f"{prefix}-FLASH{n}" for n in range(1, rounds)]
    for sku in flash_skus[1:]:
        _product(category, sku, spec["flash_units"], f"bench-{prefix}")
    inventory_api.set_stock_level(
        sku=first_flash, warehouse_code="BENCH", on_hand=spec["flash_units"], reference=f"bench-{prefix}"
    )
    filler = fill_catalogue(spec.get("products", 0))
    # The first checkout of a process also fills its caches (pricing's) and may refresh the SKU's listing,
    # which later checkouts find fresh: both are printed, the second is the steady state.
    first_queries = queries_per_checkout(spread[-1])
    queries = queries_per_checkout(spread[-1])
    rounds_carts = [
        {
            "spread": carts_for([spread[i % len(spread)] for i in range(checkouts)]),
            "hot": carts_for([hot] * checkouts),
            "flash": carts_for([flash_skus[n]] * spec["flash_buyers"]),
        }
        for n in range(rounds)
    ]
    import commerce

    return {
        "code": os.path.dirname(os.path.dirname(os.path.realpath(commerce.__file__))),  # whose code ran
        "started_at": timezone.now().isoformat(),
        "spread_skus": spread,
        "catalogue_skus": spread + filler,  # the cart path's: spread over the catalogue, as the established shop's
        "products": Product.objects.count(),
        "flash_skus": flash_skus,
        "warm": carts_for([spread[i % len(spread)] for i in range(spec["warm"])]),
        "rounds": rounds_carts,
        "queries_per_checkout": queries["in_request"],
        "queries_executed": queries["executed"],
        "queries_after_response": queries["after"],
        "queries_first_checkout": first_queries["in_request"],
    }


def report(spec: dict) -> dict:
    """After the run: per flash-sale SKU the confirmed orders and what is left; across the database whether
    any stock went negative, the stock ledger's and the money position's differences, the gateway's captures
    since the run began and the saga steps' durations (where this code keeps a saga log)."""
    import statistics
    from datetime import datetime

    from contexts.inventory import api as inventory_api
    from contexts.inventory import selectors as inventory_selectors
    from contexts.inventory.models import StockLevel
    from contexts.orders.models import GatewayCharge, Order
    from contexts.orders.services import money_position

    started_at = datetime.fromisoformat(spec["started_at"])
    availability = inventory_api.get_availability(skus=spec["flash_skus"])
    result = {
        "flash": {
            sku: {
                "confirmed": Order.objects.filter(lines__sku=sku, status="confirmed").count(),
                "available": availability[sku].available,
            }
            for sku in spec["flash_skus"]
        },
        "stock_never_negative": not StockLevel.objects.filter(on_hand__lt=0).exists(),
        "ledger_mismatches": len(inventory_selectors.ledger_mismatches()),
        "money_differences": len(money_position().differences),
        "captures": GatewayCharge.objects.filter(status="captured", created_at__gte=started_at).count(),
        "saga_steps_ms": {},
    }
    try:
        from contexts.orders.models import SagaStep
    except ImportError:  # a checkout without a saga log
        return result
    steps: dict[str, list[float]] = {}
    rows = SagaStep.objects.filter(started_at__gte=started_at, compensation=False).values_list("name", "duration_ms")
    for name, duration in rows:
        steps.setdefault(name, []).append(float(duration))
    for name in SAGA_STEPS:
        values = sorted(steps.get(name, []))
        if values:
            result["saga_steps_ms"][name] = [
                statistics.fmean(values),
                values[len(values) // 2],
                values[min(len(values) - 1, int(0.95 * len(values)))],
            ]
    return result


def _main(command: str, spec: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    began = time.perf_counter()
    result = {"prepare": prepare, "report": report}[command](spec)
    result["seconds"] = time.perf_counter() - began
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    _main(sys.argv[1], json.loads(sys.stdin.read()))
