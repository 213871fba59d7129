"""Admin screens for cohort data. Writes with rules go through the services.

Cohorts are created and edited through ``cohort_create``/``cohort_update`` (the same
validation as the pages); memberships change through admin actions that call the
membership services. Schedule overrides, extensions, invitations, enrollment uploads,
schedule shifts and announcements are shown read-only: their pages (schedule, members,
announcements) are where they are made. Lab pins (a cohort kept on older lab revisions)
are read-only too; the one change here, ending pins, goes through ``cohort_pins_end``
(the import preview and the cohort page make them).
"""

from django import forms
from django.contrib import admin, messages

from core.admin import ViewOnlyAdmin
from core.exceptions import ApplicationError

from . import services
from .models import (
    Announcement,
    Cohort,
    CohortLabPin,
    EnrollmentUpload,
    Extension,
    Invitation,
    JoinLink,
    Membership,
    ScheduleOverride,
    ScheduleShift,
)
from .selectors import cohort_has_ended


class CohortAdminForm(forms.ModelForm):
    class Meta:
        model = Cohort
        fields = list(services.COHORT_EDITABLE_FIELDS)

    def clean(self):
        data = super().clean()
        # Run the service's validation now so that errors show on the form.
        try:
            services.validate_time_zone(data.get("time_zone") or "")
        except ApplicationError as error:
            self.add_error("time_zone", error.message)
        track = data.get("track")
        if (
            track is not None
            and not track.active
            and (self.instance.pk is None or self.instance.track_id != track.pk)
        ):
            self.add_error("track", f"The track “{track.name}” is archived.")
        return data


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "active", "joined_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    form = CohortAdminForm
    list_display = ("name", "slug", "track", "start_date", "time_zone", "status")
    list_filter = ("status", "track")
    search_fields = ("name", "slug")
    date_hierarchy = "start_date"
    list_select_related = ("track",)
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in services.COHORT_EDITABLE_FIELDS}
        try:
            if change:
                saved = services.cohort_update(
                    actor=request.user, cohort=Cohort.objects.get(pk=obj.pk), **data
                )
            else:
                saved = services.cohort_create(actor=request.user, **data)
        except ApplicationError as error:
            # The form already validated; what is left is a conflict found while saving.
            self.message_user(request, error.message, messages.ERROR)
            raise
        obj.pk = saved.pk
        obj.slug = saved.slug

    def has_delete_permission(self, request, obj=None):
        # Deleting a cohort would delete its memberships; finish it instead.
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "cohort", "role", "active", "joined_at")
    list_filter = ("role", "active", "cohort")
    search_fields = ("user__email", "user__name", "cohort__name")
    list_select_related = ("user", "cohort")
    readonly_fields = ("user", "cohort", "role", "active", "joined_at")
    fields = ("user", "cohort", "role", "active", "joined_at", "capacity")
    actions = ["deactivate", "reactivate", "make_learner", "make_mentor"]

    def save_model(self, request, obj, form, change):
        # Only capacity is editable; through the service, so a raise assigns waiting work.
        services.membership_set_capacity(
            actor=request.user, membership=obj, capacity=form.cleaned_data.get("capacity")
        )

    def has_add_permission(self, request):
        # Adding goes through the members page, which also invites new accounts.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Remove from the cohort (keeps their work)")
    def deactivate(self, request, queryset):
        for membership in queryset:
            services.membership_deactivate(actor=request.user, membership=membership)
        self.message_user(request, f"{queryset.count()} membership(s) ended.")

    @admin.action(description="Restore membership")
    def reactivate(self, request, queryset):
        for membership in queryset:
            services.membership_reactivate(actor=request.user, membership=membership)
        self.message_user(request, f"{queryset.count()} membership(s) restored.")

    @admin.action(description="Make learner")
    def make_learner(self, request, queryset):
        for membership in queryset:
            services.membership_change_role(
                actor=request.user, membership=membership, role=Membership.Role.LEARNER
            )

    @admin.action(description="Make mentor")
    def make_mentor(self, request, queryset):
        for membership in queryset:
            services.membership_change_role(
                actor=request.user, membership=membership, role=Membership.Role.MENTOR
            )


