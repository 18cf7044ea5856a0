"""The Idempotency-Key store and the view decorator that applies it (the IETF draft's and Stripe's rules).

A record is claimed before the view runs and completed with its answer after, each in its own short
transaction on the endpoint's context database, never inside the view's work: a handled error is
recorded, and a process that dies mid-request leaves a ``running`` record whose lock expires, after
which a retry takes it over with the same ``Claim`` (so the work it started is found and finished, not
done twice). A record older than the retention is pruned; the same key used again is then a new claim.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions as drf
from rest_framework.request import Request
from rest_framework.response import Response

from commerce.database import database_for, statement_in
from commerce.errors import DomainError, error_body

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII (space to ``~``), not starting or ending with a space: what an HTTP field value can
# carry unchanged (servers trim surrounding spaces, and decode other bytes as Latin-1 differently).
KEY_PATTERN = r"^[!-~](?:[ -~]*[!-~])?$"
# Keys are kept at least this long, whatever an endpoint asks (API.md).
MIN_RETENTION_HOURS = 24
KEY_RULE = f"1 to {MAX_KEY_LENGTH} printable ASCII characters (space to `~`), not starting or ending with a space"

# What the schema declares of the header; ``clean_key`` takes exactly what it admits.
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN}
HEADER_PARAMETER = OpenApiParameter(
    HEADER,
    KEY_SCHEMA,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        f"{KEY_RULE}, unique per attempt (a UUID4 is ideal). The same key and body replay the first answer with "
        f"`{REPLAYED_HEADER}: true`; keys are scoped to the caller and kept at least {MIN_RETENTION_HOURS} hours."
    ),
)


class IdempotencyKeyRequired(DomainError):
    """The Idempotency-Key header is required."""

    code = "idempotency_key_required"
    http_status = 400


class IdempotencyKeyReused(DomainError):
    """This Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"
    http_status = 422


class RequestInProgress(DomainError):
    """A request with this Idempotency-Key is still running; retry shortly."""

    code = "request_in_progress"
    http_status = 409

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredResponse:
    status: int
    body: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A request's hold on its key. ``id`` names this use of the key: work the request starts is
    keyed by it, so a retry taking the claim over finds that work, and a key pruned and used again
    (a new claim) starts anew instead of finding another request's."""

    id: UUID
    scope: str
    key: str
    # True when this claim was taken over from a request that died or gave up: only then can work
    # keyed by ``id`` already exist (a fresh claim's id is new, so the view need not look for any).
    taken_over: bool = field(default=False, compare=False)


def clean_key(raw: str | None) -> str:
    """The header's value, or the refusal the contract gives.

    :raises IdempotencyKeyRequired: no header, or an empty one.
    :raises ValidationError: (DRF's, ``400 invalid`` with ``errors["Idempotency-Key"]``) not what
        ``HEADER_PARAMETER`` admits.
    """
    if raw is None or raw == "":
        raise IdempotencyKeyRequired()
    if len(raw) > MAX_KEY_LENGTH or not re.fullmatch(KEY_PATTERN, raw):
        raise drf.ValidationError({HEADER: [f"The {HEADER} header must be {KEY_RULE}."]})
    return raw


