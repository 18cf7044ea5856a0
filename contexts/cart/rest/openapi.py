"""The cart's drf-spectacular extensions, loaded when the schema is generated (``commerce.openapi.schema``)."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from contexts.cart.rest.serializers import AsGiven


class AsGivenSchema(OpenApiSerializerFieldExtension):
    target_class = AsGiven
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = dict(self.target.schema())
        if self.target.allow_null:
            schema["nullable"] = True
        return schema
