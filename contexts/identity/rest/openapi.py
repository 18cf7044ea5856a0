"""Identity's drf-spectacular extensions, loaded when the schema is generated (``commerce.openapi.schema``)."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

from contexts.identity.rest.serializers import COUNTRY_CODES, CountryCodeField


class CountryCodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = CountryCodeField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = build_basic_type(OpenApiTypes.STR)
        schema["enum"] = sorted(COUNTRY_CODES)
        schema["description"] = "ISO 3166-1 alpha-2 country code, e.g. DE."
        return schema


class AccessTokenAuthenticationScheme(SimpleJWTScheme):
    """Identity's authentication is simplejwt's with the account checked: the same bearer JWT (``jwtAuth``)."""

    target_class = "contexts.identity.authentication.AccessTokenAuthentication"
