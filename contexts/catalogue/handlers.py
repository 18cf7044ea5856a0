"""The catalogue context's subscriptions to other contexts' events: they keep the listing read model current.

| event                          | effect                                                              |
|--------------------------------|---------------------------------------------------------------------|
| pricing.PriceChanged           | refresh the listed products holding that SKU                        |
| pricing.PromotionsChanged      | refresh every listed product, in the background (any may be affected) |
| inventory.StockLevelChanged    | refresh the listed products holding that SKU, unless they already show its availability |

A handler runs in the delivery's transaction on the catalogue's database, so it never calls pricing
or inventory itself: it records a refresh request there (``listing.request_refresh``: durable with the
inbox row, so nothing is lost if the process dies) and the refresh runs once that transaction has
committed. A burst of up to one batch (``CATALOGUE_LISTING_BATCH_SIZE``) is refreshed right then, in
the process that delivered it; a larger set (a promotion touches every product) is handed to the
background: one Celery task per batch under ``celery`` dispatch, the periodic
``catalogue.process_listing_refreshes`` job otherwise, so the request that saved the promotion
returns at once. The price and stock handlers take bursts in one call (``batch=True``).
"""

from django.conf import settings

from commerce.eventbus import subscriber
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.models import ListingEntry, Product, Variant
from contexts.catalogue.services import listing
from contexts.inventory import events as inventory_events
from contexts.pricing import events as pricing_events

REFRESH_BATCH_TASK = "catalogue.refresh_listing_batch"


def _refresh_after_commit(product_ids: list[int]) -> None:
    if not product_ids:
        return
    size = catalogue_settings().listing_batch_size
    if len(product_ids) <= size:
        listing.after_commit(lambda: listing.refresh_listing(product_ids=product_ids))
    elif settings.EVENTBUS["DISPATCH"] == "celery":
        listing.after_commit(lambda: _queue_batches(product_ids, size))
    # else: the periodic job drains the requests in the background


def _queue_batches(product_ids: list[int], size: int) -> None:
    from commerce.celery import app  # the shop's Celery app; loaded only when something is queued

    for start in range(0, len(product_ids), size):
        app.send_task(REFRESH_BATCH_TASK, args=(product_ids[start : start + size],))


@subscriber(pricing_events.PriceChanged, batch=True)
def refresh_listing_when_price_changed(events: tuple[pricing_events.PriceChanged, ...]) -> None:
    skus = sorted({event.sku for event in events})
    product_ids = sorted(set(Variant.objects.filter(sku__in=skus).values_list("product_id", flat=True)))
    listing.request_refresh(product_ids=product_ids)
    _refresh_after_commit(product_ids)


@subscriber(pricing_events.PromotionsChanged)
def refresh_listing_when_promotions_changed(event: pricing_events.PromotionsChanged) -> None:
    product_ids = list(Product.objects.published().order_by("pk").values_list("pk", flat=True))
    listing.request_refresh(product_ids=product_ids)
    _refresh_after_commit(product_ids)


@subscriber(inventory_events.StockLevelChanged, batch=True)
def refresh_listing_when_stock_level_changed(events: tuple[inventory_events.StockLevelChanged, ...]) -> None:
    latest = {event.sku: event.available for event in sorted(events, key=lambda event: event.occurred_at)}
    stale: set[int] = set()
    # One query: a product whose document already shows each SKU's new availability stays as it is.
    for product_id, document in (
        ListingEntry.objects.filter(product__variants__sku__in=sorted(latest)).values_list("pk", "document").distinct()
    ):
        shown = {variant["sku"]: variant.get("available") for variant in (document or {}).get("variants", [])}
        if any(sku in shown and shown[sku] != available for sku, available in latest.items()):
            stale.add(product_id)
    product_ids = sorted(stale)
    listing.request_refresh(product_ids=product_ids)
    _refresh_after_commit(product_ids)
