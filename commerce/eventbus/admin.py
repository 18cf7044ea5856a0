"""Staff see every outbox message and delivery, in every context's database, and retry failures.

In split mode each context's outbox, deliveries and inbox live in its own database. The database
picked in the list (``?database=<alias>``) is kept by every page reached from there: a change page
opened from the list (Django carries the list's filters along as ``_changelist_filters``), the
deliveries shown inline on a message, the filters' choices, and the links between a message and its
deliveries. Nothing of the bus can be added, changed or deleted here: retrying is the one action.
"""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from commerce.database import context_aliases
from commerce.eventbus import dispatch
from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage
from commerce.eventbus.types import redacted


def selected_database(request: HttpRequest) -> str:
    """The alias staff picked, from the URL or from the list's filters a change page carries."""
    alias = request.GET.get("database") or QueryDict(request.GET.get("_changelist_filters", "")).get("database")
    return alias if alias in context_aliases() else "default"


def change_url(obj: object) -> str:
    """The admin page of ``obj`` on the database it was read from."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return f"{url}?database={obj._state.db}"


class DatabaseFilter(admin.SimpleListFilter):
    """In split mode each context's outbox lives in its own database: pick which one to look at."""

    title = "database"
    parameter_name = "database"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(alias, alias) for alias in context_aliases()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset  # applied in get_queryset, which must know the alias before filtering


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("1h", "Older than an hour"), ("1d", "Older than a day"), ("7d", "Older than a week")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        hours = {"1h": 1, "1d": 24, "7d": 24 * 7}.get(self.value() or "")
        if hours is None:
            return queryset
        return queryset.filter(created_at__lt=timezone.now() - timezone.timedelta(hours=hours))


class EventTypeOfMessageFilter(admin.AllValuesFieldListFilter):
    """The deliveries' ``message__event_type`` choices, read from the selected database (Django's own
    filter reads a related model's values from the default database)."""

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = (
            model_admin.get_queryset(request).order_by(field_path).values_list(field_path, flat=True).distinct()
        )


class PerDatabaseAdmin(admin.ModelAdmin):
    def database(self, request: HttpRequest) -> str:
        return selected_database(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).using(self.database(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False  # an outbox row deleted by hand is an event lost; pruning removes delivered ones


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("delivery", "status", "attempts", "deferrals", "next_attempt_at", "delivered_at", "last_error")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).using(selected_database(request))

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    @admin.display(description="subscription")
    def delivery(self, obj: Delivery) -> str:
        return format_html('<a href="{}">{}</a>', change_url(obj), obj.subscription)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(PerDatabaseAdmin):
    # Three columns fit 1400 px; the correlation id and when it was recorded are on its page (and searchable).
    list_display = ("event_type", "event_id", "occurred_at")
    list_filter = (DatabaseFilter, "event_type", AgeFilter)
    search_fields = ("event_id", "correlation_id", "event_type")
    readonly_fields = (
        "event_id",
        "event_type",
        "version",
        "event_payload",
        "occurred_at",
        "correlation_id",
        "causation_id",
        "created_at",
    )
    fields = readonly_fields
    inlines = [DeliveryInline]
    date_hierarchy = "created_at"

    @admin.display(description="payload")
    def event_payload(self, obj: OutboxMessage) -> str:
        """The payload with the event type's secret fields (a reset link) masked: staff never see one."""
        return json.dumps(redacted(obj.event_type, obj.payload), indent=2, sort_keys=True, ensure_ascii=False)


@admin.register(Delivery)
class DeliveryAdmin(PerDatabaseAdmin):
    list_display = ("subscription", "event_type", "status", "attempts", "next_attempt_at", "short_error", "created_at")
    list_filter = (
        DatabaseFilter,
        "status",
        "subscription",
        ("message__event_type", EventTypeOfMessageFilter),
        AgeFilter,
    )
    search_fields = ("subscription", "message__event_id", "message__event_type", "last_error")
    list_select_related = ("message",)
    readonly_fields = (
        "outbox_message",
        "subscription",
        "status",
        "attempts",
        "deferrals",
        "next_attempt_at",
        "last_error",
        "delivered_at",
        "created_at",
    )
    fields = readonly_fields  # the raw ``message`` field would link to the default database's row
    actions = ["retry_deliveries"]

    @admin.display(description="message")
    def outbox_message(self, obj: Delivery) -> str:
        return format_html('<a href="{}">{}</a>', change_url(obj.message), obj.message)

    @admin.display(description="event", ordering="message__event_type")
    def event_type(self, obj: Delivery) -> str:
        return obj.message.event_type

    @admin.display(description="last error")
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:120]

    @admin.action(description="Retry selected failed or dead-lettered deliveries")
    def retry_deliveries(self, request: HttpRequest, queryset: QuerySet) -> None:
        alias = queryset.db
        count = dispatch.requeue(alias, queryset.values_list("pk", flat=True))
        self.message_user(request, f"Re-queued {count} deliveries.", messages.SUCCESS)


@admin.register(InboxEntry)
class InboxEntryAdmin(PerDatabaseAdmin):
    # Three columns fit 1400 px: the event's type and the start of its id in one (the whole id is searchable).
    list_display = ("subscription", "event", "processed_at")
    list_filter = (DatabaseFilter, "subscription", "event_type")
    search_fields = ("event_id", "subscription")

    @admin.display(description="event", ordering="event_type")
    def event(self, obj: InboxEntry) -> str:
        return f"{obj.event_type} · {str(obj.event_id)[:8]}"
