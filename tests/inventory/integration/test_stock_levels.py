import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from commerce.database import database_for
from contexts.inventory import api
from contexts.inventory.models import StockLevel, StockMovement

pytestmark = pytest.mark.django_db


def test_warehouse_is_created_when_first_named_and_kept_after(db):
    first = api.ensure_warehouse(code="PAR")
    again = api.ensure_warehouse(code="PAR", name="Paris", priority=5)
    assert first == api.Warehouse(code="PAR", name="PAR", priority=0, active=True)
    assert again == api.Warehouse(code="PAR", name="Paris", priority=5, active=True)


def test_receipt_raises_on_hand_and_writes_a_ledger_movement(stock):
    level = api.receive_stock(sku="TEE-M", warehouse_code="MAIN", quantity=12, reference="PO-1")
    assert (level.on_hand, level.available) == (12, 12)
    movement = StockMovement.objects.get(sku="TEE-M")
    assert (movement.kind, movement.quantity, movement.reference, movement.on_hand_after) == ("receipt", 12, "PO-1", 12)


def test_set_stock_level_writes_the_difference_and_is_a_no_op_when_equal(warehouses, published):
    api.set_stock_level(sku="A", warehouse_code="MAIN", on_hand=10, reference="import-1")
    api.set_stock_level(sku="A", warehouse_code="MAIN", on_hand=7, reference="import-2")
    events_before = len(published("inventory.StockLevelChanged"))
    level = api.set_stock_level(sku="A", warehouse_code="MAIN", on_hand=7, reference="import-3")
    assert level.on_hand == 7
    assert list(StockMovement.objects.filter(sku="A").order_by("id").values_list("quantity", flat=True)) == [10, -3]
    assert len(published("inventory.StockLevelChanged")) == events_before


def test_setting_zero_for_a_sku_never_stocked_writes_nothing(warehouses):
    api.set_stock_level(sku="NEW", warehouse_code="MAIN", on_hand=0, reference="import")
    assert not StockLevel.objects.filter(sku="NEW").exists()


def test_staff_adjustment_records_reason_and_actor(stock):
    stock("A", MAIN=10)
    level = api.adjust_stock(sku="A", warehouse_code="MAIN", delta=-2, reason="damaged", reference="", actor="bob")
    assert level.on_hand == 8
    movement = StockMovement.objects.filter(sku="A").latest("id")
    assert (movement.kind, movement.quantity, movement.reason, movement.actor) == ("adjustment", -2, "damaged", "bob")


def test_adjustment_cannot_take_out_stock_held_for_orders(stock):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[api.ReservationLine(sku="A", quantity=4)])
    with pytest.raises(api.InsufficientStock) as refused:
        api.adjust_stock(sku="A", warehouse_code="MAIN", delta=-2, reason="lost", reference="", actor="bob")
    assert refused.value.shortfalls == (api.Shortfall(sku="A", requested=2, available=1),)
    assert StockLevel.objects.get(sku="A").on_hand == 5


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: api.receive_stock(sku="A", warehouse_code="MAIN", quantity=-1, reference="r"), api.InvalidQuantity),
        (lambda: api.receive_stock(sku="A", warehouse_code="MAIN", quantity=0, reference="r"), api.InvalidQuantity),
        (lambda: api.receive_stock(sku="A", warehouse_code="NOPE", quantity=1, reference="r"), api.UnknownWarehouse),
        (lambda: api.receive_stock(sku="", warehouse_code="MAIN", quantity=1, reference="r"), api.InvalidSku),
        (lambda: api.set_stock_level(sku="A", warehouse_code="MAIN", on_hand=-3, reference="r"), api.InvalidQuantity),
        (
            lambda: api.adjust_stock(sku="GHOST", warehouse_code="MAIN", delta=1, reason="x", reference="", actor="b"),
            api.UnknownSku,
        ),
        (
            lambda: api.adjust_stock(sku="A", warehouse_code="MAIN", delta=0, reason="x", reference="", actor="b"),
            api.InvalidQuantity,
        ),
        (
            lambda: api.adjust_stock(sku="A", warehouse_code="MAIN", delta=1, reason=" ", reference="", actor="b"),
            api.InventoryError,
        ),
    ],
)
def test_bad_stock_input_is_refused_with_a_typed_error_and_changes_nothing(stock, call, error):
    stock("A", MAIN=3)
    movements = StockMovement.objects.count()
    with pytest.raises(error):
        call()
    assert StockMovement.objects.count() == movements
    assert StockLevel.objects.get(sku="A").on_hand == 3


def test_unknown_sku_error_has_the_contract_code():
    assert api.UnknownSku(sku="X").code == "unknown_sku"
    assert api.InsufficientStock.code == "insufficient_stock"
    assert api.InsufficientStock.http_status == 409


