"""Returns (received here, which refunds them) and the built-in test gateway's charges, each labelled
with its order's number rather than a UUID."""

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from contexts.orders.admin._orders import ReadOnlyInline, money, money_field
from contexts.orders.admin._transitions import RECEIVE_RETURN, actor, apply
from contexts.orders.models import GatewayCharge, Payment, Return, ReturnLine


def order_link(order) -> str:
    return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order.pk]), order)


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ("sku", "quantity")


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ("label", "order_", "status", "units", "created_at", "received_at")
    list_display_links = ("label",)
    list_filter = ("status", "created_at")
    search_fields = ("=id", "order__number", "order__email", "lines__sku")
    search_help_text = "Order number, the customer's email, or a returned SKU."
    readonly_fields = ("order_", "status", "reason", "created_at", "received_at", "received_by", "refund_", "id")
    fields = readonly_fields
    inlines = (ReturnLineInline,)
    actions = ("receive_returns",)
    list_select_related = ("order", "refund")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("lines")

    @admin.display(description="return", ordering="created_at")
    def label(self, ret: Return) -> str:
        return str(ret)

    @admin.display(description="order", ordering="order__number")
    def order_(self, ret: Return) -> str:
        return order_link(ret.order)

    @admin.display(description="units")
    def units(self, ret: Return) -> str:
        return ", ".join(f"{line.quantity} × {line.sku}" for line in ret.lines.all())

    @admin.display(description="refund")
    def refund_(self, ret: Return) -> str:
        refund = getattr(ret, "refund", None)
        if refund is None:
            return "not yet (refunded when received)"
        state = "sent" if refund.completed else "not completed yet"
        return f"{money(refund.amount, ret.order.currency)}, {state}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Return | None = None) -> bool:
        return False

    @admin.action(description="Receive the selected returns (stock back, refund)", permissions=["change"])
    def receive_returns(self, request: HttpRequest, queryset: QuerySet) -> None:
        apply(
            self,
            request,
            queryset,
            lambda ret: RECEIVE_RETURN.run(return_id=ret.pk, actor=actor(request)),
            label=lambda ret: f"Return of order {ret.order.number}",
            done=RECEIVE_RETURN.done,
        )


@admin.register(GatewayCharge)
class GatewayChargeAdmin(admin.ModelAdmin):
    """The built-in test gateway's own ledger, for reconciling by eye (read-only)."""

    list_display = ("id", "order_number", "status", "amount_", "refunded_", "created_at")  # captured: on its page
    list_filter = ("status", "token", "currency")
    search_fields = ("=id", "idempotency_key")
    search_help_text = "An order number, the charge's id or its idempotency key."
    fields = (
        "id",
        "order_number",
        "status",
        "amount_",
        "captured_",
        "refunded_",
        "token",
        "idempotency_key",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Each charge with the number of the order whose payment it is (one subquery, same database)."""
        payments = Payment.objects.filter(charge_id=OuterRef("pk"))
        return super().get_queryset(request).annotate(number=Subquery(payments.values("order__number")[:1]))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """Staff look a charge up by the order it paid for: its number finds the charge of that order's payment."""
        results, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            paid = Payment.objects.filter(order__number=term).exclude(charge_id="").values("charge_id")
            results = results | queryset.filter(pk__in=paid)
        return results, duplicates

    @admin.display(description="order", ordering="number")
    def order_number(self, charge: GatewayCharge) -> str:
        return charge.number or "-"

    amount_ = money_field("amount")
    captured_ = money_field("captured")
    refunded_ = money_field("refunded")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
