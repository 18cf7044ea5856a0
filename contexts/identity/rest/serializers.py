"""Input and output shapes of the identity context's REST API.

Inputs are strict about types as well as names: a number where a name belongs is refused, not turned
into the text "123" (DRF's ``CharField`` would).
"""

from typing import Any

from django.core.validators import RegexValidator
from django_countries import countries
from rest_framework import serializers

from commerce.rest import EmailField, StrictSerializer


class TextField(serializers.CharField):
    """A ``CharField`` that accepts only JSON strings."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class CountryCodeField(TextField):
    """ISO 3166-1 alpha-2, as the standard writes it: two capitals (``DE``). The schema lists the codes."""

    default_error_messages = {"unknown_country": "{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 country code in capitals, e.g. DE.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in COUNTRY_CODES:
            self.fail("unknown_country", value=data)
        return value

    def to_representation(self, value: Any) -> str:
        return str(getattr(value, "code", value) or "")


COUNTRY_CODES = frozenset(code for code, _ in countries)


def password_field() -> TextField:
    """Django's password validators decide in the end (not common, not like the email); the schema
    states the part it can: at least 8 characters, not all digits."""
    return TextField(
        min_length=8,
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        validators=[RegexValidator(r"\D", message="A password cannot be entirely numeric.")],
    )


def name_field(*, required: bool = False) -> TextField:
    return TextField(max_length=150, required=required, allow_blank=not required)


class RegisterInput(StrictSerializer):
    email = EmailField(max_length=254)
    password = password_field()
    first_name = TextField(max_length=150, required=False, allow_blank=True, default="")
    last_name = TextField(max_length=150, required=False, allow_blank=True, default="")


class ProfileOutput(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    # The address as registration took it (commerce.rest.EmailField), not ``format: email``: that refuses
    # some addresses Django and the API take (a name over 64 characters, a label such as ``xn--e``).
    email = serializers.CharField(read_only=True, help_text="The account's email address, in lower case.")
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)


class ProfileUpdateInput(StrictSerializer):
    first_name = name_field()
    last_name = name_field()


class TokenInput(StrictSerializer):
    email = TextField(max_length=254)
    password = TextField(max_length=128, trim_whitespace=False)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class RefreshInput(StrictSerializer):
    refresh = TextField(max_length=4096)


class AccessOutput(serializers.Serializer):
    access = serializers.CharField(read_only=True)


class FlagField(serializers.BooleanField):
    """A ``BooleanField`` that accepts only JSON ``true`` and ``false`` (DRF's also takes "yes", "on", 1…)."""

    default_error_messages = {"not_a_boolean": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("not_a_boolean")
        return data


class LogoutInput(StrictSerializer):
    refresh = TextField(max_length=4096, help_text="The refresh token to revoke (the one this device holds).")
    everywhere = FlagField(
        required=False,
        default=False,
        help_text="Also end every other token issued to you so far, access tokens included: every device is "
        "logged out.",
    )


class JwkOutput(serializers.Serializer):
    kty = serializers.CharField(read_only=True, help_text="RSA")
    kid = serializers.CharField(read_only=True, help_text="The key id, as in the tokens' header (RFC 7638 thumbprint).")
    use = serializers.CharField(read_only=True, help_text="sig")
    alg = serializers.CharField(read_only=True, help_text="RS256")
    n = serializers.CharField(read_only=True, help_text="The modulus, base64url.")
    e = serializers.CharField(read_only=True, help_text="The public exponent, base64url.")


class JwksOutput(serializers.Serializer):
    keys = JwkOutput(many=True, read_only=True)


class PasswordResetInput(StrictSerializer):
    email = TextField(max_length=254)


class PasswordResetConfirmInput(StrictSerializer):
    uid = TextField(max_length=64)
    token = TextField(max_length=128)
    new_password = password_field()


class CloseAccountInput(StrictSerializer):
    password = TextField(max_length=128, trim_whitespace=False)


class AddressInput(StrictSerializer):
    full_name = TextField(max_length=200)
    line1 = TextField(max_length=200)
    line2 = TextField(max_length=200, required=False, allow_blank=True)
    city = TextField(max_length=100)
    postal_code = TextField(max_length=20, required=False, allow_blank=True)
    country = CountryCodeField()
    phone = TextField(max_length=32, required=False, allow_blank=True)


class AddressOutput(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    line1 = serializers.CharField(read_only=True)
    line2 = serializers.CharField(read_only=True)
    city = serializers.CharField(read_only=True)
    postal_code = serializers.CharField(read_only=True)
    country = CountryCodeField(read_only=True)
    phone = serializers.CharField(read_only=True)