def test_availability_of_many_skus_takes_one_query(stock, django_assert_num_queries):
    stock("A", MAIN=3, BACKUP=2)
    stock("B", MAIN=1)
    api.reserve_stock(reference="o1", lines=[api.ReservationLine(sku="B", quantity=1)])
    with django_assert_num_queries(1, connection=connections[database_for("inventory")]):
        availability = api.get_availability(skus=["A", "B", "UNKNOWN"])
    assert availability == {
        "A": api.Availability(sku="A", available=5, in_stock=True),
        "B": api.Availability(sku="B", available=0, in_stock=False),
        "UNKNOWN": api.Availability(sku="UNKNOWN", available=0, in_stock=False),
    }


def test_inactive_warehouses_do_not_count_towards_availability(stock, warehouses):
    stock("A", MAIN=3, BACKUP=2)
    warehouses[0].active = False
    warehouses[0].save()
    assert api.get_availability(skus=["A"])["A"].available == 2


def test_ledger_check_passes_when_levels_equal_their_movements(stock, capsys):
    stock("A", MAIN=3, BACKUP=2)
    api.adjust_stock(sku="A", warehouse_code="MAIN", delta=-1, reason="count", reference="", actor="bob")
    call_command("check_stock_ledger")
    assert "balances" in capsys.readouterr().out


def test_ledger_check_fails_and_lists_levels_changed_behind_its_back(stock, capsys):
    stock("A", MAIN=3)
    StockLevel.objects.filter(sku="A").update(on_hand=9)
    with pytest.raises(CommandError) as failed:
        call_command("check_stock_ledger")
    assert failed.value.returncode == 1
    assert "A @ MAIN: on hand 9, ledger 3" in capsys.readouterr().err


def test_switching_a_warehouse_off_and_on_publishes_each_sku_s_new_availability(stock, published):
    stock("A", MAIN=2, BACKUP=5)
    stock("B", BACKUP=1)
    stock("C", MAIN=3)
    before = len(published("inventory.StockLevelChanged"))
    warehouse = api.set_warehouse_status(code="BACKUP", active=False)
    assert warehouse.active is False
    assert levels_changed(published)[before:] == [
        {"sku": "A", "available": 2, "in_stock": True},
        {"sku": "B", "available": 0, "in_stock": False},
    ]
    assert api.set_warehouse_status(code="BACKUP", active=False).active is False  # no change, no event
    assert len(published("inventory.StockLevelChanged")) == before + 2
    api.set_warehouse_status(code="BACKUP", active=True, priority=7)
    assert levels_changed(published)[before + 2 :] == [
        {"sku": "A", "available": 7, "in_stock": True},
        {"sku": "B", "available": 1, "in_stock": True},
    ]
    assert api.ensure_warehouse(code="BACKUP").priority == 7


@pytest.mark.parametrize(
    ("code", "changes", "error"),
    [
        ("MOON", {"active": False}, "UnknownWarehouse"),
        ("BACKUP", {"active": "no"}, "InvalidWarehouse"),
        ("BACKUP", {"priority": "1"}, "InvalidWarehouse"),
        ("BACKUP", {"priority": 10**12}, "InvalidWarehouse"),
        ("BACKUP", {"priority": True}, "InvalidWarehouse"),
    ],
)
def test_a_warehouse_status_change_with_bad_input_is_refused(warehouses, code, changes, error):
    with pytest.raises(getattr(api, error)):
        api.set_warehouse_status(code=code, **changes)
    backup = api.ensure_warehouse(code="BACKUP")
    assert (backup.active, backup.priority) == (True, 1)


def levels_changed(published):
    return [
        {key: payload[key] for key in ("sku", "available", "in_stock")}
        for payload in published("inventory.StockLevelChanged")
    ]


def test_list_warehouses_names_every_warehouse_most_preferred_first(db):
    api.ensure_warehouse(code="SOUTH", priority=5)
    api.ensure_warehouse(code="NORTH", priority=5)
    api.ensure_warehouse(code="MAIN", name="Main hall", priority=10)
    api.ensure_warehouse(code="OLD")
    api.set_warehouse_status(code="OLD", active=False)
    assert [w.code for w in api.list_warehouses()] == ["MAIN", "NORTH", "SOUTH", "OLD"]
    assert api.list_warehouses()[0] == api.Warehouse(code="MAIN", name="Main hall", priority=10, active=True)
    assert [w.code for w in api.list_warehouses(active=True)] == ["MAIN", "NORTH", "SOUTH"]
    assert [w.code for w in api.list_warehouses(active=False)] == ["OLD"]
    with pytest.raises(api.InvalidWarehouse):
        api.list_warehouses(active="yes")


def test_list_warehouses_of_an_empty_shop_is_empty(db):
    assert api.list_warehouses() == ()
