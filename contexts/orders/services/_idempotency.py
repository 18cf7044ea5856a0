"""The Idempotency-Key store (the IETF draft's and Stripe's behaviour).

A record is claimed before the request runs and completed with its answer after, each in its own
short transaction on the orders database, never inside the saga's: a handled error is recorded, and
a process that dies mid-request leaves a ``running`` record whose lock expires, after which a retry
takes it over (the checkout it started is found by the key and healed, not run twice).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from commerce.database import atomic_in, database_for
from contexts.orders.conf import orders_settings
from contexts.orders.exceptions import (
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    RequestInProgress,
)
from contexts.orders.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredResponse:
    status: int
    body: Any


def _records():
    return IdempotencyRecord.objects.using(database_for("orders"))


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def clean_idempotency_key(key: str | None) -> str:
    if key is None or key == "":
        raise IdempotencyKeyRequired()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable() or key.strip() != key:
        raise IdempotencyKeyInvalid(
            f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters without surrounding spaces."
        )
    return key


def claim_idempotency_key(*, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for a new request, or return the stored answer of the first one.

    :raises IdempotencyKeyReused: the key was used with a different request.
    :raises RequestInProgress: the first request with this key is still running.
    """
    now = timezone.now()
    lock = timedelta(seconds=orders_settings().idempotency_lock_seconds)
    try:
        with atomic_in("orders"):
            _records().create(scope=scope, key=key, fingerprint=fingerprint, locked_until=now + lock)
        return None
    except IntegrityError:
        pass
    record = _records().filter(scope=scope, key=key).first()
    if record is None:  # pruned between the insert and the read: claim again
        return claim_idempotency_key(scope=scope, key=key, fingerprint=fingerprint)
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.completed_at is not None:
        return StoredResponse(status=record.response_status, body=record.response_body)
    if record.locked_until and record.locked_until > now:
        raise RequestInProgress(retry_after=max(1, int((record.locked_until - now).total_seconds())))
    # the first request died: take its lock over, unless another retry just did
    taken = (
        _records()
        .filter(pk=record.pk, locked_until=record.locked_until, completed_at__isnull=True)
        .update(locked_until=now + lock)
    )
    if not taken:
        raise RequestInProgress(retry_after=1)
    return None


def complete_idempotency_key(*, scope: str, key: str, status: int, body: Any) -> None:
    """Store the answer the first request gave, to be replayed for the same key."""
    _records().filter(scope=scope, key=key).update(
        response_status=status, response_body=body, completed_at=timezone.now(), locked_until=None
    )


def release_idempotency_key(*, scope: str, key: str) -> None:
    """Forget a claim whose request produced no answer worth replaying (401, 429, an unexpected error)."""
    _records().filter(scope=scope, key=key, completed_at__isnull=True).delete()


def prune_idempotency_records() -> int:
    """Delete completed records older than the retention (at least 24 hours) and abandoned claims."""
    cutoff = timezone.now() - timedelta(hours=orders_settings().idempotency_retention_hours)
    deleted, _ = _records().filter(created_at__lt=cutoff).delete()
    return deleted
