"""The payment gateway port, and the built-in test gateway that honours API.md's tokens.

The shop talks to a payment provider only through ``PaymentGateway``; the adapter is chosen by the
dotted path in ``ORDERS_PAYMENT_GATEWAY``, so a real provider plugs in without touching the saga.
Every call carries an idempotency key: the provider applies a key once and answers a repeated call
with the first outcome, and ``find_charge`` looks a charge up by the key it was made with. That
lookup is how the saga learns the truth after an answer was lost (``GatewayTimeout``).

Test tokens: ``tok_ok`` succeeds; ``tok_declined`` is declined; ``tok_error`` fails as a network
error would, before any money is taken; ``tok_timeout`` captures the money and then loses the answer.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.db import IntegrityError, connections
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from commerce.database import atomic_in, database_for, statement_in
from contexts.orders.conf import orders_settings
from contexts.orders.models import GatewayCharge, GatewayRefund

TEST_TOKENS = ("tok_ok", "tok_declined", "tok_error", "tok_timeout")


class GatewayFailure(Exception):
    """Base of what a gateway call can end with besides an answer."""


class GatewayDeclined(GatewayFailure):
    """The provider declined the payment; no money was taken."""


class GatewayUnavailable(GatewayFailure):
    """The provider could not be reached or failed before taking any money."""


class GatewayTimeout(GatewayFailure):
    """The answer never arrived: the call may or may not have taken effect. Look it up by key."""


class GatewayRefused(GatewayFailure):
    """The provider refused an operation on an existing charge (refund above what is left, void after capture)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Charge:
    id: str
    idempotency_key: str
    status: str  # "authorized" | "captured" | "voided" | "declined"
    amount: Decimal
    currency: str
    captured: Decimal
    refunded: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundReceipt:
    idempotency_key: str
    charge_id: str
    amount: Decimal


class PaymentGateway(Protocol):
    name: str

    def validate_token(self, token: str) -> bool:
        """Whether the provider could accept this token at all (a malformed one is the caller's 400)."""

    def authorize(self, *, idempotency_key: str, token: str, amount: Decimal, currency: str) -> Charge:
        """Hold ``amount`` on the payment method. :raises GatewayDeclined, GatewayUnavailable, GatewayTimeout:"""

    def capture(self, *, charge_id: str, amount: Decimal) -> Charge:
        """Take the held money; a charge is captured at most once. :raises GatewayRefused, GatewayTimeout:"""

    def void(self, *, charge_id: str) -> Charge:
        """Release a hold that was not captured. :raises GatewayRefused: already captured."""

    def refund(self, *, idempotency_key: str, charge_id: str, amount: Decimal) -> RefundReceipt:
        """Give back ``amount`` of a captured charge, once per key. :raises GatewayRefused, GatewayUnavailable:"""

    def find_charge(self, *, idempotency_key: str) -> Charge | None:
        """The charge made with this key, or ``None`` if the provider never made one."""

    def list_charges(self) -> Iterable[Charge]:
        """Every charge the provider holds for the shop (its settlement report), for reconciliation."""


def gateway() -> PaymentGateway:
    return _load(orders_settings().payment_gateway)


@cache
def _load(path: str) -> PaymentGateway:
    return import_string(path)()


