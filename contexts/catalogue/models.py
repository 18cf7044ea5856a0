"""The catalogue context's own state. No relation leaves this context.

Category tree: a materialized path. Each category stores ``path``, the ids from the root down to
itself, each followed by a slash (``/3/17/42/``). A category's descendants are the rows whose path
starts with its own (one indexed ``LIKE '/3/17/%'`` range scan, no recursion), its ancestors are the
ids in its path. Moving a category rewrites the paths of its subtree in one UPDATE; renames touch
nothing, since the path holds ids, not names. The listing read model copies the path, so a listing
filtered by category never joins the tree.

Prices and stock belong to pricing and inventory; the catalogue holds SKUs, and its listing read
model (``ListingEntry``) keeps denormalized copies of what a listing page shows, fed by their events.
"""

import json

from django import forms
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from contexts.catalogue.domain import validate_attributes, validate_no_control_characters, validate_prose


class AttributesField(models.JSONField):
    """A JSON object of text to text (``domain.validate_attributes``), ``{}`` for none.

    Django skips validation of a blank field's "empty" values, and ``[]``, ``""`` and ``None`` are
    empty to it; so the field is not blank (model validation always runs) but accepts ``{}`` and
    its form field is optional, and the validator judges every other value.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("validators", [validate_attributes])
        super().__init__(*args, **kwargs)

    def validate(self, value, model_instance) -> None:
        if value == {}:
            return
        if value in self.empty_values:
            validate_attributes(value)
        super().validate(value, model_instance)

    def formfield(self, **kwargs):
        return super().formfield(**{"required": False, "form_class": AttributesFormField, **kwargs})


class AttributesFormField(forms.JSONField):
    """The form side, for people: one attribute a line, ``name: value`` (an empty box is none). A JSON
    object is still taken as it is (pasted from the API); any other JSON (``null``, a list) is refused with
    the rule, not saved as NULL. Attributes a line cannot say exactly (a name with a colon, a value with a
    line break or edge spaces) are shown as JSON, so saving the page unchanged never alters them."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 48, "placeholder": "colour: blue\nmaterial: cotton"})

    def to_python(self, value):
        if isinstance(value, str) and not value.strip():
            return {}
        if isinstance(value, str):
            try:
                json.loads(value)
            except json.JSONDecodeError:
                if not value.lstrip().startswith(("{", "[")):
                    return _attribute_lines(value)
        return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, dict) and all(_fits_a_line(k, v) for k, v in value.items()):
            return "\n".join(f"{name}: {text}" for name, text in value.items())
        return super().prepare_value(value)

    def validate(self, value) -> None:
        super().validate(value)
        validate_attributes(value)


def _fits_a_line(name: object, text: object) -> bool:
    return (
        isinstance(name, str)
        and isinstance(text, str)
        and bool(name.strip())
        and ":" not in name
        and all(part == part.strip() and "\n" not in part and "\r" not in part for part in (name, text))
    )


