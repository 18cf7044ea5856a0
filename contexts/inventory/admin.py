"""Staff screens of the inventory context (the ``warehouse`` role).

Quantities are never edited in place: on hand changes only through the adjustment form, which calls
the service so that every change has its ledger movement and its event. The ledger is read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from contexts.inventory import services
from contexts.inventory.conf import inventory_settings
from contexts.inventory.exceptions import InventoryError
from contexts.inventory.models import (
    Reservation,
    ReservationLine,
    Shipment,
    ShipmentLine,
    StockLevel,
    StockMovement,
    Warehouse,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class WarehouseForm(forms.ModelForm):
    """Checks what the services would refuse, so the form shows it next to the field instead of a 500."""

    class Meta:
        model = Warehouse
        fields = ("code", "name", "priority", "active")

    def clean(self) -> dict:
        data = super().clean()
        code = data.get("code", self.instance.code if self.instance.pk else None)
        if code is None or self.errors:
            return data
        try:
            services.check_warehouse(code=code, name=data.get("name"), priority=data.get("priority"))
        except InventoryError as error:
            raise forms.ValidationError(error.detail) from None
        return data


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    form = WarehouseForm
    list_display = ("code", "name", "priority", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("code", "name")
    ordering = ("-priority", "code")

    def get_readonly_fields(self, request: HttpRequest, obj: Warehouse | None = None) -> tuple[str, ...]:
        return ("code", "created_at") if obj else ("created_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Warehouse | None = None) -> bool:
        return False  # stock and history refer to it; deactivate instead

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, *args: object, **kwargs: object):
        """A refusal the form could not foresee (a race) is an error message on the same page, not a 500."""
        try:
            return super().changeform_view(request, object_id, *args, **kwargs)
        except InventoryError as error:
            self.message_user(request, error.detail, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Warehouse, form: forms.ModelForm, change: bool) -> None:
        # through the services, so switching a warehouse off announces the availability it takes away
        saved = services.ensure_warehouse(code=obj.code, name=obj.name, priority=obj.priority)
        saved = services.set_warehouse_status(code=saved.code, active=obj.active, priority=obj.priority)
        obj.pk, obj.created_at = saved.pk, saved.created_at


class LowStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("low", "Low stock"), ("out", "Out of stock")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        available = F("on_hand") - F("reserved") - F("allocated")
        if self.value() == "low":
            return queryset.alias(avail=available).filter(avail__lte=inventory_settings().low_stock_threshold)
        if self.value() == "out":
            return queryset.alias(avail=available).filter(avail__lte=0)
        return queryset


class AdjustmentForm(forms.Form):
    delta = forms.IntegerField(help_text="Units to add (positive) or take out (negative).")
    reason = forms.CharField(max_length=200, help_text="Why: stock take, damaged, found, lost…")
    reference = forms.CharField(max_length=128, required=False, help_text="Count sheet, ticket or note.")

    def clean_delta(self) -> int:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("An adjustment changes something: enter a non-zero number.")
        return delta


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ("sku", "warehouse", "on_hand", "reserved", "allocated", "available_display", "updated_at")
    list_filter = (LowStockFilter, "warehouse")
    search_fields = ("=sku", "sku")
    list_select_related = ("warehouse",)
    readonly_fields = ("sku", "warehouse", "on_hand", "reserved", "allocated", "updated_at")
    actions = ("adjust_stock",)

    @admin.display(description="available")
    def available_display(self, obj: StockLevel) -> int:
        return obj.available

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # stock arrives by receipt, import or adjustment, each with its ledger movement

    def has_delete_permission(self, request: HttpRequest, obj: StockLevel | None = None) -> bool:
        return False

    def get_urls(self) -> list:
        urls = [
            path(
                "<int:level_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="inventory_stocklevel_adjust",
            )
        ]
        return urls + super().get_urls()

    @admin.action(description="Adjust stock (with a reason in the ledger)", permissions=["change"])
    def adjust_stock(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one stock level to adjust.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:inventory_stocklevel_adjust", args=[queryset.get().pk]))

    def adjust_view(self, request: HttpRequest, level_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        level = get_object_or_404(StockLevel.objects.select_related("warehouse"), pk=level_id)
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.adjust_stock(
                    sku=level.sku,
                    warehouse_code=level.warehouse.code,
                    delta=form.cleaned_data["delta"],
                    reason=form.cleaned_data["reason"],
                    reference=form.cleaned_data["reference"],
                    actor=request.user.get_username() or f"user {request.user.pk}",
                )
            except InventoryError as error:
                form.add_error(None, error.detail)
            else:
                self.message_user(request, f"Adjusted {level.sku} in {level.warehouse.code}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:inventory_stocklevel_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Adjust {level.sku} in {level.warehouse.code}",
            "level": level,
            "form": form,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/adjust.html", context)


class ReservationLineInline(ReadOnlyInline):
    model = ReservationLine
    fields = ("sku", "warehouse", "quantity", "shipped")
    readonly_fields = fields


class ReservationStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active (holding stock)"), ("expired", "Expired, or past expiry and not yet released")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(status=Reservation.Status.ACTIVE, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(status=Reservation.Status.EXPIRED) | queryset.filter(
                status=Reservation.Status.ACTIVE, expires_at__lte=now
            )
        return queryset


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("reference", "status", "expires_at", "created_at", "committed_at", "closed_at")
    list_filter = (ReservationStateFilter, "status")
    search_fields = ("=reference",)
    readonly_fields = ("reference", "status", "expires_at", "created_at", "committed_at", "closed_at")
    inlines = (ReservationLineInline,)
    actions = ("release_reservations",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Reservation | None = None) -> bool:
        return False

    @admin.action(description="Release the stock they hold", permissions=["change"])
    def release_reservations(self, request: HttpRequest, queryset: QuerySet) -> None:
        released = 0
        for reference in queryset.values_list("reference", flat=True):
            try:
                services.release_reservation(reference=reference, reason="released by staff")
            except InventoryError as error:  # a committed one belongs to an order: cancel the order instead
                self.message_user(request, f"{reference}: {error.detail}", messages.ERROR)
            else:
                released += 1
        if released:
            self.message_user(request, f"Released {released} reservation(s).", messages.SUCCESS)


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    fields = ("sku", "warehouse", "quantity")
    readonly_fields = fields


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ("id", "reference", "status", "created_at", "dispatched_at")
    list_filter = ("status",)
    search_fields = ("=reference", "=id")
    readonly_fields = ("reference", "status", "created_at", "dispatched_at")
    inlines = (ShipmentLineInline,)
    actions = ("dispatch_shipments",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Shipment | None = None) -> bool:
        return False

    @admin.action(description="Mark as dispatched", permissions=["change"])
    def dispatch_shipments(self, request: HttpRequest, queryset: QuerySet) -> None:
        dispatched = 0
        for shipment_id in queryset.values_list("pk", flat=True):
            try:
                services.dispatch_shipment(shipment_id=shipment_id)
            except InventoryError as error:
                self.message_user(request, f"Shipment {shipment_id}: {error.detail}", messages.ERROR)
            else:
                dispatched += 1
        if dispatched:
            self.message_user(request, f"Dispatched {dispatched} shipment(s).", messages.SUCCESS)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The ledger: read-only, append-only."""

    list_display = (
        "created_at",
        "sku",
        "warehouse",
        "kind",
        "change",
        "reason",
        "short_reference",
        "actor",
    )
    list_filter = ("kind", "warehouse")
    search_fields = ("=sku", "=reference", "actor")
    search_help_text = "A SKU, a whole reference (an order's id), or who made the change."
    list_select_related = ("warehouse",)
    date_hierarchy = "created_at"

    @admin.display(description="change → on hand", ordering="quantity")
    def change(self, movement: StockMovement) -> str:
        return f"{movement.quantity:+d} → {movement.on_hand_after}"

    @admin.display(description="reference", ordering="reference")
    def short_reference(self, movement: StockMovement) -> str:
        """An order's id is 36 characters: its start, the whole on hover (and on the movement's page)."""
        reference = movement.reference
        if len(reference) <= 12:
            return reference
        return format_html('<span title="{}">{}…</span>', reference, reference[:8])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StockMovement | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StockMovement | None = None) -> bool:
        return False
