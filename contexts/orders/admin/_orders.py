"""The order list and the order's page: read-only, with its transitions as buttons."""

from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from contexts.orders import domain, selectors, services
from contexts.orders.admin._transitions import RECEIVE_RETURN, TRANSITIONS, Transition, actor, apply, attempt
from contexts.orders.models import (
    CheckoutSaga,
    Order,
    OrderLine,
    OrderStatusChange,
    Payment,
    Refund,
    Return,
    SagaStep,
    Shipment,
)


def money(amount: Decimal | None, currency: str) -> str:
    return "-" if amount is None else f"{amount:,.2f} {currency}"


def admin_link(url_name: str, pk: object, text: str) -> str:
    """A link to another section's page (by URL name: no import of another context), or the bare text
    when that section is not installed here."""
    try:
        return format_html('<a href="{}">{}</a>', reverse(url_name, args=[pk]), text)
    except NoReverseMatch:
        return text


def money_field(name: str, currency: str = "currency", description: str | None = None):
    """A read-only column showing the amount ``name`` with its currency (the row's ``currency``, or the
    dotted path given, e.g. ``order.currency`` for a line)."""

    def show(self, row) -> str:
        owner = row
        for part in currency.split(".")[:-1]:
            owner = getattr(owner, part)
        return money(getattr(row, name), getattr(owner, currency.split(".")[-1]))

    show.__name__ = f"{name}_"
    return admin.display(description=description or name.replace("_", " "))(show)


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
    fields = ("sku", "name", "quantity", "unit_price_", "discount_", "tax_rate", "tax_", "line_total_")

    unit_price_ = money_field("unit_price", "order.currency")
    discount_ = money_field("discount", "order.currency")
    tax_ = money_field("tax", "order.currency")
    line_total_ = money_field("line_total", "order.currency")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("status", "amount_", "captured_", "refunded_", "gateway", "charge")

    amount_ = money_field("amount")
    captured_ = money_field("captured")
    refunded_ = money_field("refunded")

    @admin.display(description="charge at the gateway")
    def charge(self, payment: Payment) -> str:
        if not payment.charge_id:
            return "-"
        return admin_link("admin:orders_gatewaycharge_change", payment.charge_id, payment.charge_id)


class HistoryInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("at", "from_status", "to_status", "actor", "note")
    verbose_name_plural = "status history"


SAGA_MARKS = {
    # outcome → (mark, css class, what it says); a forward step that did its work is normal: neutral
    SagaStep.Outcome.DONE: ("✓", "saga-done", "done"),
    SagaStep.Outcome.SKIPPED: ("–", "saga-done", "skipped"),
    SagaStep.Outcome.FAILED: ("✖", "saga-failed", "failed"),
}


class CheckoutSagaInline(ReadOnlyInline):
    """The order's checkout saga (its own row) with its log of steps and compensations under it."""

    model = CheckoutSaga
    fields = ("state", "position", "attempts", "lease_holder", "lease_until", "failure", "log")
    verbose_name = verbose_name_plural = "checkout saga log: state, lease, failure and steps"

    @admin.display(description="failure")
    def failure(self, saga: CheckoutSaga) -> str:
        if not saga.failure_code:
            return "-"
        return format_html(
            '<span class="saga-failed">{} ({})</span> {}', saga.failure_code, saga.failure_status, saga.failure_detail
        )

    @admin.display(description="log")
    def log(self, saga: CheckoutSaga) -> str:
        def row(step: SagaStep) -> tuple:
            mark, css, said = SAGA_MARKS.get(step.outcome, ("?", "saga-failed", step.outcome))
            if step.compensation and step.outcome != SagaStep.Outcome.FAILED:
                mark, css, said = "↩", "saga-compensation", f"undone ({step.outcome})"
            name = f"undo {step.name}" if step.compensation else step.name
            started = timezone.localtime(step.started_at)
            at = f"{started:%d %b %H:%M:%S}.{started.microsecond // 1000:03d}"
            return (css, mark, said, at, name, said, round(step.duration_ms, 1), step.error)

        rows = format_html_join(
            "",
            '<tr class="{}"><td class="saga-mark" title="{}">{}</td><td>{}</td><td>{}</td><td>{}</td>'
            "<td>{} ms</td><td>{}</td></tr>",
            (
                (css, said, mark, started, name, outcome, ms, error)
                for css, mark, said, started, name, outcome, ms, error in (row(s) for s in saga.steps.all())
            ),
        )
        return format_html(
            '<table class="saga-log"><tr><th></th><th>started</th><th>step</th><th>outcome</th><th>duration</th>'
            "<th>error</th></tr>{}</table>",
            rows,
        )


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ("shipment", "status", "units", "dispatched_at")

    @admin.display(description="shipment in inventory")
    def shipment(self, shipment: Shipment) -> str:
        return admin_link("admin:inventory_shipment_change", shipment.shipment_id, f"#{shipment.shipment_id}")

    @admin.display(description="lines")
    def units(self, shipment: Shipment) -> str:
        return ", ".join(f"{line['quantity']} × {line['sku']}" for line in shipment.lines)


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("created_at", "reason", "amount_", "completed")

    @admin.display(description="amount (shipping, tax)")
    def amount_(self, refund: Refund) -> str:
        currency = refund.order.currency
        return f"{money(refund.amount, currency)} ({money(refund.shipping, currency)}, {money(refund.tax, currency)})"


