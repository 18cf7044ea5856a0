"""Staff see every outbox message and delivery, in every context's database, and retry failures."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from commerce.database import context_aliases
from commerce.eventbus import dispatch
from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage


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


class PerDatabaseAdmin(admin.ModelAdmin):
    def database(self, request: HttpRequest) -> str:
        alias = request.GET.get("database", "default")
        return alias if alias in context_aliases() else "default"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).using(self.database(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("subscription", "status", "attempts", "next_attempt_at", "delivered_at", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(PerDatabaseAdmin):
    list_display = ("event_type", "event_id", "occurred_at", "correlation_id", "created_at")
    list_filter = (DatabaseFilter, "event_type", AgeFilter)
    search_fields = ("event_id", "correlation_id", "event_type")
    readonly_fields = (
        "event_id",
        "event_type",
        "version",
        "payload",
        "occurred_at",
        "correlation_id",
        "causation_id",
        "created_at",
    )
    inlines = [DeliveryInline]
    date_hierarchy = "created_at"


@admin.register(Delivery)
class DeliveryAdmin(PerDatabaseAdmin):
    list_display = ("subscription", "event_type", "status", "attempts", "next_attempt_at", "short_error", "created_at")
    list_filter = (DatabaseFilter, "status", "subscription", "message__event_type", AgeFilter)
    search_fields = ("subscription", "message__event_id", "message__event_type", "last_error")
    list_select_related = ("message",)
    readonly_fields = (
        "message",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "delivered_at",
        "created_at",
    )
    actions = ["retry_deliveries"]

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
    list_display = ("subscription", "event_type", "event_id", "processed_at")
    list_filter = (DatabaseFilter, "subscription", "event_type")
    search_fields = ("event_id", "subscription")
