"""The listing read model: one ``ListingEntry`` per published product, kept current.

Everything a listing page shows comes from here, so a page is one query whatever its size. A refresh
of a batch of products runs in three steps, and never calls another context inside a transaction:

1. take a stamp (the time), read the products' SKUs and categories, then ask pricing's
   ``prices_for`` (one call per currency) and inventory's ``get_availability`` (one call): outside
   any transaction;
2. in one short transaction on the catalogue's database: lock the products' ``ListingRefresh`` rows
   (creating the missing ones), leave alone every product whose row says a newer refresh wrote it or
   a change was announced after the stamp (what step 1 read may be older: the read model never goes
   back in time), read the catalogue's own state again (a product unpublished meanwhile loses its
   row, never gets it back), write only what differs, by upsert;
3. mark the requests the refresh settled.

Triggers: catalogue writes (after their transaction), the other contexts' events (``handlers`` record
a request in the delivery's transaction; the refresh runs after its commit, or in the background
for large sets), ``process_refresh_requests`` (a periodic job: whatever is pending, in batches), a
periodic full pass for prices that change with time alone (a sale starting), and
``manage.py rebuild_listing``.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.postgres.search import SearchVectorField
from django.db import connections, transaction
from django.db.models import Expression, F
from django.utils import timezone

from commerce.database import atomic_in, database_for
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.domain import text_attributes
from contexts.catalogue.models import (
    Category,
    ListingEntry,
    ListingPrice,
    ListingRefresh,
    ListingVersion,
    Product,
    ProductImage,
    Variant,
    path_ids,
)
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

ENTRY_FIELDS = (
    "slug",
    "name",
    "category_id",
    "category_slug",
    "category_path",
    "currency",
    "price_amount",
    "in_stock",
    "image_url",
    "search_document",
    "created_at",
    "document",
)
NEVER = datetime(2000, 1, 1, tzinfo=UTC)  # ``requested_at`` of a product nothing asked to refresh


@dataclass(frozen=True, slots=True)
class LowestPrice:
    amount: Decimal
    base_amount: Decimal
    on_sale: bool


def on_postgresql() -> bool:
    return connections[database_for("catalogue")].vendor == "postgresql"


def in_transaction() -> bool:
    """Is a transaction open on the catalogue's database (a test case's own wrapper does not count)?"""
    return any(
        not getattr(block, "_from_testcase", False) for block in connections[database_for("catalogue")].atomic_blocks
    )


def after_commit(work: Callable[[], object]) -> None:
    """Run ``work`` once the catalogue's open transaction commits, or now when none is open: the
    place for calls to other contexts, which never run while the catalogue holds its locks."""
    if in_transaction():
        transaction.on_commit(work, using=database_for("catalogue"), robust=True)
    else:
        work()


def _search_document(description: str, variants: Iterable[tuple[str, dict]], attributes: dict) -> str:
    """What full-text search matches besides the name: the description and the variants' words."""
    words = [description]
    for name, variant_attributes in variants:
        words.append(name)
        words.extend(text_attributes(variant_attributes).values())
    words.extend(text_attributes(attributes).values())
    return "\n".join(word for word in words if word)


@dataclass(slots=True)
class _Source:
    """What one published product's listing row is computed from (plain values, no model instances)."""

    pk: int
    slug: str
    name: str
    description: str
    attributes: dict
    category_id: int
    created_at: datetime
    variants: list[tuple[str, str, dict]] = field(default_factory=list)  # (sku, name, attributes), in order
    images: list[str] = field(default_factory=list)  # URLs, in order: the first is the listing's

    @property
    def image_url(self) -> str | None:
        return self.images[0] if self.images else None


def _sources(ids: Sequence[int]) -> dict[int, _Source]:
    """The published products among ``ids`` with their variants and first image: three queries."""
    sources = {
        pk: _Source(pk, slug, name, description, attributes, category_id, created_at)
        for pk, slug, name, description, attributes, category_id, created_at in (
            Product.objects.filter(pk__in=list(ids), is_published=True)
            .order_by("pk")
            .values_list("pk", "slug", "name", "description", "attributes", "category_id", "created_at")
        )
    }
    if not sources:
        return {}
    for product_id, sku, name, attributes in (
        Variant.objects.filter(product_id__in=list(sources))
        .order_by("product_id", "position", "id")
        .values_list("product_id", "sku", "name", "attributes")
    ):
        sources[product_id].variants.append((sku, name, attributes))
    for product_id, url in (
        ProductImage.objects.filter(product_id__in=list(sources))
        .order_by("product_id", "position", "id")
        .values_list("product_id", "url")
    ):
        sources[product_id].images.append(url)
    return sources


