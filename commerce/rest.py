"""REST building blocks every context's ``rest`` package uses, so all of them behave alike."""

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce import openapi
from commerce.money import Money


class StrictSerializer(serializers.Serializer):
    """Input serializer that refuses fields it does not know, rather than silently dropping them.

    A client that sends ``price`` or ``status`` learns at once that it cannot set them.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class EmailField(serializers.EmailField):
    """An email address in a request: a JSON string, surrounding spaces trimmed, of the plain form the
    schema states (``openapi.EMAIL_ADDRESS``) and accepted by Django's ``EmailValidator`` as well."""

    states_email_pattern = True  # read by ``openapi.schema.AutoSchema``
    default_error_messages = {"not_a_string": "Must be a string."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(rf"^{openapi.EMAIL_ADDRESS}\Z", message=self.error_messages["invalid"]))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class MoneySerializer(serializers.Serializer):
    amount = serializers.CharField(help_text='Decimal string in the currency\'s minor units, e.g. "12.50".')
    currency = serializers.CharField(help_text="ISO 4217 code, e.g. EUR.")


@extend_schema_field(MoneySerializer)
class MoneyField(serializers.Field):
    """Read-only money output: anything with ``amount`` and ``currency`` → ``{"amount", "currency"}``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> dict[str, str] | None:
        if value is None:
            return None
        return Money(amount=value.amount, currency=value.currency).as_json()
