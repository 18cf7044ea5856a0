"""The inventory context's own state. No relation leaves this context.

Quantities on a ``StockLevel``: ``on_hand`` is what is physically in the warehouse, ``reserved`` is
held by open reservations (baskets at checkout), ``allocated`` belongs to committed orders not yet
shipped. ``available = on_hand - reserved - allocated``; the check constraints make the database
refuse any write that would oversell, whatever the code above it does. ``on_hand`` changes only
together with a ``StockMovement`` row (the ledger).
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Warehouse(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    priority = models.IntegerField(default=0, help_text="Higher is preferred when allocating.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-priority", "code")

    def __str__(self) -> str:
        return self.code


class StockLevelQuerySet(models.QuerySet):
    def with_available(self) -> "StockLevelQuerySet":
        return self.annotate(available_quantity=F("on_hand") - F("reserved") - F("allocated"))


class StockLevel(models.Model):
    sku = models.CharField(max_length=64, db_index=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StockLevelQuerySet.as_manager()

    class Meta:
        ordering = ("sku", "warehouse_id")
        constraints = [
            models.UniqueConstraint(fields=("sku", "warehouse"), name="inventory_level_unique_sku_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inventory_level_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_level_reserved_gte_0"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="inventory_level_allocated_gte_0"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("reserved") + F("allocated")),
                name="inventory_level_held_lte_on_hand",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} @ {self.warehouse_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.allocated


class StockMovement(models.Model):
    """One change of on-hand quantity. The ledger is append-only: the level is the sum of its rows."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        ADJUSTMENT = "adjustment", "Adjustment"
        SHIPMENT = "shipment", "Shipment"
        RETURN = "return", "Return"

    sku = models.CharField(max_length=64)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity = models.IntegerField(help_text="Signed change of on hand.")
    on_hand_after = models.IntegerField()
    reason = models.CharField(max_length=200)
    reference = models.CharField(max_length=128, blank=True, db_index=True)
    actor = models.CharField(max_length=200, blank=True, help_text="Who or what made the change.")
    operation = models.CharField(
        max_length=300,
        blank=True,
        default="",
        help_text="The idempotency key of the write that made this movement (a receipt's, an adjustment's or a "
        "return's): a retry finds its movements instead of writing them again.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("sku", "warehouse"), name="inventory_mov_sku_wh")]
        constraints = [
            # the backstop behind the row locks (and the index a retry's lookup uses): one write moves
            # one (SKU, warehouse) once
            models.UniqueConstraint(
                fields=("operation", "sku", "warehouse"),
                condition=~Q(operation=""),
                name="inventory_mov_unique_operation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+d} {self.sku}@{self.warehouse_id}"


class Reservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMMITTED = "committed", "Committed"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"

    reference = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(db_index=True)
    # set by the service from the same clock reading as expires_at, so expiry is exactly created + TTL
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    committed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("status", "expires_at"), name="inventory_res_status_exp")]

    def __str__(self) -> str:
        return self.reference


class ReservationLine(models.Model):
    """Stock of one SKU held in one warehouse for a reservation; once committed, an allocation."""

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    shipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("sku", "warehouse_id")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inventory_resline_quantity_gt_0"),
            models.CheckConstraint(condition=Q(shipped__lte=F("quantity")), name="inventory_resline_shipped_lte_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"

    @property
    def unshipped(self) -> int:
        return self.quantity - self.shipped


class Shipment(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", "Created"
        DISPATCHED = "dispatched", "Dispatched"

    reference = models.CharField(max_length=128, db_index=True)
    key = models.CharField(
        max_length=200,
        default="",
        help_text="Tells this shipment from the reference's others: the caller's key, or one derived from its lines. "
        "A retried create_shipment finds the shipment by it instead of making a second one.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=("reference", "key"), name="inventory_shipment_unique_reference_key"),
        ]

    def __str__(self) -> str:
        return f"Shipment {self.pk} ({self.reference})"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ("sku", "warehouse_id")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inventory_shipline_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