@dataclass(slots=True)
class _Figures:
    """What pricing and inventory said about a batch's SKUs, read outside any transaction."""

    stamp: datetime
    prices: dict[str, dict[str, pricing_api.SkuPrice]]  # currency → sku → price
    availability: dict[str, int]  # sku → available quantity
    exact_up_to: int  # inventory announces every change of a figure up to this (its low-stock threshold)


def _read_figures(ids: Sequence[int]) -> _Figures:
    """Stamp first, then read: whatever was committed before the stamp is in what this returns."""
    stamp = timezone.now()
    category_paths = dict(Category.objects.values_list("pk", "path").filter(products__pk__in=list(ids)).distinct())
    category_ids: dict[str, tuple[int, ...]] = {
        sku: path_ids(category_paths[category_id])
        for sku, category_id in Variant.objects.filter(product_id__in=list(ids), product__is_published=True)
        .values_list("sku", "product__category_id")
        .order_by()
    }
    conf = catalogue_settings()
    prices = {
        currency: (
            pricing_api.prices_for(skus=tuple(category_ids), currency=currency, category_ids=category_ids)
            if category_ids
            else {}
        )
        for currency in conf.currencies
    }
    availability = inventory_api.get_availability(skus=tuple(category_ids)) if category_ids else {}
    exact_up_to = inventory_api.levels_announced_exactly_up_to()
    return _Figures(stamp, prices, {sku: item.available for sku, item in availability.items()}, exact_up_to)


def _lowest(figures: _Figures, skus: Sequence[str], currency: str) -> LowestPrice | None:
    known = figures.prices[currency]
    candidates = [known[sku] for sku in skus if sku in known]
    if not candidates:
        return None
    best = min(candidates, key=lambda price: (price.amount, price.base_amount))
    return LowestPrice(amount=best.amount, base_amount=best.base_amount, on_sale=best.on_sale)


def request_refresh(*, product_ids: Iterable[int]) -> int:
    """Record that these products' listing rows may be stale (in the caller's transaction); returns how many.

    A request is settled by the next refresh that starts after it; until then it is pending, and the
    periodic ``process_refresh_requests`` picks it up if nothing else does.
    """
    ids = sorted(set(product_ids))
    now = timezone.now()
    size = catalogue_settings().listing_batch_size
    for start in range(0, len(ids), size):  # in id order: the same lock order as the refreshes
        ListingRefresh.objects.bulk_create(
            [ListingRefresh(product_id=pk, requested_at=now, done_at=NEVER) for pk in ids[start : start + size]],
            update_conflicts=True,
            unique_fields=("product_id",),
            update_fields=("requested_at",),
        )
    return len(ids)


def pending_product_ids(*, before: datetime | None = None, limit: int | None = None) -> list[int]:
    """Products with a pending request (made before ``before``), oldest request first."""
    pending = ListingRefresh.objects.filter(done_at__lt=F("requested_at"))
    if before is not None:
        pending = pending.filter(requested_at__lte=before)
    ids = pending.order_by("requested_at", "product_id").values_list("product_id", flat=True)
    return list(ids[:limit] if limit is not None else ids)


def process_refresh_requests(*, limit: int | None = None) -> int:
    """Refresh every product with a request made before this call, a batch at a time; returns how many
    products were refreshed. Safe to run in several workers at once (the stamps decide)."""
    started = timezone.now()
    size = catalogue_settings().listing_batch_size
    done = 0
    while limit is None or done < limit:
        batch = pending_product_ids(before=started, limit=size if limit is None else min(size, limit - done))
        if not batch:
            break
        refresh_listing(product_ids=batch)
        done += len(batch)
    return done


def refresh_listing(*, product_ids: Iterable[int]) -> int:
    """Bring the listing rows of these products up to date; returns how many rows changed.

    Unpublished or deleted products lose their row. Runs in batches; call it outside any catalogue
    transaction (``after_commit``), since it calls pricing and inventory.
    """
    ids = sorted(set(product_ids))
    size = catalogue_settings().listing_batch_size
    changed = 0
    for start in range(0, len(ids), size):
        changed += _refresh_batch(ids[start : start + size])
    return changed


def refresh_listing_for_skus(*, skus: Iterable[str]) -> int:
    product_ids = set(Variant.objects.filter(sku__in=list(skus)).values_list("product_id", flat=True))
    return refresh_listing(product_ids=product_ids) if product_ids else 0


