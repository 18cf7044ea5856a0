"""The cart context's own state. No relation leaves this context.

A cart holds SKUs and quantities, the voucher codes the customer typed, and the delivery choice
(country, shipping method); never a price or a stock figure: those are asked of pricing and
inventory whenever the cart is shown. ``customer_id`` is identity's plain user id (no relation).
"""

import uuid

from django.db import models
from django.db.models import Q


class CartStatus(models.TextChoices):
    OPEN = "open", "open"
    CHECKED_OUT = "checked_out", "checked out"
    # Assigned to a customer and merged into their cart: kept (``merged_into``) so a retried
    # assignment answers the same cart, deleted by the housekeeping job.
    MERGED = "merged", "merged"


class Cart(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=CartStatus.choices, default=CartStatus.OPEN)
    currency = models.CharField(max_length=3)
    voucher_codes = models.JSONField(default=list, blank=True)
    country = models.CharField(max_length=2, null=True, blank=True)
    shipping_method = models.CharField(max_length=64, null=True, blank=True)
    order_id = models.UUIDField(null=True, blank=True)
    # The order whose checkout holds the cart (orders' claim, taken before any stock or money moves):
    # while set on an open cart, every change and any other checkout is refused (checkout_in_progress).
    checkout_order_id = models.UUIDField(null=True, blank=True)
    merged_into = models.UUIDField(null=True, blank=True)
    # Bumped by every change: a write judged against one version commits only if the cart is still
    # at it, else it is judged again under the cart's row lock (no update is lost).
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-updated_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("customer_id",),
                condition=Q(status="open", customer_id__isnull=False),
                name="cart_one_open_cart_per_customer",
            ),
            models.CheckConstraint(
                condition=~Q(status="checked_out") | Q(order_id__isnull=False),
                name="cart_checked_out_has_order",
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @property
    def is_open(self) -> bool:
        return self.status == CartStatus.OPEN


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=("cart", "sku"), name="cart_line_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_line_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"
