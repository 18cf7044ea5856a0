"""``set_stock_levels`` / ``check_stock_levels``: many absolute levels in one transaction, all or nothing."""

import pytest
from django.core.management import call_command

from contexts.inventory import api
from contexts.inventory.models import StockLevel, StockMovement, Warehouse
from tests.inventory.factories import line

pytestmark = pytest.mark.django_db


def level(sku: str, code: str, on_hand: int) -> api.StockLevelInput:
    return api.StockLevelInput(sku=sku, warehouse_code=code, on_hand=on_hand)


def on_hand() -> dict[tuple[str, str], int]:
    return {(lv.sku, lv.warehouse.code): lv.on_hand for lv in StockLevel.objects.select_related("warehouse")}


def test_a_batch_creates_missing_levels_changes_others_and_reports_counts(warehouses, stock, published):
    stock("A", MAIN=5)
    stock("B", MAIN=3)
    events_before = len(published("inventory.StockLevelChanged"))
    result = api.set_stock_levels(
        levels=[level("A", "MAIN", 8), level("A", "BACKUP", 2), level("B", "MAIN", 3), level("C", "MAIN", 0)],
        reference="import:file.csv",
    )
    assert result == api.StockBatchResult(created=1, changed=1, unchanged=2)
    assert on_hand() == {("A", "MAIN"): 8, ("A", "BACKUP"): 2, ("B", "MAIN"): 3}
    movements = StockMovement.objects.filter(reference="import:file.csv").order_by("warehouse__code")
    assert [(m.sku, m.warehouse.code, m.kind, m.quantity, m.on_hand_after, m.actor) for m in movements] == [
        ("A", "BACKUP", "adjustment", 2, 2, "import"),
        ("A", "MAIN", "adjustment", 3, 8, "import"),
    ]
    changed = published("inventory.StockLevelChanged")[events_before:]
    assert [(e["sku"], e["available"], e["in_stock"]) for e in changed] == [("A", 10, True)]  # one per SKU


def test_rerunning_the_same_batch_writes_and_publishes_nothing(warehouses, published, django_assert_max_num_queries):
    batch = [level(f"SKU-{n}", "MAIN" if n % 2 else "BACKUP", n) for n in range(50)]
    api.set_stock_levels(levels=batch, reference="import-1")
    movements, events = StockMovement.objects.count(), len(published("inventory.StockLevelChanged"))
    levels_before = list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "updated_at"))
    result = api.set_stock_levels(levels=batch, reference="import-2")
    assert result == api.StockBatchResult(created=0, changed=0, unchanged=50)
    assert StockMovement.objects.count() == movements
    assert len(published("inventory.StockLevelChanged")) == events
    assert list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "updated_at")) == levels_before


def test_one_bad_item_refuses_the_whole_batch_before_anything_is_written(warehouses, stock):
    stock("A", MAIN=5)
    good = [level("A", "MAIN", 9), level("NEW", "MAIN", 4)]
    bad_items = [
        (level("B", "MAIN", -1), api.InvalidQuantity),
        (api.StockLevelInput(sku="B", warehouse_code="MAIN", on_hand=True), api.InvalidQuantity),
        (level("", "MAIN", 1), api.InvalidSku),
        (level("B", "NOWHERE", 1), api.UnknownWarehouse),
        (level("A", " MAIN ", 2), api.DuplicateStockLevel),
    ]
    for bad, error in bad_items:
        with pytest.raises(error):
            api.set_stock_levels(levels=[*good, bad], reference="import")
        with pytest.raises(error):
            api.check_stock_levels(levels=[*good, bad])
    assert on_hand() == {("A", "MAIN"): 5}
    assert StockMovement.objects.filter(reference="import").count() == 0