def request_fingerprint(*, method: str, operation: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {operation}\n{canonical}".encode()).hexdigest()


def _operation(request: Request) -> str:
    match = request.resolver_match
    return (match.url_name or match.route) if match else request.path_info


class IdempotencyKeys:
    """The Idempotency-Key records of one context's endpoints, in that context's database.

    ``retention_hours`` and ``lock_seconds`` are read on each use (settings may change in tests):
    how long answers are kept (never under ``MIN_RETENTION_HOURS``), and how long a running request
    holds its key before a retry may take it over.
    """

    def __init__(self, *, context: str, retention_hours: Callable[[], int], lock_seconds: Callable[[], int]) -> None:
        self.context = context
        self._retention_hours = retention_hours
        self._lock_seconds = lock_seconds

    def _records(self):
        from commerce.idempotency.models import IdempotencyRecord

        return IdempotencyRecord.objects.using(database_for(self.context)).filter(context=self.context)

    def claim(self, *, scope: str, key: str, fingerprint: str) -> Claim | StoredResponse:
        """Claim ``key`` for a new request, or return the stored answer of the first one.

        :raises IdempotencyKeyReused: the key was used with a different request.
        :raises RequestInProgress: the first request with this key is still running.
        """
        now = timezone.now()
        lock = timedelta(seconds=self._lock_seconds())
        try:
            # one INSERT: outside a transaction it commits by itself (a savepoint only when nested)
            with statement_in(self.context):
                record = self._records().create(
                    context=self.context, scope=scope, key=key, fingerprint=fingerprint, locked_until=now + lock
                )
            return Claim(id=record.claim, scope=scope, key=key)
        except IntegrityError:
            pass
        record = self._records().filter(scope=scope, key=key).first()
        if record is None:  # pruned between the insert and the read: claim again
            return self.claim(scope=scope, key=key, fingerprint=fingerprint)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.completed_at is not None:
            return StoredResponse(status=record.response_status, body=record.response_body)
        if record.locked_until and record.locked_until > now:
            raise RequestInProgress(retry_after=max(1, int((record.locked_until - now).total_seconds())))
        # the first request died or gave up: take its claim over, unless another retry just did
        taken = (
            self._records()
            .filter(pk=record.pk, locked_until=record.locked_until, completed_at__isnull=True)
            .update(locked_until=now + lock)
        )
        if not taken:
            raise RequestInProgress(retry_after=1)
        return Claim(id=record.claim, scope=scope, key=key, taken_over=True)

    def complete(self, claim: Claim, *, status: int, body: Any) -> None:
        """Store the answer the request gave, to be replayed for the same key."""
        self._records().filter(claim=claim.id).update(
            response_status=status, response_body=body, completed_at=timezone.now(), locked_until=None
        )

    def release(self, claim: Claim) -> None:
        """Let a retry of the same request take the claim over at once (the request gave no answer
        worth replaying, but may have started work the retry must find: an unexpected error)."""
        self._records().filter(claim=claim.id, completed_at__isnull=True).update(locked_until=timezone.now())

    def discard(self, claim: Claim) -> None:
        """Forget a claim whose request was refused before it did anything (its body did not validate):
        the key is free for any request, as if never sent."""
        self._records().filter(claim=claim.id, completed_at__isnull=True).delete()

    def forget(self, *, scope: str) -> int:
        """Delete every record of ``scope`` (a caller's personal data is erased with them)."""
        deleted, _ = self._records().filter(scope=scope).delete()
        return deleted

    def prune(self) -> int:
        """Delete records older than the retention: completed answers and abandoned claims alike."""
        hours = max(MIN_RETENTION_HOURS, self._retention_hours())
        deleted, _ = self._records().filter(created_at__lt=timezone.now() - timedelta(hours=hours)).delete()
        return deleted

    def idempotent(
        self, *, scope: Callable[[Request], str]
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Decorate a DRF view method so a retried request never doubles its effect.

        The method is called with ``idempotency=<Claim>`` and should key the work it starts by
        ``claim.id``. ``scope(request)`` names the caller (keys are scoped to it); it may refuse the
        request as a view would, before anything is stored. What the method answers, or a
        ``DomainError`` it raises, is stored and replayed with ``Idempotent-Replayed: true``; a DRF
        error (the body did not validate) forgets the key, and so does a ``DomainError`` that says
        the request left nothing a retry must find (``forget_key``, e.g. "another checkout of this cart
        is running": an answer for now, not for the key's retention); an error that says to retry later
        (``retry_after``) or an unexpected one leaves the claim for the retry to take over.
        """

        def decorate(method: Callable[..., Response]) -> Callable[..., Response]:
            @functools.wraps(method)
            def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
                key = clean_key(request.headers.get(HEADER))
                caller = scope(request)
                fingerprint = request_fingerprint(
                    method=request.method, operation=_operation(request), body=request.data
                )
                claimed = self.claim(scope=caller, key=key, fingerprint=fingerprint)
                if isinstance(claimed, StoredResponse):
                    return Response(claimed.body, status=claimed.status, headers={REPLAYED_HEADER: "true"})
                try:
                    response = method(view, request, *args, idempotency=claimed, **kwargs)
                except drf.APIException:
                    self.discard(claimed)
                    raise
                except DomainError as exc:
                    if getattr(exc, "forget_key", False):
                        self.discard(claimed)
                        raise
                    if getattr(exc, "retry_after", None):
                        self.release(claimed)
                        raise
                    response = Response(error_body(exc.code, exc.detail, **exc.extra()), status=exc.http_status)
                except BaseException:
                    self.release(claimed)
                    raise
                self.complete(claimed, status=response.status_code, body=response.data)
                return response

            return wrapper

        return decorate