class ReturnInline(ReadOnlyInline):
    model = Return
    fields = ("status", "reason", "created_at", "received_at")
    show_change_link = True


class PaymentAttentionFilter(admin.SimpleListFilter):
    """The dashboard's "payments needing attention": a payment pending, or a refund not completed, for
    longer than a few minutes (``selectors.payment_attention_condition``)."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("payment", "Payment pending or refund unfinished")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "payment":
            stuck = selectors.orders().filter(selectors.payment_attention_condition(timezone.now()))
            return queryset.filter(pk__in=stuck.values("pk"))
        return queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "status", "email", "total_", "created_at")
    list_filter = ("status", PaymentAttentionFilter, "saga__state", "currency", "shipping_method", "created_at")
    search_fields = ("number", "email", "=id", "ship_full_name", "lines__sku")
    search_help_text = "Order number, email, name on the address, or a SKU in it."
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    list_per_page = 50
    change_form_template = "admin/orders/order/change_form.html"
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
        (None, {"fields": ("number", "status", "customer", "email", "created_at", "updated_at")}),
        (
            "Amounts",
            {
                "fields": (
                    "subtotal_",
                    "discount_total_",
                    "vouchers_",
                    "shipping_method",
                    "shipping_total_",
                    "shipping_tax_",
                    "tax_total_",
                    "total_",
                    "prices_include_tax",
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
        ("Checkout", {"fields": ("id", "cart", "operation", "anonymised_at"), "classes": ("collapse",)}),
    )

    subtotal_ = money_field("subtotal")
    discount_total_ = money_field("discount_total")
    shipping_total_ = money_field("shipping_total")
    shipping_tax_ = money_field("shipping_tax")
    tax_total_ = money_field("tax_total")
    total_ = money_field("total")

    @admin.display(description="customer")
    def customer(self, order: Order) -> str:
        if order.customer_id is None:
            return "guest"
        return admin_link("admin:identity_user_change", order.customer_id, f"customer #{order.customer_id}")

    @admin.display(description="cart")
    def cart(self, order: Order) -> str:
        return admin_link("admin:cart_cart_change", order.cart_id, str(order.cart_id)) if order.cart_id else "-"

    @admin.display(description="vouchers")
    def vouchers_(self, order: Order) -> str:
        if not order.vouchers:
            return "-"
        return format_html_join(
            ", ",
            "{} (−{})",
            ((v.get("code", "?"), money(Decimal(v.get("amount", "0")), order.currency)) for v in order.vouchers),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).distinct() if "q" in request.GET else super().get_queryset(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> list[str]:
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        """Customer service's own permission (``orders.cancel_order``): the warehouse changes orders
        by shipping them, and must not be able to cancel them."""
        return request.user.has_perm("orders.cancel_order")

    # --- The order's page: nothing to save, its transitions as buttons ------------------------------

    def changeform_view(self, request: HttpRequest, object_id=None, form_url: str = "", extra_context=None):
        """Read-only: no Save button, and a POST (a stale form saved over a newer status) is refused.
        The buttons are the transitions this user may run on the order in its status."""
        if request.method == "POST":
            raise PermissionDenied("Orders change through their transitions (the buttons), never by saving the form.")
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        order = self.get_object(request, object_id) if object_id else None
        if order is not None:
            extra_context["transitions"] = self.offered(request, order)
            extra_context["title"] = f"Order {order.number or str(order.pk)[:8]} ({order.get_status_display().lower()})"
        return super().changeform_view(request, object_id, form_url, extra_context)

    def offered(self, request: HttpRequest, order: Order) -> list[tuple[str, str, bool]]:
        """(label, confirmation URL, dangerous) of each transition this user may run on ``order`` now."""
        buttons = [
            (t.button, reverse("admin:orders_order_transition", args=[order.pk, t.name]), t.dangerous)
            for t in (TRANSITIONS[name] for name in domain.staff_transitions(order.status))
            if request.user.has_perm(t.permission)
        ]
        if request.user.has_perm(RECEIVE_RETURN.permission):
            for ret in selectors.returns_waiting().filter(order=order).order_by("created_at"):
                url = reverse("admin:orders_order_receive_return", args=[order.pk, ret.pk])
                buttons.append((f"{RECEIVE_RETURN.button} of {ret.created_at:%d %b}", url, False))
        return buttons

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<uuid:order_id>/do/<str:name>/", view(self.transition_view), name="orders_order_transition"),
            path(
                "<uuid:order_id>/receive/<uuid:return_id>/",
                view(self.receive_return_view),
                name="orders_order_receive_return",
            ),
            *super().get_urls(),
        ]

    def _confirm(
        self,
        request: HttpRequest,
        order: Order,
        transition: Transition,
        run,
        subject: str,
        refunds: Callable[[], Decimal] | None = None,
    ) -> HttpResponse:
        """GET: what will happen (with ``refunds``, what it sends back, by the rule the service applies),
        and a button to confirm. POST: run it, then back to the order's page."""
        if not request.user.has_perm(transition.permission):
            raise PermissionDenied(f"Your role may not {transition.button.lower()} orders.")
        order_url = reverse("admin:orders_order_change", args=[order.pk])
        if request.method == "POST":
            if attempt(self, request, run, subject):
                self.message_user(request, f"{transition.done}: 1.", level=messages.SUCCESS)
            return HttpResponseRedirect(order_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{transition.button}: order {order.number}",
            "opts": self.opts,
            "order": order,
            "subject": subject,
            "transition": transition,
            "order_url": order_url,
            "refunds": money(refunds(), order.currency) if refunds else None,
        }
        return TemplateResponse(request, "admin/orders/order/confirm_transition.html", context)

    def _order(self, request: HttpRequest, order_id: UUID) -> Order:
        order = self.get_object(request, str(order_id))
        if order is None or not self.has_view_or_change_permission(request, order):
            raise Http404("No such order.")
        return order

    def transition_view(self, request: HttpRequest, order_id: UUID, name: str) -> HttpResponse:
        order = self._order(request, order_id)
        transition = TRANSITIONS.get(name)
        if transition is None:
            raise Http404(f"No transition {name!r}.")
        run = lambda: transition.run(order_id=order.pk, actor=actor(request))  # noqa: E731
        refunds = (lambda: services.refund_on_cancel(order)) if name == "cancel" else None
        return self._confirm(request, order, transition, run, f"Order {order.number}", refunds)

    def receive_return_view(self, request: HttpRequest, order_id: UUID, return_id: UUID) -> HttpResponse:
        order = self._order(request, order_id)
        ret = selectors.returns().filter(pk=return_id, order=order).first()
        if ret is None:
            raise Http404("No such return of this order.")
        run = lambda: RECEIVE_RETURN.run(return_id=ret.pk, actor=actor(request))  # noqa: E731
        units = ", ".join(f"{line.quantity} × {line.sku}" for line in ret.lines.all())
        return self._confirm(
            request,
            order,
            RECEIVE_RETURN,
            run,
            f"Return of {units} from order {order.number}",
            lambda: services.refund_on_receipt(ret),
        )

    # --- The list's actions: the same services -----------------------------------------------------

    def _run_on(self, request: HttpRequest, queryset: QuerySet, transition: Transition) -> None:
        apply(
            self,
            request,
            queryset,
            lambda order: transition.run(order_id=order.pk, actor=actor(request)),
            label=lambda order: f"Order {order.number}",
            done=transition.done,
        )

    @admin.action(description="Ship every remaining line of the selected orders", permissions=["change"])
    def ship_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_on(request, queryset, TRANSITIONS["ship"])

    @admin.action(description="Mark the selected shipped orders as delivered", permissions=["change"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_on(request, queryset, TRANSITIONS["deliver"])

    @admin.action(description="Cancel the selected orders (refund, release stock)", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run_on(request, queryset, TRANSITIONS["cancel"])
