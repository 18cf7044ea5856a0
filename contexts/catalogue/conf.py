"""The catalogue context's settings (``CATALOGUE_*``), read once into a frozen dataclass."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogueSettings:
    default_currency: str
    currencies: tuple[str, ...]
    search_config: str  # PostgreSQL text search configuration
    max_query_length: int
    http_max_age: int  # seconds a CDN or browser may reuse a catalogue read (Cache-Control max-age)
    listing_refresh_seconds: float
    listing_drain_seconds: float  # how often pending listing refreshes are processed in the background
    listing_batch_size: int
    import_batch_size: int
    import_chunk_size: int  # prices / stock levels per pricing or inventory bulk call (their limit: 5 000)


def catalogue_settings() -> CatalogueSettings:
    """Read on each call (cheap) so tests overriding settings see their values."""
    return CatalogueSettings(
        default_currency=settings.SHOP_DEFAULT_CURRENCY,
        currencies=tuple(settings.SHOP_CURRENCIES),
        search_config=getattr(settings, "CATALOGUE_SEARCH_CONFIG", "english"),
        max_query_length=int(getattr(settings, "CATALOGUE_MAX_QUERY_LENGTH", 200)),
        http_max_age=int(getattr(settings, "CATALOGUE_HTTP_MAX_AGE", 30)),
        listing_refresh_seconds=float(getattr(settings, "CATALOGUE_LISTING_REFRESH_SECONDS", 300)),
        listing_drain_seconds=float(getattr(settings, "CATALOGUE_LISTING_DRAIN_SECONDS", 5)),
        listing_batch_size=int(getattr(settings, "CATALOGUE_LISTING_BATCH_SIZE", 500)),
        import_batch_size=int(getattr(settings, "CATALOGUE_IMPORT_BATCH_SIZE", 500)),
        import_chunk_size=int(getattr(settings, "CATALOGUE_IMPORT_CHUNK_SIZE", 5000)),
    )
