"""``commerce.idempotency``'s decorator on an endpoint of its own (any context's, not only checkout):
what it stores and replays, what it forgets, what it leaves to the retry, and where it keeps it."""

from dataclasses import dataclass, field

import pytest
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from commerce.database import database_for
from commerce.errors import DomainError
from commerce.idempotency.keys import Claim, IdempotencyKeys
from commerce.idempotency.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

KEYS = IdempotencyKeys(context="cart", retention_hours=lambda: 24, lock_seconds=lambda: 60)


class OutOfPaper(DomainError):
    """The printer is out of paper."""

    code = "out_of_paper"
    http_status = 409


class Crash(Exception):
    pass


class LabelInput(serializers.Serializer):
    text = serializers.CharField()


@dataclass
class Printer:
    """What the endpoint did, and what it will do next."""

    printed: list[tuple[str, str]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    fail_with: BaseException | None = None


PRINTER = Printer()


class PrintLabelView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    @KEYS.idempotent(scope=lambda request: "customer:1")
    def post(self, request, *, idempotency: Claim) -> Response:
        data = LabelInput(data=request.data)
        data.is_valid(raise_exception=True)
        PRINTER.claims.append(idempotency)
        if PRINTER.fail_with is not None:
            raise PRINTER.fail_with
        PRINTER.printed.append((str(idempotency.id), data.validated_data["text"]))
        return Response({"label": len(PRINTER.printed)}, status=201)


@pytest.fixture(autouse=True)
def printer():
    PRINTER.printed.clear()
    PRINTER.claims.clear()
    PRINTER.fail_with = None
    return PRINTER


def post(body, key: str | None = "k"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    request = APIRequestFactory().post("/labels", body, format="json", **headers)
    response = PrintLabelView.as_view()(request)
    response.render()
    return response


def records():
    return IdempotencyRecord.objects.using(database_for("cart")).filter(context="cart")


def test_an_answer_is_stored_in_the_endpoints_context_database_and_replayed(printer):
    first = post({"text": "fragile"})
    again = post({"text": "fragile"})

    assert (first.status_code, first.data) == (again.status_code, again.data) == (201, {"label": 1})
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert len(printer.printed) == 1
    assert records().get().response_body == {"label": 1}


def test_the_key_is_required_and_must_be_one_the_schema_admits(printer):
    assert post({"text": "fragile"}, key=None).data["code"] == "idempotency_key_required"
    refused = post({"text": "fragile"}, key="étiquette")
    assert refused.status_code == 400 and list(refused.data["errors"]) == ["Idempotency-Key"]
    assert not printer.printed and not records().exists()


def test_a_refusal_of_the_context_is_stored_and_replayed(printer):
    printer.fail_with = OutOfPaper()
    first = post({"text": "fragile"})
    printer.fail_with = None
    again = post({"text": "fragile"})

    assert first.status_code == again.status_code == 409
    assert again.data == first.data and first.data["code"] == "out_of_paper"
    assert again["Idempotent-Replayed"] == "true" and not printer.printed


def test_a_body_refused_before_any_work_leaves_the_key_free_for_the_corrected_one(printer):
    assert post({"text": ""}).status_code == 400
    corrected = post({"text": "fragile"})
    assert corrected.status_code == 201 and not corrected.has_header("Idempotent-Replayed")


def test_after_an_unexpected_error_the_retry_gets_the_same_claim_and_does_the_work_once(printer):
    printer.fail_with = Crash()
    with pytest.raises(Crash):
        post({"text": "fragile"})
    printer.fail_with = None
    other_body = post({"text": "another"})
    retried = post({"text": "fragile"})

    assert other_body.status_code == 422 and other_body.data["code"] == "idempotency_key_reused"
    assert retried.status_code == 201
    assert printer.claims[0] == printer.claims[-1], "the retry finds what the first attempt started by its claim"
    assert printer.printed == [(str(printer.claims[0].id), "fragile")]


def test_a_key_is_taken_exactly_when_the_declared_schema_admits_it_character_by_character():
    """The server's check and the schema's pattern (read as ECMA-262, as schemathesis and clients do)
    agree on every character below U+0800 and on a few beyond, alone, inside a key and at its ends."""
    import jsonschema_rs
    from rest_framework.exceptions import ValidationError

    from commerce.idempotency.keys import KEY_SCHEMA, clean_key

    validator = jsonschema_rs.validator_for(KEY_SCHEMA)

    def taken(key: str) -> bool:
        try:
            return clean_key(key) == key
        except ValidationError:
            return False

    characters = [chr(code) for code in [*range(1, 0x800), 0x2028, 0x3000, 0xFEFF, 0x1F600]]
    disagreements = [
        ascii(key)
        for character in characters
        for key in (character, f"a{character}b", f"{character}ab", f"ab{character}")
        if validator.is_valid(key) is not taken(key)
    ]
    assert disagreements == []
