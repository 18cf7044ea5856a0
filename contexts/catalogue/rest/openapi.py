"""The catalogue's drf-spectacular extensions, loaded when the schema is generated (``commerce.openapi.schema``)."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from commerce.openapi import any_case_pattern
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.rest.serializers import CurrencyQueryField


class CurrencyQueryFieldSchema(OpenApiSerializerFieldExtension):
    target_class = CurrencyQueryField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        currencies = catalogue_settings().currencies
        return {
            "type": "string",
            "pattern": any_case_pattern(currencies),
            "description": f"ISO 4217 code, one of {', '.join(currencies)} (any case); "
            "the shop's default currency when empty or left out.",
        }
