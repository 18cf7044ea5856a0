"""Staff screens of the orders context (the ``customer_service`` and ``warehouse`` roles).

Orders are records of what happened: nothing on them is edited in place. Staff act through the
actions (``ship_orders``, ``mark_delivered``, ``cancel_orders``, ``receive_returns``), each one call
into the services per selected row; a row the action cannot apply to is reported in the messages,
and the others still go through.
"""

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from commerce.errors import DomainError
from contexts.orders import services
from contexts.orders.models import (
    CheckoutSaga,
    GatewayCharge,
    Order,
    OrderLine,
    OrderStatusChange,
    Payment,
    Refund,
    Return,
    ReturnLine,
    Shipment,
)
from contexts.orders.services.gateway import GatewayFailure


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return tuple(self.fields)


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "name", "quantity", "unit_price", "discount", "tax_rate", "tax", "line_total")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("status", "amount", "captured", "refunded", "currency", "gateway", "charge_id", "idempotency_key")


class HistoryInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("at", "from_status", "to_status", "actor", "note")
    verbose_name_plural = "status history"


class CheckoutSagaInline(ReadOnlyInline):
    """The order's checkout saga (its own row) with its log of steps and compensations under it."""

    model = CheckoutSaga
    fields = (
        "state",
        "position",
        "attempts",
        "lease_holder",
        "lease_until",
        "failure_code",
        "failure_status",
        "failure_detail",
        "log",
    )
    verbose_name = verbose_name_plural = "checkout saga log: state, lease, failure and steps"

    @admin.display(description="log")
    def log(self, saga: CheckoutSaga) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
            (
                (
                    step.started_at,
                    "undo " if step.compensation else "",
                    step.name,
                    step.outcome,
                    step.duration_ms,
                    step.error,
                )
                for step in saga.steps.all()
            ),
        )
        return format_html(
            "<table><tr><th>started</th><th>step</th><th>outcome</th><th>duration</th><th>error</th></tr>{}</table>",
            rows,
        )


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ("shipment_id", "status", "lines", "dispatched_at")


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("created_at", "reason", "amount", "shipping", "tax", "completed", "idempotency_key")


class ReturnInline(ReadOnlyInline):
    model = Return
    fields = ("id", "status", "reason", "created_at", "received_at")
    show_change_link = True


def _apply(
    admin_: admin.ModelAdmin,
    request: HttpRequest,
    rows: QuerySet,
    action: Callable[[object], object],
    *,
    label: Callable[[object], str],
    done: str,
) -> None:
    succeeded = 0
    for row in rows:
        try:
            action(row)
        except (DomainError, GatewayFailure) as exc:
            admin_.message_user(request, f"{label(row)}: {exc}", level=messages.WARNING)
        else:
            succeeded += 1
    if succeeded:
        admin_.message_user(request, f"{done}: {succeeded}.", level=messages.SUCCESS)


def _actor(request: HttpRequest) -> str:
    return f"staff:{request.user.get_username()}"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "status", "email", "total", "currency", "shipping_method", "created_at")
    list_filter = ("status", "saga__state", "currency", "shipping_method", "created_at")
    search_fields = ("number", "email", "=id", "ship_full_name", "lines__sku")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (
        OrderLineInline,
        PaymentInline,
        ShipmentInline,
        RefundInline,
        ReturnInline,
        HistoryInline,
        CheckoutSagaInline,
    )
    actions = ("ship_orders", "mark_delivered", "cancel_orders")
    fieldsets = (
        (None, {"fields": ("id", "number", "status", "customer_id", "email", "created_at", "updated_at")}),
        (
            "Amounts",
            {
                "fields": (
                    "currency",
                    "subtotal",
                    "discount_total",
                    "shipping_method",
                    "shipping_total",
                    "shipping_tax",
                    "tax_total",
                    "total",
                    "prices_include_tax",
                    "vouchers",
                )
            },
        ),
        (
            "Shipping address",
            {
                "fields": (
                    "ship_full_name",
                    "ship_line1",
                    "ship_line2",
                    "ship_city",
                    "ship_postal_code",
                    "ship_country",
                    "ship_phone",
                )
            },
        ),
        (
            "Checkout",
            {
                "fields": (
                    "cart_id",
                    "operation",
                    "anonymised_at",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).distinct() if "q" in request.GET else super().get_queryset(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> list[str]:
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    @admin.action(description="Ship every remaining line of the selected orders", permissions=["change"])
    def ship_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda order: services.ship_order(order_id=order.pk, actor=_actor(request)),
            label=lambda order: f"Order {order.number}",
            done="Orders shipped",
        )

    @admin.action(description="Mark the selected shipped orders as delivered", permissions=["change"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda order: services.mark_delivered(order_id=order.pk, actor=_actor(request)),
            label=lambda order: f"Order {order.number}",
            done="Orders marked delivered",
        )

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        """Customer service's own permission (``orders.cancel_order``): the warehouse changes orders
        by shipping them, and must not be able to cancel them."""
        return request.user.has_perm("orders.cancel_order")

    @admin.action(description="Cancel the selected orders (refund, release stock)", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda order: services.cancel_order(order_id=order.pk, actor=_actor(request)),
            label=lambda order: f"Order {order.number}",
            done="Orders cancelled",
        )


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ("sku", "quantity")


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "status", "created_at", "received_at", "received_by")
    list_filter = ("status", "created_at")
    search_fields = ("=id", "order__number", "order__email", "lines__sku")
    readonly_fields = ("id", "order", "status", "reason", "created_at", "received_at", "received_by")
    inlines = (ReturnLineInline,)
    actions = ("receive_returns",)
    list_select_related = ("order",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Return | None = None) -> bool:
        return False

    @admin.action(description="Receive the selected returns (stock back, refund)", permissions=["change"])
    def receive_returns(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(
            self,
            request,
            queryset,
            lambda ret: services.receive_return(return_id=ret.pk, actor=_actor(request)),
            label=lambda ret: f"Return {str(ret.pk)[:8]} of order {ret.order.number}",
            done="Returns received",
        )


@admin.register(GatewayCharge)
class GatewayChargeAdmin(admin.ModelAdmin):
    """The built-in test gateway's own ledger, for reconciling by eye (read-only)."""

    list_display = (
        "id",
        "idempotency_key",
        "token",
        "status",
        "amount",
        "captured",
        "refunded",
        "currency",
        "created_at",
    )
    list_filter = ("status", "token")
    search_fields = ("=id", "idempotency_key")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
