from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils import timezone

from core.exceptions import ApplicationError

from .identity import email_canonical, email_key
from .models import ApiToken, User
from .services import time_zone_clean


class _CanonicalEmailMixin:
    """The admin's address field follows the one e-mail rule (accounts.identity): a new or
    changed address must be accepted by `email_canonical`, and no other account may have its
    canonical key. The key is set with the address."""

    def clean_email(self):
        email = self.cleaned_data["email"]
        if self.instance.pk and "email" not in self.changed_data:
            return email  # unchanged: an older address stays as it is
        email = email_canonical(email)
        key = email_key(email)
        if User.objects.filter(email_key=key).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                "Another account already has this address (spelled the same or differently).",
                code="unique",
            )
        self.instance.email_key = key
        return email


class UserCreationForm(_CanonicalEmailMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(_CanonicalEmailMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_time_zone(self):
        """The zone rule of the profile page and the API (accounts.services.time_zone_clean)."""
        try:
            return time_zone_clean(self.cleaned_data["time_zone"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message, code="invalid") from exc


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "time_zone")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owners; staff may only see and revoke them."""

    list_display = [
        "prefix",
        "name",
        "user",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "user__email"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "key_hash"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        # Staff act on someone else's token here, so this is an admin-only write outside
        # api_token_revoke (which lets only the owner revoke).
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