def refresh_all_listing_prices() -> int:
    """Recompute every listed product's prices and stock flag (the periodic job and ``rebuild_listing``)."""
    return refresh_listing(product_ids=Product.objects.published().values_list("pk", flat=True))


def rebuild_listing() -> int:
    """Rebuild the read model from scratch: rows for every published product, nothing else."""
    with atomic_in("catalogue"):
        if ListingEntry.objects.exclude(product__is_published=True).delete()[0]:
            bump_version()
        ListingRefresh.objects.exclude(product_id__in=Product.objects.values("pk")).delete()
    return refresh_all_listing_prices()


def _document(source: _Source, figures: _Figures, currencies: Sequence[str]) -> dict:
    """The product detail's document: what ``api.get_product_detail`` renders in any currency."""
    variants = []
    for sku, name, attributes in source.variants:
        prices = {}
        for currency in currencies:
            price = figures.prices[currency].get(sku)
            if price is not None:
                prices[currency] = [str(price.amount), str(price.base_amount), price.on_sale]
        variants.append(
            {
                "sku": sku,
                "name": name,
                "attributes": text_attributes(attributes),
                **_stock_shown(figures.availability.get(sku, 0), figures.exact_up_to),
                "prices": prices,
            }
        )
    return {
        "description": source.description,
        "attributes": text_attributes(source.attributes),
        "images": list(source.images),
        "variants": variants,
    }


def _stock_shown(available: int, exact_up_to: int) -> dict:
    """What a variant shows of its stock: ``in_stock`` always; ``available`` only where the listing knows
    it exactly (at or under inventory's low-stock threshold, where every change is announced), else ``None``.
    Above it the listing hears of a change only every ``INVENTORY_LEVEL_EVENT_STEP`` units, so a count
    would be a figure the shop may no longer have."""
    return {"available": available if available <= exact_up_to else None, "in_stock": available > 0}


def bump_version() -> None:
    """Something a listing page can show changed (in the caller's catalogue transaction): new ETags, new counts."""
    if not ListingVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now()):
        ListingVersion.objects.get_or_create(pk=1, defaults={"version": 1})


def _lock_states(ids: Sequence[int], stamp: datetime) -> dict[int, tuple[datetime, datetime]]:
    """Lock the products' ``ListingRefresh`` rows in id order, creating the missing ones (as done at
    ``stamp``); ``{product id: (requested_at, done_at)}``."""
    lock = ListingRefresh.objects.select_for_update().filter(product_id__in=list(ids)).order_by("product_id")
    states = {
        pk: (requested, done) for pk, requested, done in lock.values_list("product_id", "requested_at", "done_at")
    }
    missing = [pk for pk in ids if pk not in states]
    if missing:
        ListingRefresh.objects.bulk_create(
            [ListingRefresh(product_id=pk, requested_at=NEVER, done_at=stamp) for pk in missing],
            ignore_conflicts=True,  # another refresh created some meanwhile: read theirs below
        )
        again = lock.filter(product_id__in=missing)
        states.update(
            {
                pk: (requested, done)
                for pk, requested, done in again.values_list("product_id", "requested_at", "done_at")
            }
        )
    return states


