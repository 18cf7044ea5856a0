"""Staff screens of the cart context: carts with their lines and current figures, read-only.

Customer service looks at carts to help a customer; nobody edits one here (a cart changes only through
the customer's own requests, where stock and prices are checked). Superusers may delete a cart.
"""

from django.contrib import admin
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest

from contexts.cart import selectors
from contexts.cart.models import Cart, CartLine


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    can_delete = False
    fields = ("sku", "quantity", "added_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AnonymousFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("anonymous", "anonymous"), ("customer", "a customer")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "anonymous":
            return queryset.filter(customer_id__isnull=True)
        if self.value() == "customer":
            return queryset.filter(customer_id__isnull=False)
        return queryset


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("id", "customer_id", "status", "line_count", "item_count", "currency", "country", "updated_at")
    list_filter = ("status", AnonymousFilter, "currency", "country")
    search_fields = ("=id", "=customer_id", "=order_id", "lines__sku")
    date_hierarchy = "updated_at"
    inlines = [CartLineInline]
    fields = (
        "id",
        "customer_id",
        "status",
        "currency",
        "voucher_codes",
        "country",
        "shipping_method",
        "current_figures",
        "order_id",
        "merged_into",
        "created_at",
        "updated_at",
        "closed_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_lines=Count("lines"), _items=Sum("lines__quantity"))

    @admin.display(description="lines", ordering="_lines")
    def line_count(self, cart: Cart) -> int:
        return cart._lines  # type: ignore[attr-defined]

    @admin.display(description="items", ordering="_items")
    def item_count(self, cart: Cart) -> int:
        return cart._items or 0  # type: ignore[attr-defined]

    @admin.display(description="figures now")
    def current_figures(self, cart: Cart) -> str:
        """What the customer sees now: pricing's quote of the cart (not stored)."""
        state = selectors.load_cart(cart.pk)
        if state is None:
            return "-"
        priced = selectors.priced(state)
        c = priced.currency
        return (
            f"subtotal {priced.subtotal} {c}, discount {priced.discount_total} {c}, "
            f"shipping {priced.shipping_total} {c}, tax {priced.tax_total} {c}, total {priced.total} {c}"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser
