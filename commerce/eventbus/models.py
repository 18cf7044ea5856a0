"""The outbox, the deliveries it owes, and the inbox that makes each delivery count once.

These tables exist in every context's database: an outbox row commits with the publisher's data, an
inbox row with the subscriber's. They are always used with an explicit database alias.
"""

from django.db import models


class OutboxMessage(models.Model):
    """One published event, written in the publisher's transaction."""

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=120, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    payload = models.JSONField()
    occurred_at = models.DateTimeField()
    correlation_id = models.CharField(max_length=128, blank=True, db_index=True)
    causation_id = models.CharField(max_length=128, blank=True)
    # The publisher's trace (W3C traceparent/tracestate) when tracing is on: deliveries continue it.
    trace_context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "outbox message"

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class Delivery(models.Model):
    """What one subscription is owed of one message: retried with backoff, then dead-lettered."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Dead-lettered"
        DELIVERED = "delivered", "Delivered"

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.CharField(max_length=160, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # How many of the attempts the handler deferred (``Deferred``): not counted toward MAX_ATTEMPTS.
    deferrals = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    # The ordered stream a relayed delivery belongs to (``types.partition_key``); "" for the rest.
    partition_key = models.CharField(max_length=200, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["message", "subscription"], name="eventbus_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="eventbus_delivery_due"),
            # The relay's "is an earlier event of this stream still owed?" look-up, over owed rows only.
            models.Index(
                fields=["subscription", "partition_key", "id"],
                condition=models.Q(status__in=["pending", "failed"]),
                name="eventbus_delivery_stream",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription} ← {self.message_id} ({self.status})"


class InboxEntry(models.Model):
    """Proof that a subscription applied an event; written in the handler's own transaction."""

    event_id = models.UUIDField()
    subscription = models.CharField(max_length=160)
    event_type = models.CharField(max_length=120)
    processed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "inbox entries"
        constraints = [
            models.UniqueConstraint(fields=["event_id", "subscription"], name="eventbus_inbox_once"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription} ← {self.event_id}"


class ConsumerMember(models.Model):
    """A consumer process of a lifted context, alive while its heartbeat is younger than the lease TTL:
    the live ones divide the context's partitions between them (``remote.consumer``)."""

    context = models.CharField(max_length=100)
    holder = models.CharField(max_length=200)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["context", "holder"], name="eventbus_consumer_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.context}: {self.holder}"


class ConsumerLease(models.Model):
    """Which consumer process may consume one partition queue of a context, until ``expires_at``.

    One row per (context, partition), taken by a conditional update (free: no holder, or expired), so two
    processes never both believe they hold it; the queue's single active consumer covers the rest (a
    holder cut off from this database that has not noticed yet)."""

    context = models.CharField(max_length=100)
    partition = models.PositiveIntegerField()
    holder = models.CharField(max_length=200, blank=True, default="")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["context", "partition"], name="eventbus_consumer_lease_once"),
        ]

    def __str__(self) -> str:
        return f"{self.context}.{self.partition} held by {self.holder or 'nobody'} until {self.expires_at}"