def test_a_batch_that_would_cut_into_held_stock_is_refused_whole(warehouses, stock, published):
    stock("A", MAIN=10)
    stock("B", MAIN=10)
    api.reserve_stock(reference="order-1", lines=[line("A", 4)])
    api.reserve_stock(reference="order-2", lines=[line("B", 6)])
    api.commit_reservation(reference="order-2")
    events_before = len(published("inventory.StockLevelChanged"))
    batch = [level("NEW", "MAIN", 7), level("A", "MAIN", 3), level("B", "MAIN", 5), level("A", "BACKUP", 1)]
    with pytest.raises(api.InsufficientStock) as checked:
        api.check_stock_levels(levels=batch)
    with pytest.raises(api.InsufficientStock) as refused:
        api.set_stock_levels(levels=batch, reference="import")
    expected = (api.Shortfall(sku="A", requested=7, available=6), api.Shortfall(sku="B", requested=5, available=4))
    assert checked.value.shortfalls == refused.value.shortfalls == expected
    assert on_hand() == {("A", "MAIN"): 10, ("B", "MAIN"): 10}  # NEW and A@BACKUP not created either
    assert StockMovement.objects.filter(reference="import").count() == 0
    assert len(published("inventory.StockLevelChanged")) == events_before
    # Down to exactly what is held is allowed.
    api.set_stock_levels(levels=[level("A", "MAIN", 4), level("B", "MAIN", 6)], reference="import")
    assert api.get_availability(skus=["A", "B"])["A"].available == 0


def test_check_stock_levels_accepts_a_good_batch_and_writes_nothing(warehouses, stock):
    stock("A", MAIN=5)
    api.check_stock_levels(levels=[level("A", "MAIN", 0), level("NEW", "BACKUP", 3)])
    assert on_hand() == {("A", "MAIN"): 5}


def test_batches_are_bounded_and_an_empty_batch_is_a_no_op(warehouses):
    too_many = [level(f"S{n}", "MAIN", 1) for n in range(api.MAX_STOCK_LEVELS_PER_CALL + 1)]
    with pytest.raises(api.InvalidQuantity):
        api.set_stock_levels(levels=too_many, reference="import")
    assert not StockLevel.objects.exists()
    assert api.set_stock_levels(levels=[], reference="import") == api.StockBatchResult(
        created=0, changed=0, unchanged=0
    )


def test_the_ledger_still_balances_after_batches_mixed_with_other_stock_writes(warehouses, stock, capsys):
    stock("A", MAIN=5, BACKUP=2)
    api.set_stock_levels(levels=[level("A", "MAIN", 1), level("B", "MAIN", 4)], reference="i1")
    api.reserve_stock(reference="o1", lines=[line("A", 2)])
    api.set_stock_levels(
        levels=[level("A", "BACKUP", 9), level("B", "MAIN", 0), level("C", "BACKUP", 2)], reference="i2"
    )
    api.adjust_stock(sku="C", warehouse_code="BACKUP", delta=-1, reason="damaged", reference="", actor="bob")
    call_command("check_stock_ledger")
    assert "balances" in capsys.readouterr().out


def test_a_thousand_item_batch_costs_a_fixed_number_of_queries(db, context_connection, django_assert_max_num_queries):
    """10 SKUs x 100 warehouses: the statements do not grow with the items."""
    Warehouse.objects.bulk_create([Warehouse(code=f"W{n:03d}", name=f"W{n:03d}") for n in range(100)])
    first = [level(f"SKU-{s}", f"W{w:03d}", 10) for s in range(10) for w in range(100)]
    second = [level(f"SKU-{s}", f"W{w:03d}", 10 + (w % 3)) for s in range(10) for w in range(100)]  # 660 change
    connection = context_connection("inventory")
    # Fixed statements (warehouses, read, savepoint, lock, warehouses, one UPDATE, availability, the
    # events' outbox and delivery inserts) plus the bulk inserts, one each on PostgreSQL, split into
    # chunks by SQLite's parameter cap (~7 + ~11 here: a ledger row has 11 columns since it records
    # its write's idempotency key). One call per item would cost thousands.
    with django_assert_max_num_queries(28, connection=connection):
        result = api.set_stock_levels(levels=first, reference="import-1")
    assert result == api.StockBatchResult(created=1000, changed=0, unchanged=0)
    with django_assert_max_num_queries(17, connection=connection):  # 660 ledger rows: 8 chunks of 11 columns
        result = api.set_stock_levels(levels=second, reference="import-2")
    assert result == api.StockBatchResult(created=0, changed=660, unchanged=340)
    with django_assert_max_num_queries(2, connection=connection):
        result = api.set_stock_levels(levels=second, reference="import-3")
    assert result.unchanged == 1000
    with django_assert_max_num_queries(2, connection=connection):
        api.check_stock_levels(levels=second)
    assert StockMovement.objects.count() == 1660
