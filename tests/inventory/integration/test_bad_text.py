"""Text arguments of the api with a NUL (PostgreSQL refuses it in text) or of the wrong type: a typed
error of this context (400 in the contract's shape), and nothing written."""

import pytest

from commerce.database import database_for
from commerce.errors import DomainError, api_exception_handler
from commerce.eventbus.models import OutboxMessage
from contexts.inventory import api
from contexts.inventory.models import Reservation, Shipment, StockLevel, StockMovement, Warehouse
from tests.inventory.factories import line

pytestmark = pytest.mark.django_db

NUL = "A\x00B"


@pytest.fixture
def shipped(stock):
    stock("A", MAIN=5)
    api.reserve_stock(reference="o1", lines=[line("A", 2)])
    api.commit_reservation(reference="o1")
    api.dispatch_shipment(shipment_id=api.create_shipment(reference="o1").id)
    api.reserve_stock(reference="o2", lines=[line("A", 1)])


def receive(**changes):
    return lambda: api.receive_stock(
        **{"sku": "A", "warehouse_code": "MAIN", "quantity": 1, "reference": "PO", "actor": "bob", **changes}
    )


def adjust(**changes):
    return lambda: api.adjust_stock(
        **{"sku": "A", "warehouse_code": "MAIN", "delta": -1, "reason": "x", "reference": "T", "actor": "b", **changes}
    )


def set_level(**changes):
    return lambda: api.set_stock_level(
        **{"sku": "A", "warehouse_code": "MAIN", "on_hand": 9, "reference": "imp", **changes}
    )


def batch(**changes):
    item = {"sku": "A", "warehouse_code": "MAIN", "on_hand": 9}
    item.update({k: v for k, v in changes.items() if k in item})
    rest = {k: v for k, v in changes.items() if k not in item}
    return lambda: api.set_stock_levels(levels=[api.StockLevelInput(**item)], **{"reference": "imp", **rest})


def ret(**changes):
    return lambda: api.return_stock(
        **{"reference": "o1", "lines": [api.ReturnLine(sku="A", quantity=1)], "actor": "bob", **changes}
    )


CALLS = {
    "receive sku": (receive(sku=NUL), api.InvalidSku),
    "receive warehouse": (receive(warehouse_code=NUL), api.InvalidWarehouse),
    "receive reference": (receive(reference=NUL), api.InventoryError),
    "receive actor": (receive(actor=NUL), api.InventoryError),
    "receive actor None": (receive(actor=None), api.InventoryError),
    "adjust sku": (adjust(sku=NUL), api.InvalidSku),
    "adjust reason": (adjust(reason=NUL), api.InventoryError),
    "adjust reference": (adjust(reference=NUL), api.InventoryError),
    "adjust actor": (adjust(actor=NUL), api.InventoryError),
    "adjust actor None": (adjust(actor=None), api.InventoryError),
    "set level sku": (set_level(sku=NUL), api.InvalidSku),
    "set level reason": (set_level(reason=NUL), api.InventoryError),
    "set level actor": (set_level(actor=NUL), api.InventoryError),
    "set level actor None": (set_level(actor=None), api.InventoryError),
    "set level reference": (set_level(reference=NUL), api.InventoryError),
    "batch sku": (batch(sku=NUL), api.InvalidSku),
    "batch warehouse": (batch(warehouse_code=NUL), api.InvalidWarehouse),
    "batch reason": (batch(reason=NUL), api.InventoryError),
    "batch actor None": (batch(actor=None), api.InventoryError),
    "check batch sku": (
        lambda: api.check_stock_levels(levels=[api.StockLevelInput(sku=NUL, warehouse_code="MAIN", on_hand=1)]),
        api.InvalidSku,
    ),
    "ensure warehouse code": (lambda: api.ensure_warehouse(code="W\x00"), api.InvalidWarehouse),
    "ensure warehouse name": (lambda: api.ensure_warehouse(code="NEW", name="N\x00"), api.InvalidWarehouse),
    "warehouse status code": (lambda: api.set_warehouse_status(code=NUL, active=False), api.InvalidWarehouse),
    "availability sku": (lambda: api.get_availability(skus=[NUL]), api.InvalidSku),
    "levels sku": (lambda: api.get_stock_levels(skus=["A", NUL]), api.InvalidSku),
    "reserve reference": (lambda: api.reserve_stock(reference=NUL, lines=[line("A", 1)]), api.InventoryError),
    "reserve sku": (lambda: api.reserve_stock(reference="o3", lines=[line(NUL, 1)]), api.InvalidSku),
    "commit reference": (lambda: api.commit_reservation(reference="o2\x00"), api.InventoryError),
    "release reference": (lambda: api.release_reservation(reference="o2\x00"), api.InventoryError),
    "release reason": (lambda: api.release_reservation(reference="o2", reason=NUL), api.InventoryError),
    "release reason None": (lambda: api.release_reservation(reference="o2", reason=None), api.InventoryError),
    "cancel reason": (lambda: api.cancel_reservation(reference="o2", reason=NUL), api.InventoryError),
    "get reservation": (lambda: api.get_reservation(reference="o2\x00"), api.InventoryError),
    "ship reference": (lambda: api.create_shipment(reference="o1\x00"), api.InventoryError),
    "ship sku": (
        lambda: api.create_shipment(reference="o1", lines=[api.ShipmentLine(sku=NUL, quantity=1)]),
        api.InvalidSku,
    ),
    "ship key": (lambda: api.create_shipment(reference="o1", key=NUL), api.InventoryError),
    "list shipments": (lambda: api.list_shipments(reference="o1\x00"), api.InventoryError),
    "return reference": (ret(reference="o1\x00"), api.InventoryError),
    "return sku": (ret(lines=[api.ReturnLine(sku=NUL, quantity=1)]), api.InvalidSku),
    "return warehouse": (ret(warehouse_code=NUL), api.InvalidWarehouse),
    "return actor": (ret(actor=NUL), api.InventoryError),
    "return actor None": (ret(actor=None), api.InventoryError),
    "return key": (ret(key=NUL), api.InventoryError),
}


def everything() -> dict[str, list]:
    tables = (Warehouse, StockLevel, StockMovement, Reservation, Shipment)
    state = {model.__name__: list(model.objects.order_by("pk").values()) for model in tables}
    state["outbox"] = list(OutboxMessage.objects.using(database_for("inventory")).values_list("id", flat=True))
    return state


@pytest.mark.parametrize("call, error", CALLS.values(), ids=CALLS.keys())
def test_a_nul_or_a_missing_text_argument_is_a_typed_error_and_writes_nothing(shipped, call, error):
    before = everything()
    with pytest.raises(error) as refused:
        call()
    assert isinstance(refused.value, DomainError)
    assert (refused.value.code, refused.value.http_status) == ("invalid", 400)
    assert "\x00" not in refused.value.detail or "control character" in refused.value.detail
    assert everything() == before


def test_a_refusal_maps_to_the_contracts_400_shape(shipped):
    with pytest.raises(api.InventoryError) as refused:
        api.receive_stock(sku="A", warehouse_code="MAIN", quantity=1, reference="PO", actor=None)
    response = api_exception_handler(refused.value, {})
    assert response.status_code == 400
    assert response.data["code"] == "invalid" and "actor" in response.data["detail"]
