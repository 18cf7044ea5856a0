"""Celery tasks of the catalogue context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.services import listing


@periodic(every=catalogue_settings().listing_refresh_seconds)
@shared_task(name="catalogue.refresh_listing_prices", ignore_result=True)
def refresh_listing_prices() -> int:
    """Scheduled sales and promotions start and end without any write: recompute listed prices.

    Writes only rows whose figures changed, so a quiet catalogue costs reads only.
    """
    return listing.refresh_all_listing_prices()


@periodic(every=catalogue_settings().listing_drain_seconds)
@shared_task(name="catalogue.process_listing_refreshes", ignore_result=True)
def process_listing_refreshes() -> int:
    """Refresh the listing rows something asked to refresh and nothing has yet (a promotion's whole
    catalogue, or what a crash left behind), a batch at a time."""
    return listing.process_refresh_requests()


@shared_task(name="catalogue.refresh_listing_batch", ignore_result=True)
def refresh_listing_batch(product_ids: list[int]) -> int:
    """One batch of a large refresh handed to the workers (``handlers``)."""
    return listing.refresh_listing(product_ids=product_ids)