class TestGateway:
    """A provider simulated on the shop's database, with its own ledger of charges and refunds.

    Each operation is one short transaction of its own (as a remote call would be) that locks the
    charge row, so two concurrent captures or refunds of one charge are applied one after the other.
    """

    name = "test"
    __test__ = False  # not a pytest test class

    def validate_token(self, token: str) -> bool:
        return token in TEST_TOKENS

    def _charge(self, row) -> Charge:
        return Charge(
            id=row.id,
            idempotency_key=row.idempotency_key,
            status=row.status,
            amount=row.amount,
            currency=row.currency,
            captured=row.captured,
            refunded=row.refunded,
        )

    def _rows(self):
        return GatewayCharge.objects.using(database_for("orders"))

    def authorize(self, *, idempotency_key: str, token: str, amount: Decimal, currency: str) -> Charge:
        if token not in TEST_TOKENS or token == "tok_error":
            existing = self._rows().filter(idempotency_key=idempotency_key).first()
            if existing is not None:  # answered before: the same answer again, as a provider's would be
                return self._answer(existing)
            if token == "tok_error":
                raise GatewayUnavailable("The payment provider could not be reached.")
            raise GatewayDeclined(f"Unknown payment token {token!r}.")
        row = GatewayCharge(
            id=f"ch_{uuid.uuid4().hex[:24]}",
            idempotency_key=idempotency_key,
            token=token,
            amount=amount,
            currency=currency,
            status="declined" if token == "tok_declined" else "authorized",
        )
        try:
            # one INSERT (the key is unique): a key seen before is the rare case, found after the conflict
            with statement_in("orders"):
                row.save(using=database_for("orders"), force_insert=True)
        except IntegrityError:  # the same key again (a retry, or one racing in): the first one's answer
            row = self._rows().get(idempotency_key=idempotency_key)
        return self._answer(row)

    def _answer(self, row: GatewayCharge) -> Charge:
        if row.status == "declined":
            raise GatewayDeclined("The card was declined.")
        return self._charge(row)

    def capture(self, *, charge_id: str, amount: Decimal) -> Charge:
        row = self._capture_authorized(charge_id, amount)
        if row is None:  # not an authorized charge within its amount: say why, under the row's lock
            with atomic_in("orders"):
                row = self._rows().select_for_update().get(pk=charge_id)
                if row.status == "authorized":
                    raise GatewayRefused("Cannot capture more than was authorized.")
                if row.status != "captured":
                    raise GatewayRefused(f"A {row.status} charge cannot be captured.")
        if row.token == "tok_timeout":
            raise GatewayTimeout("The payment provider did not answer in time.")
        return self._charge(row)

    def _capture_authorized(self, charge_id: str, amount: Decimal) -> GatewayCharge | None:
        """Capture an authorized charge in one conditional statement that returns the row (``RETURNING``:
        PostgreSQL and SQLite both have it); None when the charge is not authorized or ``amount`` is
        above what was authorized."""
        alias = database_for("orders")
        connection = connections[alias]
        table = connection.ops.quote_name(GatewayCharge._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with statement_in("orders"):
            captured = list(
                GatewayCharge.objects.using(alias).raw(
                    f"UPDATE {table} SET status = 'captured', captured = %s, updated_at = %s "
                    "WHERE id = %s AND status = 'authorized' AND amount >= %s RETURNING *",
                    [amount, now, charge_id, amount],
                )
            )
        return captured[0] if captured else None

    def void(self, *, charge_id: str) -> Charge:
        with atomic_in("orders"):
            row = self._rows().select_for_update().get(pk=charge_id)
            if row.status == "authorized":
                row.status = "voided"
                row.save(update_fields=["status", "updated_at"])
            elif row.status not in ("voided", "declined"):
                raise GatewayRefused(f"A {row.status} charge cannot be voided; refund it.")
        return self._charge(row)

    def refund(self, *, idempotency_key: str, charge_id: str, amount: Decimal) -> RefundReceipt:
        alias = database_for("orders")
        with atomic_in("orders"):
            row = self._rows().select_for_update().get(pk=charge_id)
            done = GatewayRefund.objects.using(alias).filter(idempotency_key=idempotency_key).first()
            if done is None:
                if amount <= 0 or amount > row.captured - row.refunded:
                    raise GatewayRefused(f"Cannot refund {amount}: {row.captured - row.refunded} is left to refund.")
                done = GatewayRefund.objects.using(alias).create(
                    charge=row, idempotency_key=idempotency_key, amount=amount
                )
                self._rows().filter(pk=row.pk).update(refunded=F("refunded") + amount)
        return RefundReceipt(idempotency_key=done.idempotency_key, charge_id=row.pk, amount=done.amount)

    def find_charge(self, *, idempotency_key: str) -> Charge | None:
        row = self._rows().filter(idempotency_key=idempotency_key).first()
        return None if row is None else self._charge(row)

    def list_charges(self) -> Iterable[Charge]:
        return (self._charge(row) for row in self._rows().order_by("created_at").iterator())
