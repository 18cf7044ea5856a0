"""The orders context's own state. No relation leaves this context.

An ``Order`` is a snapshot: names, SKUs, unit prices, discounts, tax rates, shipping method and
address are copied at checkout and never read again from catalogue, pricing or identity. Its
``status`` changes only through ``domain.transition`` (services call it), and each change writes an
``OrderStatusChange`` row. Its checkout saga's state is a ``CheckoutSaga`` row (one per order) with
its log, ``SagaStep`` rows (steps and compensations), under it.

``GatewayCharge`` and ``GatewayRefund`` are the built-in test gateway's own ledger: what a payment
provider would hold on its side, looked up by the shop's idempotency keys.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from contexts.orders.domain import Address, OrderStatus

MONEY = {"max_digits": 14, "decimal_places": 2}


class OrderNumberCounter(models.Model):
    """One row whose ``last`` is incremented in the transaction that confirms an order.

    The row lock is held only for that short transaction, and a rolled-back order gives its number
    back, so numbers are unique and without gaps among orders that exist.
    """

    name = models.CharField(max_length=32, primary_key=True)
    last = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.name}: {self.last}"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(
        max_length=20, unique=True, null=True, blank=True, help_text="Given when the order is confirmed."
    )
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    cart_id = models.UUIDField(null=True, blank=True, db_index=True)
    cart_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The cart's version the order was priced from (its claim checks it)."
    )
    checkout_key = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The Idempotency-Key claim the order was created under (claim:<uuid>).",
    )
    email = models.CharField(max_length=254, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY, default=0)
    discount_total = models.DecimalField(**MONEY, default=0)
    shipping_method = models.CharField(max_length=64, blank=True)
    shipping_total = models.DecimalField(**MONEY, default=0)
    shipping_tax = models.DecimalField(**MONEY, default=0)
    tax_total = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY, default=0)
    prices_include_tax = models.BooleanField(default=True)
    vouchers = models.JSONField(default=list, blank=True, help_text='[{"code": ..., "amount": "..."}] as quoted')
    # the shipping address, copied at checkout
    ship_full_name = models.CharField(max_length=200, blank=True)
    ship_line1 = models.CharField(max_length=200, blank=True)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100, blank=True)
    ship_postal_code = models.CharField(max_length=20, blank=True)
    ship_country = models.CharField(max_length=2, blank=True)
    ship_phone = models.CharField(max_length=40, blank=True)
    payment_token = models.CharField(max_length=64, blank=True)
    operation = models.CharField(
        max_length=16,
        blank=True,
        help_text="A staff or customer operation that claimed the order (cancelling, shipping) and is under way.",
    )
    operation_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-number")
        # Shipping and cancelling both change an order, but only customer service cancels (a refund, the
        # stock released): the admin's cancel action asks for this permission, not ``change_order``.
        permissions = [("cancel_order", "Can cancel orders (refund the payment, release the stock)")]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="orders_order_total_gte_0"),
        ]

    def __str__(self) -> str:
        return self.number or f"order {str(self.id)[:8]}"

    @property
    def shipping_address(self) -> Address:
        return Address(
            full_name=self.ship_full_name,
            line1=self.ship_line1,
            line2=self.ship_line2,
            city=self.ship_city,
            postal_code=self.ship_postal_code,
            country=self.ship_country,
            phone=self.ship_phone,
        )


class CustomerErasure(models.Model):
    """Orders' own knowledge that a customer was erased, and the row order creation and erasure both
    lock for that customer, so neither can miss the other (identity is above orders: orders cannot ask
    it). Created on a customer's first checkout or erasure."""

    customer_id = models.BigIntegerField(primary_key=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"customer {self.customer_id}{' (erased)' if self.erased_at else ''}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=0)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    tax = models.DecimalField(**MONEY, default=0)
    line_total = models.DecimalField(**MONEY)

    class Meta:
        ordering = ("order", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=("order", "sku"), name="orders_line_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    actor = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("order", "at", "id")

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class CheckoutSaga(models.Model):
    """An order's checkout saga, apart from the order: where it is, who runs it, how it failed.

    One row per order, created with it. ``position`` is the last forward step that completed (the
    saga's table is in ``services/_saga.py``); the lease (holder and expiry, taken by a conditional
    update) says who may run it now; the failure is recorded before any compensation runs, so a
    saga healed after a crash ends with the error its failing step gave.
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        COMPENSATING = "compensating", "Compensating"
        COMPLETED = "completed", "Completed"
        COMPENSATED = "compensated", "Compensated"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, primary_key=True, related_name="saga")
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    position = models.CharField(max_length=40, blank=True, help_text="The last forward step that completed.")
    lease_holder = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times it was healed.")
    failure_code = models.CharField(max_length=40, blank=True, db_index=True)
    failure_status = models.PositiveSmallIntegerField(null=True, blank=True)
    failure_detail = models.TextField(blank=True)
    failure_extra = models.JSONField(default=dict, blank=True, help_text="The error's extra fields, for replays.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=("state", "updated_at"), name="orders_saga_state_updated_at")]

    def __str__(self) -> str:
        return f"{self.state} at {self.position or 'start'}"


class SagaStep(models.Model):
    """One step or compensation of an order's checkout saga, as it happened."""

    class Outcome(models.TextChoices):
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    saga = models.ForeignKey(CheckoutSaga, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=40)
    compensation = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()

    class Meta:
        ordering = ("saga", "started_at", "id")

    def __str__(self) -> str:
        return f"{'undo ' if self.compensation else ''}{self.name}: {self.outcome}"


class Payment(models.Model):
    """The shop's side of an order's payment: what it asked the gateway for, under which keys."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CAPTURED = "captured", "Captured"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Failed"
        VOIDED = "voided", "Voided"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="payment")
    gateway = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=100, unique=True)
    charge_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    captured = models.DecimalField(**MONEY, default=0)
    refunded = models.DecimalField(**MONEY, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded__lte=models.F("captured")), name="orders_payment_refund_lte_captured"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.amount} {self.currency}"


class Shipment(models.Model):
    """The order's copy of a shipment inventory made for it (inventory's id, status and lines)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    shipment_id = models.BigIntegerField(unique=True, help_text="The shipment's id in inventory.")
    status = models.CharField(max_length=16, default="created")
    lines = models.JSONField(default=list, help_text='[{"sku": ..., "quantity": ...}]')
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("order", "created_at", "id")

    def __str__(self) -> str:
        return f"shipment {self.shipment_id}"


class Return(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVING = "receiving", "Being received"
        RECEIVED = "received", "Received"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.CharField(max_length=200, blank=True)
    receiving_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        """Staff know a return by its order and its day (the admin's titles, breadcrumbs and history)."""
        day = f" on {timezone.localtime(self.created_at):%d %b %Y}" if self.created_at else ""
        return f"Return of order {self.order.number}{day}"


class ReturnLine(models.Model):
    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ("ret", "sku")
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_return_line_quantity_gte_1")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class Refund(models.Model):
    """Money sent back through the gateway, keyed so a retry never refunds twice."""

    class Reason(models.TextChoices):
        CANCELLATION = "cancellation", "Cancellation"
        RETURN = "return", "Return"
        COMPENSATION = "compensation", "Checkout compensation"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    ret = models.OneToOneField(Return, on_delete=models.PROTECT, null=True, blank=True, related_name="refund")
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY, default=0)
    tax = models.DecimalField(**MONEY, default=0)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    completed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at",)

    def __str__(self) -> str:
        return f"refund {self.amount} ({self.reason})"


class GatewayCharge(models.Model):
    """The built-in test gateway's record of a charge (the provider's side of the payment)."""

    class Status(models.TextChoices):
        AUTHORIZED = "authorized", "Authorized"
        CAPTURED = "captured", "Captured"
        VOIDED = "voided", "Voided"
        DECLINED = "declined", "Declined"

    id = models.CharField(max_length=40, primary_key=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    token = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices)
    captured = models.DecimalField(**MONEY, default=0)
    refunded = models.DecimalField(**MONEY, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded__lte=models.F("captured")), name="orders_gwcharge_refund_lte_captured"
            ),
            models.CheckConstraint(
                condition=Q(captured__lte=models.F("amount")), name="orders_gwcharge_capture_lte_amount"
            ),
        ]

    def __str__(self) -> str:
        return self.id


class GatewayRefund(models.Model):
    charge = models.ForeignKey(GatewayCharge, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.amount} of {self.charge_id}"
