"""Staff screens of the pricing context (merchandisers).

Forms validate through the models' ``clean()`` (the same rules as the api, from ``domain``); saves
and deletes go through the services so the admin publishes the same events as the api.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.utils import timezone

from contexts.pricing import services
from contexts.pricing.exceptions import InvalidPricingInput, PricingError
from contexts.pricing.models import (
    Price,
    Promotion,
    ShippingMethod,
    ShippingRate,
    ShippingZone,
    Status,
    TaxRate,
    Voucher,
    VoucherRedemption,
)


def _refusal(error: PricingError) -> str:
    if isinstance(error, InvalidPricingInput) and error.errors:
        return "; ".join(f"{field}: {' '.join(texts)}" for field, texts in error.errors.items())
    return error.detail


class ServiceAdmin(admin.ModelAdmin):
    """Saves and deletes go through a service; a refusal the form could not foresee (the state changed
    between the form's checks and the save, e.g. a checkout used the voucher meanwhile) is shown as an
    error message on the same page and nothing is saved, never a server error."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PricingError as error:
            self.message_user(request, f"Nothing was saved: {_refusal(error)}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except PricingError as error:
            self.message_user(request, f"Nothing was deleted: {_refusal(error)}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except PricingError as error:  # an action (bulk delete) refused
            self.message_user(request, f"Nothing was changed: {_refusal(error)}", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class OnSaleNowFilter(admin.SimpleListFilter):
    title = "on sale now"
    parameter_name = "on_sale"

    def lookups(self, request, model_admin):
        return (("yes", "On sale now"), ("no", "Not on sale"))

    def queryset(self, request, queryset):
        on_sale = Price.objects.on_sale_at(timezone.now()).values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=on_sale)
        if self.value() == "no":
            return queryset.exclude(pk__in=on_sale)
        return queryset


class ScheduleStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Status.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == Status.ACTIVE:
            return queryset.live_at(now)
        if self.value() == Status.SCHEDULED:
            return queryset.scheduled_at(now)
        if self.value() == Status.ENDED:
            return queryset.ended_at(now)
        return queryset


def _status(obj) -> str:
    now = timezone.now()
    if not obj.is_active or (obj.ends_at is not None and obj.ends_at <= now):
        return Status.ENDED.label
    if obj.starts_at is not None and obj.starts_at > now:
        return Status.SCHEDULED.label
    return Status.ACTIVE.label


@admin.register(Price)
class PriceAdmin(ServiceAdmin):
    list_display = ("sku", "price", "sale", "tax_class", "on_sale_now")  # fits 1400 px; the rest on its page
    list_filter = ("currency", "tax_class", OnSaleNowFilter)
    search_fields = ("sku",)
    readonly_fields = ("updated_at",)
    list_per_page = 100

    @admin.display(description="price", ordering="amount")
    def price(self, obj: Price) -> str:
        return f"{obj.amount} {obj.currency}"

    @admin.display(description="sale price", ordering="sale_amount")
    def sale(self, obj: Price) -> str:
        if obj.sale_amount is None:
            return "-"
        since = f" from {obj.sale_starts_at:%d %b %Y}" if obj.sale_starts_at else ""
        until = f" until {obj.sale_ends_at:%d %b %Y}" if obj.sale_ends_at else ""
        return f"{obj.sale_amount} {obj.currency}{since}{until}"

    @admin.display(boolean=True, description="on sale now")
    def on_sale_now(self, obj: Price) -> bool:
        return obj.is_on_sale()

    def get_readonly_fields(self, request, obj=None):
        # a price is identified by (sku, currency): to move one, delete it and add the new one
        return ("sku", "currency", "updated_at") if obj else ("updated_at",)

    def save_model(self, request, obj, form, change):
        services.save_price(obj)

    def delete_model(self, request, obj):
        services.remove_price(sku=obj.sku, currency=obj.currency)

    def delete_queryset(self, request, queryset):
        for sku, currency in queryset.values_list("sku", "currency"):
            services.remove_price(sku=sku, currency=currency)


class ListField(forms.CharField):
    """A JSON list edited as comma- or newline-separated text."""

    def __init__(self, *, item=str, **kwargs):
        self.item = item
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        parts = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
        try:
            return [self.item(part) for part in parts]
        except ValueError:
            raise forms.ValidationError("Give a comma-separated list of whole numbers.") from None


class PromotionForm(forms.ModelForm):
    skus = ListField(help_text="SKUs, comma-separated (scope: SKUs).")
    category_ids = ListField(item=int, help_text="Catalogue category ids, comma-separated (scope: categories).")

    class Meta:
        model = Promotion
        fields = (
            "name",
            "kind",
            "value",
            "currency",
            "scope",
            "skus",
            "category_ids",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "priority",
            "stacks",
            "is_active",
        )


@admin.register(Promotion)
class PromotionAdmin(ServiceAdmin):
    form = PromotionForm
    list_display = ("name", "discount", "scope", "priority", "stacks", "runs", "status")  # fits 1400 px
    list_filter = (ScheduleStatusFilter, "kind", "scope", "stacks", "currency")
    search_fields = ("name", "skus")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="status")
    def status(self, obj: Promotion) -> str:
        return _status(obj)

    @admin.display(description="discount", ordering="value")
    def discount(self, obj: Promotion) -> str:
        return f"{obj.value}%" if obj.kind == "percentage" else f"{obj.value} {obj.currency or ''}".strip()

    @admin.display(description="runs", ordering="starts_at")
    def runs(self, obj: Promotion) -> str:
        since = f"{obj.starts_at:%d %b %Y}" if obj.starts_at else "always"
        return f"{since} – {obj.ends_at:%d %b %Y}" if obj.ends_at else f"from {since}"

    def save_model(self, request, obj, form, change):
        services.save_promotion(obj)

    def delete_model(self, request, obj):
        services.delete_promotion(promotion_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            services.delete_promotion(promotion_id=pk)


class RedemptionInline(admin.TabularInline):
    """Who used the voucher, for which order: read-only (redemptions come from checkouts)."""

    model = VoucherRedemption
    fields = ("order_id", "customer_id", "amount", "currency", "redeemed_at", "released_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ("-redeemed_at",)


@admin.register(Voucher)
class VoucherAdmin(ServiceAdmin):
    list_display = ("code", "kind", "value", "currency", "min_spend", "times_used", "usage_limit", "status")
    list_filter = (ScheduleStatusFilter, "kind", "currency")
    search_fields = ("code", "description")
    readonly_fields = ("times_used", "usage_by_customer", "created_at")
    inlines = (RedemptionInline,)

    @admin.display(description="status")
    def status(self, obj: Voucher) -> str:
        return _status(obj)

    def save_model(self, request, obj, form, change):
        services.save_voucher(obj)

    @admin.display(description="current uses per customer")
    def usage_by_customer(self, obj: Voucher) -> str:
        if obj.pk is None:
            return "-"
        rows = (
            obj.redemptions.filter(released_at__isnull=True)
            .values("customer_id")
            .annotate(uses=Count("id", filter=Q(released_at__isnull=True)))
            .order_by("-uses", "customer_id")[:50]
        )
        parts = [f"{row['customer_id'] or 'guest'}: {row['uses']}" for row in rows]
        return ", ".join(parts) or "none yet"


# --- Shipping and tax ----------------------------------------------------------------------------


class ShippingRateInline(admin.TabularInline):
    model = ShippingRate
    fields = ("zone", "currency", "price", "free_over")
    extra = 0


@admin.register(ShippingZone)
class ShippingZoneAdmin(ServiceAdmin):
    list_display = ("name", "country_list")
    search_fields = ("name", "countries")

    @admin.display(description="countries")
    def country_list(self, obj: ShippingZone) -> str:
        return ", ".join(obj.country_codes())

    def save_model(self, request, obj, form, change):
        services.save_shipping_zone(obj)


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ServiceAdmin):
    list_display = ("code", "name", "delivery_days", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    inlines = (ShippingRateInline,)

    def save_model(self, request, obj, form, change):
        services.save_shipping_method(obj)


@admin.register(ShippingRate)
class ShippingRateAdmin(ServiceAdmin):
    list_display = ("method", "zone", "currency", "price", "free_over")
    list_filter = ("method", "zone", "currency")
    list_select_related = ("method", "zone")

    def save_model(self, request, obj, form, change):
        services.save_shipping_rate(obj)


@admin.register(TaxRate)
class TaxRateAdmin(ServiceAdmin):
    list_display = ("country", "tax_class", "rate")
    list_filter = ("tax_class", "country")
    search_fields = ("country",)

    def save_model(self, request, obj, form, change):
        services.save_tax_rate(obj)