def _refresh_batch(ids: Sequence[int]) -> int:
    figures = _read_figures(ids)  # outside the transaction: pricing and inventory
    stamp = figures.stamp
    conf = catalogue_settings()
    with atomic_in("catalogue"):
        states = _lock_states(ids, stamp)
        # What a newer refresh wrote, or a change announced after the stamp, wins over what was read.
        fresh = [pk for pk in ids if states[pk][0] <= stamp and states[pk][1] <= stamp]
        if not fresh:
            return 0
        sources = _sources(fresh)  # the catalogue's own state, read again under the lock
        gone = [pk for pk in fresh if pk not in sources]
        deleted = ListingEntry.objects.filter(pk__in=gone).delete()[0] if gone else 0
        categories = {
            pk: (slug, path)
            for pk, slug, path in Category.objects.filter(pk__in={s.category_id for s in sources.values()}).values_list(
                "pk", "slug", "path"
            )
        }
        listed = list(sources)
        existing = {
            row[0]: row[1:] for row in ListingEntry.objects.filter(pk__in=listed).values_list("pk", *ENTRY_FIELDS)
        }
        existing_prices = {
            (entry_id, currency): (pk, (amount, base_amount, on_sale))
            for pk, entry_id, currency, amount, base_amount, on_sale in ListingPrice.objects.filter(
                entry_id__in=listed
            ).values_list("pk", "entry_id", "currency", "amount", "base_amount", "on_sale")
        }
        text_changed: list[ListingEntry] = []  # new rows, or a new name or search document
        other_changes: list[ListingEntry] = []
        prices_to_write: list[ListingPrice] = []
        prices_to_delete: list[int] = []
        written: set[int] = set(gone)
        for source in sources.values():
            skus = [sku for sku, _, _ in source.variants]
            default = _lowest(figures, skus, conf.default_currency)
            category_slug, category_path = categories[source.category_id]
            wanted = (
                source.slug,
                source.name,
                source.category_id,
                category_slug,
                category_path,
                conf.default_currency,
                default.amount if default else None,
                any(figures.availability.get(sku, 0) > 0 for sku in skus),
                source.image_url or "",
                _search_document(source.description, [(n, a) for _, n, a in source.variants], source.attributes),
                source.created_at,
                _document(source, figures, conf.currencies),
            )
            current = existing.get(source.pk)
            if current != wanted:
                entry = ListingEntry(product_id=source.pk, **dict(zip(ENTRY_FIELDS, wanted, strict=True)))
                if current is None or current[1] != wanted[1] or current[9] != wanted[9]:
                    text_changed.append(entry)
                else:
                    other_changes.append(entry)
                written.add(source.pk)
            for currency in conf.currencies:
                lowest = default if currency == conf.default_currency else _lowest(figures, skus, currency)
                row = existing_prices.get((source.pk, currency))
                if lowest is None:
                    if row is not None:
                        prices_to_delete.append(row[0])
                        written.add(source.pk)
                    continue
                values = (lowest.amount, lowest.base_amount, lowest.on_sale)
                if row is None or row[1] != values:
                    prices_to_write.append(
                        ListingPrice(
                            entry_id=source.pk,
                            currency=currency,
                            amount=lowest.amount,
                            base_amount=lowest.base_amount,
                            on_sale=lowest.on_sale,
                        )
                    )
                    written.add(source.pk)
        _write_entries(text_changed, text=True)
        _write_entries(other_changes, text=False)
        ListingPrice.objects.filter(pk__in=prices_to_delete).delete()
        if prices_to_write:
            ListingPrice.objects.bulk_create(
                prices_to_write,
                update_conflicts=True,
                unique_fields=("entry", "currency"),
                update_fields=("amount", "base_amount", "on_sale"),
            )
        if text_changed or other_changes or prices_to_write or prices_to_delete or deleted:
            bump_version()
        # Settle: what was written or pending now carries this stamp, so an older refresh leaves it alone.
        settled = sorted(written | {pk for pk in fresh if states[pk][1] < states[pk][0]})
        stale_marks = [pk for pk in settled if states[pk][1] < stamp]
        if stale_marks:
            ListingRefresh.objects.filter(product_id__in=stale_marks).update(done_at=stamp)
    return len(text_changed) + len(other_changes) + len(prices_to_write) + len(prices_to_delete) + deleted


class _SearchVectorOf(Expression):
    """A listing row's search vector computed from the values being written, in the INSERT itself.

    The same as ``SearchVector("name", weight="A") + SearchVector("search_document", weight="B")``
    evaluated on the row afterwards, without that second statement; one fixed template, so compiling
    it for each row of a bulk insert costs little.
    """

    output_field = SearchVectorField()
    template = "setweight(to_tsvector(%s::regconfig, %s), 'A') || setweight(to_tsvector(%s::regconfig, %s), 'B')"

    def __init__(self, config: str, name: str, document: str) -> None:
        super().__init__()
        self.config, self.name, self.document = config, name, document

    def as_sql(self, compiler, connection):
        return self.template, [self.config, self.name, self.config, self.document]


def _write_entries(entries: list[ListingEntry], *, text: bool) -> None:
    """Insert or overwrite these rows in one statement each (an upsert: no per-row CASE of ``bulk_update``).

    ``text``: their name or search document is new, so on PostgreSQL the search vector is computed in
    the same statement, from the values written; the other rows keep theirs.
    """
    if not entries:
        return
    update_fields = [*ENTRY_FIELDS, "refreshed_at"]
    if text and on_postgresql():
        config = catalogue_settings().search_config
        for entry in entries:
            entry.search_vector = _SearchVectorOf(config, entry.name, entry.search_document)
        update_fields.append("search_vector")
    ListingEntry.objects.bulk_create(
        entries, update_conflicts=True, unique_fields=("product",), update_fields=update_fields
    )
