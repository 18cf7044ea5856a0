"""The catalogue context's subscriptions to other contexts' events: they keep the listing read model current.

| event                          | effect                                                        |
|--------------------------------|---------------------------------------------------------------|
| pricing.PriceChanged           | recompute that currency's price of the listed products holding that SKU |
| pricing.PromotionsChanged      | recompute every listed product's prices (any may be affected) |
| inventory.StockLevelChanged    | recompute the in-stock flag of the product holding that SKU   |

Each is cheap when the listing already shows the value (the importer refreshes the listing itself):
the stock handler then costs one query, the price handler a few reads and no write.
"""

from commerce.eventbus import subscriber
from contexts.catalogue.services import listing
from contexts.inventory import events as inventory_events
from contexts.pricing import events as pricing_events


@subscriber(pricing_events.PriceChanged)
def refresh_listing_when_price_changed(event: pricing_events.PriceChanged) -> None:
    listing.refresh_listing_prices(skus=(event.sku,), currency=event.currency)


@subscriber(pricing_events.PromotionsChanged)
def refresh_listing_when_promotions_changed(event: pricing_events.PromotionsChanged) -> None:
    listing.refresh_all_listing_prices()


@subscriber(inventory_events.StockLevelChanged)
def refresh_listing_when_stock_level_changed(event: inventory_events.StockLevelChanged) -> None:
    listing.refresh_listing_stock(skus=(event.sku,), in_stock=event.in_stock)
