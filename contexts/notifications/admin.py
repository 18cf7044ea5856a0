"""Staff screens of the notifications context: the message log, and resending.

A secret message (a password reset) never shows its body here: it held a reset link until it left.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from contexts.notifications import services
from contexts.notifications.models import Message

HIDDEN = "(secret: not shown)"


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    # Five columns fit 1400 px: the status, its attempts and when it went out in one.
    list_display = ("created_at", "kind", "recipient", "order_number", "outcome")
    list_filter = ("kind", "status")
    search_fields = ("recipient", "order_number", "=order_id", "=event_id", "subject")
    date_hierarchy = "created_at"
    actions = ["resend"]
    readonly_fields = [
        "text" if field.name == "body_text" else "html" if field.name == "body_html" else field.name
        for field in Message._meta.fields
    ]
    fields = readonly_fields  # the bodies only through ``text``/``html``, which hide a secret one

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages come from events, never typed in by hand

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False  # the log is the record of what customers were told

    @admin.display(description="status", ordering="status")
    def outcome(self, obj: Message) -> str:
        if obj.status == Message.Status.SENT and obj.sent_at:
            return f"Sent {date_format(timezone.localtime(obj.sent_at), 'DATETIME_FORMAT')}"
        tries = f" ({obj.attempts} attempt{'s' if obj.attempts != 1 else ''})" if obj.attempts else ""
        return f"{obj.get_status_display()}{tries}"

    @admin.display(description="body text")
    def text(self, obj: Message) -> str:
        return HIDDEN if obj.secret else obj.body_text

    @admin.display(description="body html")
    def html(self, obj: Message) -> str:
        return HIDDEN if obj.secret else obj.body_html

    @admin.action(description="Resend the selected messages", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        sent = services.resend_notifications(notification_ids=selected)
        level = messages.SUCCESS if sent == len(selected) else messages.WARNING
        self.message_user(
            request,
            f"Sent {sent} of {len(selected)} (erased, secret, in-flight, recorded-only or refused messages are "
            "not sent; see their status).",
            level,
        )
