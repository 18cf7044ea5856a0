"""The catalogue context's subscriptions to other contexts' events: they keep the listing read model current.

| event                          | effect                                                        |
|--------------------------------|---------------------------------------------------------------|
| pricing.PriceChanged           | recompute that currency's price of the listed products holding that SKU |
| pricing.PromotionsChanged      | recompute every listed product's prices (any may be affected) |
| inventory.StockLevelChanged    | recompute the in-stock flag of the product holding that SKU   |

Each is cheap when the listing already shows the value (the importer refreshes the listing itself):
the stock handler then costs one query, the price handler a few reads and no write. The price and
stock handlers take bursts in one call (``batch=True``), so an import or a flash sale costs a few
queries per batch of events rather than per event.
"""

from commerce.eventbus import subscriber
from contexts.catalogue.services import listing
from contexts.inventory import events as inventory_events
from contexts.pricing import events as pricing_events


@subscriber(pricing_events.PriceChanged, batch=True)
def refresh_listing_when_price_changed(events: tuple[pricing_events.PriceChanged, ...]) -> None:
    for currency in sorted({event.currency for event in events}):
        skus = tuple(sorted({event.sku for event in events if event.currency == currency}))
        listing.refresh_listing_prices(skus=skus, currency=currency)


@subscriber(pricing_events.PromotionsChanged)
def refresh_listing_when_promotions_changed(event: pricing_events.PromotionsChanged) -> None:
    listing.refresh_all_listing_prices()


@subscriber(inventory_events.StockLevelChanged, batch=True)
def refresh_listing_when_stock_level_changed(events: tuple[inventory_events.StockLevelChanged, ...]) -> None:
    latest = {event.sku: event.in_stock for event in sorted(events, key=lambda event: event.occurred_at)}
    for in_stock in (True, False):
        skus = tuple(sorted(sku for sku, flag in latest.items() if flag is in_stock))
        if skus:
            listing.refresh_listing_stock(skus=skus, in_stock=in_stock)
