"""Staff screens of the identity context: customers with their addresses, the notification log."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from contexts.identity.models import Address, Erasure, Notification, User
from contexts.identity.services import notifications


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = (("full_name", "phone"), ("line1", "line2"), ("postal_code", "city", "country"))


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined", "closed_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name")
    inlines = [AddressInline]
    readonly_fields = ("last_login", "date_joined", "closed_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "closed_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "recipient", "order_number", "status", "attempts", "sent_at")
    list_filter = ("kind", "status")
    search_fields = ("recipient", "order_number", "=order_id", "=event_id", "subject")
    date_hierarchy = "created_at"
    actions = ["resend"]
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages come from events, never typed in by hand

    def has_delete_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False  # the log is the record of what customers were told

    @admin.action(description="Resend the selected notifications", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        sent = notifications.resend_notifications(notification_ids=selected)
        level = messages.SUCCESS if sent == len(selected) else messages.WARNING
        self.message_user(
            request,
            f"Sent {sent} of {len(selected)} (erased, in-flight or refused messages are not sent; see their status).",
            level,
        )


@admin.register(Erasure)
class ErasureAdmin(admin.ModelAdmin):
    list_display = (
        "customer_id",
        "requested_at",
        "identity_done_at",
        "orders_done_at",
        "carts_done_at",
        "completed_at",
    )
    list_filter = (("completed_at", admin.EmptyFieldListFilter),)
    search_fields = ("=customer_id",)
    readonly_fields = [field.name for field in Erasure._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Erasure | None = None) -> bool:
        return False