@admin.register(ScheduleOverride)
class ScheduleOverrideAdmin(ViewOnlyAdmin):
    list_display = ("cohort", "lab", "release_at", "due_at", "updated_by", "updated_at")
    list_filter = ("cohort",)
    list_select_related = ("cohort", "lab", "updated_by")


@admin.register(Extension)
class ExtensionAdmin(ViewOnlyAdmin):
    list_display = ("learner", "cohort", "lab", "due_at", "reason", "granted_by", "created_at")
    list_filter = ("cohort",)
    search_fields = ("learner__email", "reason")
    list_select_related = ("learner", "cohort", "lab", "granted_by")


@admin.register(JoinLink)
class JoinLinkAdmin(ViewOnlyAdmin):
    list_display = ("cohort", "enabled", "expires_at", "created_by", "created_at")
    list_filter = ("enabled", "cohort")
    list_select_related = ("cohort", "created_by")
    exclude = ("token",)  # a secret: shown on the cohort's join links page to staff
    actions = ["disable"]

    @admin.action(description="Turn off")
    def disable(self, request, queryset):
        for link in queryset:
            services.join_link_disable(actor=request.user, link=link)
        self.message_user(request, f"{queryset.count()} link(s) turned off.")


@admin.register(Invitation)
class InvitationAdmin(ViewOnlyAdmin):
    list_display = ("user", "cohort", "invited_by", "created_at", "sent_at")
    list_filter = ("cohort",)
    search_fields = ("user__email",)
    list_select_related = ("user", "cohort", "invited_by")


@admin.register(EnrollmentUpload)
class EnrollmentUploadAdmin(ViewOnlyAdmin):
    list_display = ("cohort", "filename", "created_by", "created_at", "applied_at", "result")
    list_filter = ("cohort",)
    list_select_related = ("cohort", "created_by")
    exclude = ("source",)


@admin.register(ScheduleShift)
class ScheduleShiftAdmin(ViewOnlyAdmin):
    list_display = ("cohort", "days", "shifted_by", "created_at", "labs_moved", "extensions_moved")
    list_filter = ("cohort",)
    list_select_related = ("cohort", "shifted_by")


@admin.register(Announcement)
class AnnouncementAdmin(ViewOnlyAdmin):
    list_display = ("title", "cohort", "author", "created_at")
    list_filter = ("cohort",)
    search_fields = ("title",)
    list_select_related = ("cohort", "author")


class PinStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("open", "Not ended"), ("ended", "Ended by staff"))

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(ended_at__isnull=True)
        if self.value() == "ended":
            return queryset.filter(ended_at__isnull=False)
        return queryset


@admin.register(CohortLabPin)
class CohortLabPinAdmin(ViewOnlyAdmin):
    list_display = (
        "cohort",
        "lab",
        "revision_number",
        "holding",
        "source_import",
        "created_by",
        "created_at",
        "ended_at",
        "ended_by",
    )
    list_filter = (PinStateFilter, "cohort__status", "lab__track", "cohort")
    search_fields = ("cohort__name", "cohort__slug", "lab__title")
    list_select_related = (
        "cohort",
        "lab__track",
        "revision",
        "source_import",
        "created_by",
        "ended_by",
    )
    date_hierarchy = "created_at"
    actions = ["end_pins"]

    @admin.display(description="revision", ordering="revision__number")
    def revision_number(self, pin):
        return pin.revision.number

    @admin.display(description="holding back", boolean=True)
    def holding(self, pin):
        # A finished cohort's pins stop counting without being ended (cohorts.services.pins).
        return pin.ended_at is None and not cohort_has_ended(pin.cohort)

    @admin.action(description="End the chosen pins (their learners read the latest text)")
    def end_pins(self, request, queryset):
        ended = 0
        for pin in queryset.filter(ended_at__isnull=True).select_related("cohort", "lab"):
            try:
                ended += services.cohort_pins_end(
                    actor=request.user, cohort=pin.cohort, lab=pin.lab
                )
            except ApplicationError as error:
                self.message_user(request, f"{pin.cohort}: {error.message}", messages.ERROR)
        self.message_user(request, f"{ended} pin(s) ended.")
