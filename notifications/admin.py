from django.contrib import admin, messages
from django.db.models import QuerySet

from core.exceptions import ApplicationError

from . import services
from .models import EmailDelivery, Event, Notification, Preference


class ProcessedFilter(admin.SimpleListFilter):
    title = "processed"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [("yes", "Processed"), ("no", "Waiting"), ("stuck", "Gave up (too many errors)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(processed_at__isnull=True)
        if self.value() == "stuck":
            return queryset.filter(
                processed_at__isnull=True, attempts__gte=services.MAX_EVENT_ATTEMPTS
            )
        return queryset


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "kind",
        "target_type",
        "target_id",
        "actor",
        "created_at",
        "processed_at",
        "attempts",
    ]
    list_filter = [ProcessedFilter, "kind"]
    search_fields = ["kind", "dedupe_key", "actor__email"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    readonly_fields = [f.name for f in Event._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "recipient",
        "kind",
        "text",
        "created_at",
        "read_at",
        "email_status",
        "email_attempts",
    ]
    list_filter = ["email_status", "kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient__email", "text"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    raw_id_fields = ["recipient", "actor", "event"]
    actions = ["retry_failed_emails"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry the selected failed emails")
    def retry_failed_emails(self, request, queryset: QuerySet[Notification]):
        retried = 0
        for notification in queryset.filter(email_status=Notification.EmailStatus.FAILED):
            try:
                services.notification_email_retry(actor=request.user, notification=notification)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
            retried += 1
        self.message_user(request, f"{retried} email(s) queued again.", messages.SUCCESS)


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "recipient", "subject", "claimed_at", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["key", "recipient__email", "subject"]
    list_select_related = ["recipient"]
    readonly_fields = [f.name for f in EmailDelivery._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "channel"]
    list_filter = ["kind", "channel"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
