"""The OpenAPI schema tells the truth about errors too: every operation documents the error answers
the kernel gives it, in the contract's shape (``{code, detail, ...}``, API.md "Conventions").

A drf-spectacular post-processing hook, so each context's views declare only their success answers
and their own domain errors; the answers every endpoint can give are added here, once:

- ``400`` invalid input (a query parameter, the body, the page) and ``401`` a missing, malformed or
  expired token (authentication runs on every endpoint), ``403`` not allowed, ``429`` throttled;
- ``404`` when the path names a resource or the list is paginated (a page past the end);
  ``413`` and ``415`` when the operation takes a body.

Two more truths the kernel owns: ``page`` and ``page_size`` are positive whole numbers (whoever
declared them), and a ``StrictSerializer`` body refuses fields it does not know
(``additionalProperties: false``).

``AutoSchema`` (the project's ``DEFAULT_SCHEMA_CLASS``) states two bounds DRF enforces but
drf-spectacular leaves out: a text field that trims whitespace and may not be blank needs a
non-space character (``pattern: [^<spaces>]``, the characters ``str.strip()`` removes, spelled out:
``"   "`` and ``"\\x85"`` are refused like ``""``), and a nested list of
objects (``many=True``) carries its ``allow_empty``/``min_length``/``max_length`` as
``minItems``/``maxItems``. A view whose DELETE takes a body says so (``delete_takes_a_body``), and
its body is documented as a POST's would be.

The views annotate their methods with drf-spectacular's own ``extend_schema``, which loads this module
(the ``DEFAULT_SCHEMA_CLASS``) with them. ``SchemaGenerator`` (``SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"]``)
first loads each context's ``rest/openapi.py``, its drf-spectacular extensions, which only generating reads.
"""

import copy
from typing import Any

from django.utils.module_loading import autodiscover_modules
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from commerce.openapi import EMAIL_PATTERN, NOT_BLANK_PATTERN, declared_links

PAGE_PARAMETERS = ("page", "page_size")

ERROR_SCHEMA = "Error"
_ERROR_COMPONENT = {
    "type": "object",
    "description": 'Every 4xx/5xx answer: a machine-readable `code`, a human `detail`, and for `code: "invalid"` '
    "the field errors.",
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            # Every array says what it holds (``items``): a generated client (openapi-python-client) cannot
            # type an array without them, and dropped every error answer that referred to this component.
            "additionalProperties": {
                "oneOf": [
                    {
                        "type": "array",
                        "items": {"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]},
                    },
                    {"type": "object", "additionalProperties": True},
                ]
            },
            "description": 'Field validation errors, for `code: "invalid"`: a list of messages per field; for a '
            "nested object its own errors in the same shape; for a nested list of objects, one such object per "
            "item (empty where the item is valid).",
        },
    },
    "required": ["code", "detail"],
    "additionalProperties": True,
}
_EVERYWHERE = {
    "400": "Invalid input: a query parameter, the page or the body.",
    "401": "Authentication missing, malformed or expired.",
    "403": "Not allowed for this user.",
    "429": "Throttled; `Retry-After` says when to try again.",
}
_WITH_PATH_PARAMETERS = {"404": "No such resource, or not the caller's."}
_WITH_BODY = {
    "413": "The request body is too large.",
    "415": "The body is not JSON.",
}
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``: add the shared error answers to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(ERROR_SCHEMA, _ERROR_COMPONENT)
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for path, item in result.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            answers = dict(_EVERYWHERE)
            paginated = _bound_page_parameters(operation)
            if "{" in path or paginated:
                answers |= _WITH_PATH_PARAMETERS
            if "requestBody" in operation:
                answers |= _WITH_BODY
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[:1] in {"4", "5"} and "content" not in response:  # declared by its description only
                    response["content"] = {"application/json": {"schema": reference}}
    return result


def _bound_page_parameters(operation: dict[str, Any]) -> bool:
    """Give ``page`` and ``page_size`` the bounds ``StandardPagination`` enforces; whether it has them."""
    found = False
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("name") in PAGE_PARAMETERS:
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 999_999_999}
            found = True
    return found


def document_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``: the declared links, on their source answers.

    A link whose source, status or target is not in the schema is a programming error (a renamed
    operation), not something to drop quietly: it raises.
    """
    operations = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for method, operation in item.items()
        if method in _METHODS and "operationId" in operation
    }
    for link in declared_links():
        missing = [operation_id for operation_id in (link.source, link.target) if operation_id not in operations]
        if missing:
            raise ValueError(f"OpenAPI link {link.name}: no operation {', '.join(missing)} in the schema")
        response = operations[link.source].get("responses", {}).get(link.status)
        if response is None:
            raise ValueError(f"OpenAPI link {link.name}: {link.source} does not answer {link.status}")
        definition: dict[str, Any] = {"operationId": link.target}
        if link.parameters:
            definition["parameters"] = dict(link.parameters)
        if link.request_body is not None:
            definition["requestBody"] = copy.deepcopy(dict(link.request_body))
        if link.description:
            definition["description"] = link.description
        response.setdefault("links", {})[link.name] = definition
    return result


class StrictSerializerExtension(OpenApiSerializerExtension):
    """A ``StrictSerializer`` refuses unknown fields: its request schema says so."""

    target_class = "commerce.rest.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema

    def get_name(self, auto_schema: Any, direction: str) -> str | None:
        return None  # the serializer's own name, as without this extension


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with the bounds DRF enforces that it does not state (module docstring).

    A serializer with ``partial_on_patch = False`` is documented whole on a PATCH (drf-spectacular
    assumes every PATCH body is partial): for a PATCH that needs its fields, such as a line's quantity.
    A view with ``delete_takes_a_body = True`` gets its DELETE body documented (drf-spectacular documents
    bodies for POST, PUT and PATCH only): ``DELETE /me`` takes the password (API.md).
    """

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE" or not getattr(self.view, "delete_takes_a_body", False):
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def resolve_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> Any:
        if getattr(serializer, "partial", False) and getattr(serializer, "partial_on_patch", True) is False:
            serializer = copy.copy(serializer)
            serializer.partial = False
        return super().resolve_serializer(serializer, direction, bypass_extensions)

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if field.read_only:
            return
        if isinstance(field, serializers.EmailField) and getattr(field, "states_email_pattern", False):
            schema.pop("format", None)  # ``format: email`` admits more than the shop takes (EMAIL_ADDRESS)
            schema["pattern"] = EMAIL_PATTERN
            return
        if (
            isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and "pattern" not in schema
            and "enum" not in schema
        ):
            schema["pattern"] = NOT_BLANK_PATTERN
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            least = max(field.min_length or 0, 0 if field.allow_empty else 1)
            if least:
                schema["minItems"] = max(schema.get("minItems", 0), least)
            if field.max_length is not None:
                schema["maxItems"] = min(schema.get("maxItems", field.max_length), field.max_length)


class SchemaGenerator(SpectacularSchemaGenerator):
    """drf-spectacular's generator, once each context's schema extensions (``rest/openapi.py``) are loaded."""

    def get_schema(self, request: Any = None, public: bool = False) -> Any:
        autodiscover_modules("rest.openapi")
        return super().get_schema(request=request, public=public)
