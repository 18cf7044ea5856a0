"""``set_stock_levels`` racing with reservations on real parallel connections (PostgreSQL only)."""

import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from contexts.inventory import api, selectors
from contexts.inventory.models import Reservation, ReservationLine, StockLevel
from tests.inventory.factories import line

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SKUS = [f"SKU-{n:02d}" for n in range(12)]
BUYERS = 10
IMPORTERS = 4
ROUNDS = 30


def test_import_batches_racing_with_baskets_on_the_same_skus_neither_deadlock_nor_oversell(postgresql_only, stock):
    for sku in SKUS:
        stock(sku, MAIN=20, BACKUP=10)
    start = threading.Barrier(BUYERS + IMPORTERS)

    def buyer(index: int) -> list[str]:
        rng = random.Random(index)
        outcomes = []
        try:
            start.wait(timeout=30)
            for n in range(ROUNDS):
                # Several SKUs per basket, in random order: the lock order must not depend on it.
                lines = [line(sku, rng.randint(1, 4)) for sku in rng.sample(SKUS, 3)]
                reference = f"basket-{index}-{n}"
                try:
                    api.reserve_stock(reference=reference, lines=lines)
                    outcomes.append("reserved")
                    if n % 5 == 0:
                        api.commit_reservation(reference=reference)
                    else:
                        api.release_reservation(reference=reference)
                except api.InsufficientStock:
                    outcomes.append("refused")
            return outcomes
        finally:
            connections.close_all()

    def importer(index: int) -> list[str]:
        rng = random.Random(1000 + index)
        outcomes = []
        try:
            start.wait(timeout=30)
            for n in range(ROUNDS):
                # Whole-catalogue figures in random item order; every fourth batch cuts deep and is
                # likely to fall below what baskets hold (refused whole).
                low = 0 if n % 4 == 3 else 60
                levels = [
                    api.StockLevelInput(sku=sku, warehouse_code=code, on_hand=rng.randint(low, 100))
                    for sku in SKUS
                    for code in ("MAIN", "BACKUP")
                ]
                rng.shuffle(levels)
                try:
                    api.set_stock_levels(levels=levels, reference=f"import-{index}-{n}")
                    outcomes.append("set")
                except api.InsufficientStock:
                    outcomes.append("refused")
            return outcomes
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=BUYERS + IMPORTERS) as pool:
        buyers = [pool.submit(buyer, i) for i in range(BUYERS)]
        importers = [pool.submit(importer, i) for i in range(IMPORTERS)]
        # A deadlock (or any error but a refusal) surfaces here as an exception.
        bought = Counter(outcome for future in buyers for outcome in future.result(timeout=120))
        imported = Counter(outcome for future in importers for outcome in future.result(timeout=120))

    assert bought["reserved"] > 0
    assert imported["set"] > 0
    # No oversell: every level still covers what it holds, and holds exactly what open reservations say.
    held: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for res_line in ReservationLine.objects.select_related("reservation").filter(
        reservation__status__in=(Reservation.Status.ACTIVE, Reservation.Status.COMMITTED)
    ):
        slot = 0 if res_line.reservation.status == Reservation.Status.ACTIVE else 1
        held[(res_line.sku, res_line.warehouse_id)][slot] += res_line.quantity - res_line.shipped
    for level in StockLevel.objects.all():
        assert level.on_hand >= level.reserved + level.allocated >= 0
        assert [level.reserved, level.allocated] == held[(level.sku, level.warehouse_id)]
    assert selectors.ledger_mismatches() == []
