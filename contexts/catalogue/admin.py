"""Staff screens of the catalogue context, for merchandisers.

Publishing goes through the services (the ``publish_products`` / ``unpublish_products`` actions), so
events are published and the listing follows; an edit saved here refreshes the product's listing row
and publishes ``ProductUpdated`` once its variants and images are saved too.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from contexts.catalogue.models import Category, Product, ProductImage, Variant
from contexts.catalogue.services import categories, products
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("sku", "name", "attributes", "position")


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("url", "alt_text", "position")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "category", "is_published", "variant_count", "created_at")
    list_filter = ("is_published", ("category", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "slug", "variants__sku")
    list_select_related = ("category",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("is_published", "published_at", "created_at", "updated_at", "prices_and_stock")
    fields = ("name", "slug", "category", "description", "attributes", *readonly_fields)
    inlines = (VariantInline, ProductImageInline)
    actions = ("publish_products", "unpublish_products")
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(variants_total=Count("variants"))

    @admin.display(description="variants", ordering="variants_total")
    def variant_count(self, product: Product) -> int:
        return product.variants_total

    @admin.display(description="prices and stock now")
    def prices_and_stock(self, product: Product) -> str:
        """Each variant's current price in every shop currency (pricing's, sale and promotions applied)
        and what each warehouse has of it (inventory's), read through their ``api`` and linked to where
        they are edited: staff need not look for them in two other sections."""
        skus = list(product.variants.order_by("position", "sku").values_list("sku", flat=True)) if product.pk else []
        if not skus:
            return "No variants yet."
        prices = {
            currency: pricing_api.prices_for(skus=skus, currency=currency) for currency in settings.SHOP_CURRENCIES
        }
        stock: dict[str, list] = {}
        for level in inventory_api.get_stock_levels(skus=skus):
            stock.setdefault(level.sku, []).append(level)
        price_list, stock_list = (
            reverse("admin:pricing_price_changelist"),
            reverse("admin:inventory_stocklevel_changelist"),
        )

        def price(sku: str, currency: str) -> str:
            found = prices[currency].get(sku)
            if found is None:
                return "no price"
            if found.on_sale:
                return f"{found.amount} {currency} (was {found.base_amount})"
            return f"{found.amount} {currency}"

        rows = format_html_join(
            "",
            '<tr><td>{}</td><td><a href="{}?q={}">{}</a></td><td><a href="{}?q={}">{}</a></td></tr>',
            (
                (
                    sku,
                    price_list,
                    sku,
                    "; ".join(price(sku, currency) for currency in settings.SHOP_CURRENCIES),
                    stock_list,
                    sku,
                    ", ".join(
                        f"{lv.warehouse_code}: {lv.available} available ({lv.on_hand} on hand)"
                        for lv in stock.get(sku, [])
                    )
                    or "none in any warehouse",
                )
                for sku in skus
            ),
        )
        return format_html(
            '<table class="prices-and-stock"><tr><th>SKU</th><th>price</th><th>stock per warehouse</th></tr>{}</table>',
            rows,
        )

    def get_search_results(self, request, queryset, search_term):
        results, _ = super().get_search_results(request, queryset, search_term)
        return results.distinct(), False

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(f.has_changed() for f in formsets)):
            products.record_product_edit(product_id=form.instance.pk)

    @admin.action(description="Publish selected products", permissions=["change"])
    def publish_products(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = products.set_published(product_ids=list(queryset.values_list("pk", flat=True)), published=True)
        self.message_user(request, f"{count} product(s) published.", messages.SUCCESS)

    @admin.action(description="Unpublish selected products", permissions=["change"])
    def unpublish_products(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        count = products.set_published(product_ids=list(queryset.values_list("pk", flat=True)), published=False)
        self.message_user(request, f"{count} product(s) unpublished.", messages.SUCCESS)


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("name", "slug", "parent")

    def clean_parent(self) -> Category | None:
        parent = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk and parent.path.startswith(self.instance.path):
            raise forms.ValidationError("A category cannot move under itself or one of its descendants.")
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """The tree in path order, indented by depth; moving a category moves its subtree (one UPDATE)."""

    form = CategoryForm
    list_display = ("indented_name", "slug", "parent", "product_count")
    search_fields = ("name", "slug")
    list_select_related = ("parent",)
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("path",)

    @admin.display(description="name", ordering="path")
    def indented_name(self, category: Category) -> str:
        return str(category)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(products_total=Count("products"))

    @admin.display(description="products", ordering="products_total")
    def product_count(self, category: Category) -> int:
        return category.products_total

    def save_model(self, request: HttpRequest, obj: Category, form, change: bool) -> None:
        categories.save_category(obj)
