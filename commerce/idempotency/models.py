"""The stored answers of requests made with an ``Idempotency-Key``.

The table exists in every context's database, as the event bus's do: an endpoint's keys live beside
the data its requests change, so a context lifted out takes them along. It is always used with an
explicit alias (``commerce.idempotency.keys``).
"""

import uuid

from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to a request made with an ``Idempotency-Key``, replayed for the same key.

    Written in its own short transactions, never inside the request's, so a handled error is recorded
    and a crash leaves a ``running`` record whose lock expires. ``claim`` names this use of the key:
    a retry that takes the record over keeps it (and finds the work the first attempt started), a key
    used again after its record was pruned gets a new one (and starts new work).
    """

    claim = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    context = models.CharField(max_length=40, help_text="The context whose endpoint took the request.")
    scope = models.CharField(max_length=100, help_text="Who made the request: a customer, or a guest's client.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="Digest of method, operation and body.")
    locked_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("context", "scope", "key"), name="idempotency_context_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.context} {self.scope}:{self.key}"
