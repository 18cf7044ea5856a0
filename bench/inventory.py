"""Inventory benchmark: reservations per second under contention, and bulk availability.

Run against a PostgreSQL database of its own (created and migrated if missing; its inventory tables
are emptied first)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/inventory.py

Figures printed:
- reservations/s with 8 concurrent workers all reserving 1 unit of one hot SKU (every reservation
  queues on the same row locks: the worst case);
- reservations/s with 8 workers reserving 1 unit of a random SKU out of 1 000 (little contention);
- ``get_availability`` of 100 SKUs: database queries per call and mean time per call;
- ``set_stock_level`` one call per level (1 000 levels, the old import path), for comparison;
- ``set_stock_levels`` of 10 000 (SKU, warehouse) items (5 000 SKUs x 2 warehouses, in calls of
  ``MAX_STOCK_LEVELS_PER_CALL``): first write and unchanged re-run, with the statements they ran
  grouped as inventory (the batch's own), event bus (outbox and delivery rows, one
  ``StockLevelChanged`` per SKU, and their inline delivery after commit), other (what subscribers
  such as the catalogue do with them) and savepoints.
Each reservation is a full ``api.reserve_stock`` call: its transaction, the outbox rows of its events
and (inline dispatch) the delivery of those events to subscribers after commit.
"""

import os
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

WORKERS = 8
RESERVATIONS = 1_600  # per scenario, spread over the workers
SPREAD_SKUS = 1_000
BATCH_ITEMS = 10_000


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/commerce_bench")
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from commerce.database import database_for
    from contexts.inventory import api
    from contexts.inventory.models import Reservation, ReservationLine, StockLevel, StockMovement, Warehouse

    call_command("migrate_all", verbosity=0)  # creates the PostgreSQL database(s) if missing
    ReservationLine.objects.all().delete()
    Reservation.objects.all().delete()
    StockMovement.objects.all().delete()
    StockLevel.objects.all().delete()
    Warehouse.objects.all().delete()
    api.ensure_warehouse(code="BENCH-A", priority=10)
    api.ensure_warehouse(code="BENCH-B", priority=1)

    def run(label: str, pick_sku) -> None:
        barrier = threading.Barrier(WORKERS)
        refused = 0
        lock = threading.Lock()

        def worker(index: int) -> None:
            nonlocal refused
            rng = random.Random(index)
            try:
                barrier.wait()
                for n in range(RESERVATIONS // WORKERS):
                    try:
                        api.reserve_stock(
                            reference=f"{label}-{index}-{n}", lines=[api.ReservationLine(sku=pick_sku(rng), quantity=1)]
                        )
                    except api.InsufficientStock:
                        with lock:
                            refused += 1
            finally:
                connections.close_all()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(worker, range(WORKERS)))
        elapsed = time.perf_counter() - started
        done = RESERVATIONS - refused
        print(f"{label:<28} {done:>6} reservations in {elapsed:6.2f} s = {done / elapsed:8.1f}/s  (refused {refused})")

    api.receive_stock(sku="HOT-1", warehouse_code="BENCH-A", quantity=1_000_000, reference="bench")
    started = time.perf_counter()
    for n in range(SPREAD_SKUS):
        api.set_stock_level(
            sku=f"SKU-{n:04d}", warehouse_code="BENCH-A" if n % 2 else "BENCH-B", on_hand=1_000, reference="bench"
        )
    single_elapsed = time.perf_counter() - started

    print(f"PostgreSQL, {WORKERS} concurrent workers, {RESERVATIONS} reservations of 1 unit per scenario")
    run("one hot SKU", lambda rng: "HOT-1")
    run(f"{SPREAD_SKUS} SKUs spread", lambda rng: f"SKU-{rng.randrange(SPREAD_SKUS):04d}")

    skus = [f"SKU-{n:04d}" for n in range(0, SPREAD_SKUS, SPREAD_SKUS // 100)]
    connection = connections[database_for("inventory")]
    with CaptureQueriesContext(connection) as captured:
        api.get_availability(skus=skus)
    timings = []
    for _ in range(200):
        started = time.perf_counter()
        api.get_availability(skus=skus)
        timings.append(time.perf_counter() - started)
    print(
        f"availability of {len(skus)} SKUs: {len(captured.captured_queries)} query per call, "
        f"mean {statistics.mean(timings) * 1000:.2f} ms, p95 {sorted(timings)[int(len(timings) * 0.95)] * 1000:.2f} ms"
    )
    print(
        f"set_stock_level x {SPREAD_SKUS} (one call each): {single_elapsed:6.2f} s = "
        f"{SPREAD_SKUS / single_elapsed:8.1f} levels/s"
    )
    bench_batches(api)
    call_command("check_stock_ledger")


def bench_batches(api) -> None:
    """10 000 items in calls of MAX_STOCK_LEVELS_PER_CALL, with the statements each call ran by table group."""
    from contextlib import ExitStack

    from django.db import connections

    def run(label: str, on_hand) -> None:
        items = [
            api.StockLevelInput(sku=f"BATCH-{n:05d}", warehouse_code=code, on_hand=on_hand(n))
            for n in range(BATCH_ITEMS // 2)
            for code in ("BENCH-A", "BENCH-B")
        ]
        size = api.MAX_STOCK_LEVELS_PER_CALL
        counts = [0, 0, 0]
        statements: dict[str, list[float]] = {}  # group -> [statements, seconds]

        def measure(execute, sql, params, many, context):
            group = "event bus" if "eventbus_" in sql else "inventory" if "inventory_" in sql else "other"
            if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")):
                group = "savepoints"  # the batch's own, and one pair per delivery to a subscriber
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                figures = statements.setdefault(group, [0, 0.0])
                figures[0] += 1
                figures[1] += time.perf_counter() - started

        started = time.perf_counter()
        with ExitStack() as stack:
            for each in connections.all():
                stack.enter_context(each.execute_wrapper(measure))
            for i in range(0, len(items), size):
                result = api.set_stock_levels(levels=items[i : i + size], reference=f"bench-{label}")
                counts = [counts[0] + result.created, counts[1] + result.changed, counts[2] + result.unchanged]
        elapsed = time.perf_counter() - started
        calls = -(-len(items) // size)
        print(
            f"set_stock_levels {label:<9} {len(items)} items in {calls} calls: {elapsed:6.2f} s = "
            f"{len(items) / elapsed:9.1f} items/s (created {counts[0]}, changed {counts[1]}, unchanged {counts[2]})"
        )
        for group, (count, seconds) in sorted(statements.items()):
            print(f"    {group:<10} {count:>6} statements, {seconds:6.2f} s in the database")

    run("first", lambda n: 100 + n % 50)
    run("unchanged", lambda n: 100 + n % 50)


if __name__ == "__main__":
    main()