def _attribute_lines(text: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValidationError(f"Line {number} ({line.strip()!r}): write one attribute a line, as name: value.")
        if name.strip() in attributes:
            raise ValidationError(f"Line {number}: {name.strip()!r} is named twice.")
        attributes[name.strip()] = value.strip()
    return attributes


class Category(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField(max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ("path",)
        constraints = [
            models.UniqueConstraint(fields=("parent", "name"), name="catalogue_category_unique_name_in_parent"),
            models.UniqueConstraint(
                fields=("name",), condition=Q(parent__isnull=True), name="catalogue_category_unique_root_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{'— ' * self.depth}{self.name}"

    def ancestor_ids(self) -> tuple[int, ...]:
        """Ids from the root down to this category, itself included."""
        return path_ids(self.path)


def path_ids(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in path.strip("/").split("/") if part)


class ProductQuerySet(models.QuerySet):
    def published(self) -> "ProductQuerySet":
        return self.filter(is_published=True)


class Product(models.Model):
    slug = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=200, validators=[validate_no_control_characters])
    description = models.TextField(blank=True, default="", validators=[validate_prose])
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    attributes = AttributesField()
    is_published = models.BooleanField(default=False, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    url = models.URLField(max_length=500)
    alt_text = models.CharField(max_length=200, blank=True, default="")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.url


class Variant(models.Model):
    """A sellable unit. Its SKU is unique across the whole catalogue and is what other contexts hold."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True, validators=[validate_no_control_characters])
    name = models.CharField(max_length=200, validators=[validate_no_control_characters])
    attributes = AttributesField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.sku


class ListingEntry(models.Model):
    """One row per published product: everything a listing page shows, filters and sorts on.

    Listing pages read only this table (and ``ListingPrice`` for other currencies). ``price_amount``
    is the lowest current price in the shop's default currency, denormalized for sorting and
    filtering without a join. ``search_vector`` is filled on PostgreSQL only (GIN-indexed);
    SQLite searches ``search_document`` with ``icontains``.
    """

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="listing", primary_key=True)
    slug = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=200)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    category_slug = models.SlugField(max_length=120)
    category_path = models.CharField(max_length=255, db_index=True)
    currency = models.CharField(max_length=3)
    price_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, db_index=True)
    in_stock = models.BooleanField(default=False, db_index=True)
    image_url = models.URLField(max_length=500, blank=True, default="")
    search_document = models.TextField(blank=True, default="")
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(db_index=True)
    refreshed_at = models.DateTimeField(auto_now=True)  # rewritten with every change: the detail's version
    # The product detail, ready to render: description, attributes, images, and per variant its
    # attributes, availability and prices in every currency (``listing._document``). One indexed read.
    document = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "listing entries"
        indexes = [
            models.Index(fields=("name",), name="catalogue_listing_name"),
            # The default listing's order (name, then id, over the products priced in the default currency):
            # deep pages find their rows by walking this index alone (see rest.pagination).
            models.Index(
                fields=("name", "product"),
                name="catalogue_listing_order",
                condition=models.Q(price_amount__isnull=False),
            ),
            # A category without subcategories in the default order: its page walks this index, as the whole
            # listing walks the one above (``selectors.listing``; a parent category filters by path).
            models.Index(
                fields=("category", "name", "product"),
                name="catalogue_listing_in_category",
                condition=models.Q(price_amount__isnull=False),
            ),
            GinIndex(fields=("search_vector",), name="catalogue_listing_search"),
        ]

    def __str__(self) -> str:
        return self.slug


class ListingPrice(models.Model):
    """The lowest current price of a listed product in one currency (every currency, default included)."""

    entry = models.ForeignKey(ListingEntry, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    base_amount = models.DecimalField(max_digits=12, decimal_places=2)
    on_sale = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("entry", "currency"), name="catalogue_listing_price_unique_currency"),
        ]
        indexes = [models.Index(fields=("currency", "amount"), name="catalogue_listing_price_amount")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class ListingRefresh(models.Model):
    """Per product: when its listing row was last asked to follow a change, and when it last did.

    ``requested_at``: the latest time something announced a change the row may not show yet (another
    context's event, a catalogue write), written in the announcing transaction, so a request is never
    lost. ``done_at``: the stamp (taken before reading pricing and inventory) of the latest refresh
    that wrote the row or settled a request. A refresh with stamp ``s`` locks these rows and leaves a
    product alone when ``requested_at > s`` or ``done_at > s``: what it read may be older than what
    another refresh wrote or is about to write, so the read model never goes back in time. The row
    lock also serializes the first insert of a listing row. Pending: ``done_at < requested_at``.
    ``product_id`` is a plain id: a deleted product's refresh drops its row and settles the request.
    """

    product_id = models.PositiveBigIntegerField(primary_key=True)
    requested_at = models.DateTimeField(db_index=True)
    done_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=("requested_at", "done_at"), name="catalogue_listing_refresh_due")]

    def __str__(self) -> str:
        return f"listing refresh of product {self.product_id}"

    @property
    def pending(self) -> bool:
        return self.done_at < self.requested_at


class ListingVersion(models.Model):
    """One row: a counter moved by every transaction that changes what a listing page can show (rows
    written, deleted, moved to another category). Listing ETags and cached counts derive from it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"listing version {self.version}"
