"""Reads inside the inventory context. QuerySets stay here; ``api`` maps results to DTOs."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Sum

from contexts.inventory.models import Reservation, Shipment, StockLevel, StockMovement, Warehouse


def warehouse_by_code(code: str) -> Warehouse | None:
    return Warehouse.objects.filter(code=code).first()


def list_warehouses(*, active: bool | None = None) -> list[Warehouse]:
    warehouses = Warehouse.objects.order_by("-priority", "code")
    return list(warehouses if active is None else warehouses.filter(active=active))


def warehouses_by_id() -> dict[int, Warehouse]:
    return {w.pk: w for w in Warehouse.objects.all()}


def available_by_sku(skus: Iterable[str]) -> dict[str, int]:
    """Total available per SKU over active warehouses, in one query; SKUs without stock are absent."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = (
        StockLevel.objects.filter(sku__in=wanted, warehouse__active=True)
        .values("sku")
        .annotate(total=Sum(F("on_hand") - F("reserved") - F("allocated")))
        .values_list("sku", "total")
    )
    return {sku: max(int(total or 0), 0) for sku, total in rows}


def level(sku: str, warehouse_code: str) -> StockLevel | None:
    return StockLevel.objects.select_related("warehouse").filter(sku=sku, warehouse__code=warehouse_code).first()


def levels_for_skus(skus: Iterable[str]) -> list[StockLevel]:
    return list(StockLevel.objects.select_related("warehouse").filter(sku__in=sorted(set(skus))))


def reservation_with_lines(reference: str) -> Reservation | None:
    return Reservation.objects.filter(reference=reference).prefetch_related("lines__warehouse").first()


def shipment_with_lines(shipment_id: int) -> Shipment | None:
    return Shipment.objects.filter(pk=shipment_id).prefetch_related("lines__warehouse").first()


def shipments_for_reference(reference: str) -> list[Shipment]:
    return list(Shipment.objects.filter(reference=reference).order_by("id").prefetch_related("lines__warehouse"))


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerMismatch:
    sku: str
    warehouse_code: str
    on_hand: int
    ledger_total: int


def ledger_mismatches() -> list[LedgerMismatch]:
    """Every (SKU, warehouse) whose on-hand quantity differs from the sum of its ledger movements."""
    codes = {w.pk: w.code for w in Warehouse.objects.all()}
    on_hand = {(sku, wid): qty for sku, wid, qty in StockLevel.objects.values_list("sku", "warehouse_id", "on_hand")}
    ledger = {
        (row["sku"], row["warehouse_id"]): int(row["total"] or 0)
        for row in StockMovement.objects.values("sku", "warehouse_id").annotate(total=Sum("quantity")).order_by()
    }
    mismatches = []
    for key in sorted(set(on_hand) | set(ledger)):
        if on_hand.get(key, 0) != ledger.get(key, 0):
            sku, wid = key
            mismatches.append(
                LedgerMismatch(
                    sku=sku,
                    warehouse_code=codes.get(wid, str(wid)),
                    on_hand=on_hand.get(key, 0),
                    ledger_total=ledger.get(key, 0),
                )
            )
    return mismatches


def low_stock(threshold: int, *, shown: int) -> tuple[int, list[StockLevel]]:
    """Stock levels at or below ``threshold`` available units (the stock list's "Low stock" filter): how
    many, and the ``shown`` lowest with their warehouses. Two queries."""
    rows = StockLevel.objects.with_available().filter(available_quantity__lte=threshold)
    lowest = list(rows.select_related("warehouse").order_by("available_quantity", "sku", "warehouse_id")[:shown])
    return rows.count(), lowest
