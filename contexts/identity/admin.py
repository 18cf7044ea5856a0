"""Staff screens of the identity context: customers with their addresses, erasures."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from contexts.identity import services
from contexts.identity.models import Address, Erasure, User


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = (("full_name", "phone"), ("line1", "line2"), ("postal_code", "city", "country"))


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    # Five columns fit 1400 px with a long address (the name in one, the state and closing in another).
    list_display = ("email", "name", "is_staff", "state", "date_joined")
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
    actions = ["log_out_everywhere"]

    @admin.display(description="name", ordering="last_name")
    def name(self, user: User) -> str:
        return user.get_full_name()

    @admin.display(description="state", ordering="is_active")
    def state(self, user: User) -> str:
        if user.closed_at:
            return f"closed {date_format(timezone.localtime(user.closed_at), 'SHORT_DATE_FORMAT')}"
        return "active" if user.is_active else "inactive"

    @admin.action(description="Log the selected accounts out everywhere (every token ends)", permissions=["change"])
    def log_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """For an account someone else got into: every token issued to it stops working at once, access
        tokens included, as when its owner logs out everywhere; its owner logs in again with the password."""
        selected = list(queryset.values_list("pk", flat=True))
        for user_id in selected:
            services.end_every_session(user_id=user_id)
        self.message_user(request, f"Logged out everywhere: {len(selected)}.", messages.SUCCESS)

    # Customer service may change customers, not make anyone staff, not edit staff, not set passwords
    # (the customer resets their own): only superusers manage staff and permissions.
    def get_fieldsets(self, request: HttpRequest, obj: User | None = None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not request.user.is_superuser:
            return tuple((name, opts) for name, opts in fieldsets if name != "Permissions")
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        fields = super().get_readonly_fields(request, obj)
        if not request.user.is_superuser:
            return (*fields, "password", "email")
        return fields

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(is_staff=False, is_superuser=False)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


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
