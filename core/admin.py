"""Admin building blocks shared by the apps."""

from django.contrib import admin


class ViewOnlyMixin:
    """Staff may look but not add, edit or delete here.

    For records whose history matters (iterations, reviews, assignments, extensions...):
    every change to them goes through the owning app's services, which keep the rules,
    record the events and never rewrite what a learner handed in.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """A model's admin pages, read-only (see ViewOnlyMixin)."""


class ViewOnlyInline(ViewOnlyMixin, admin.TabularInline):
    """A read-only table of related records on a parent's admin page."""

    extra = 0
    can_delete = False
    show_change_link = True
