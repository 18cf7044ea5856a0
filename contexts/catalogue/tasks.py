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
