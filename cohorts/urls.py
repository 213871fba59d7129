from django.urls import path

from . import bulk_views, views

app_name = "cohorts"

urlpatterns = [
    path("", views.cohort_list, name="list"),
    path("mine/", views.my_cohorts, name="mine"),
    path("new/", views.cohort_create, name="create"),
    path("join/<str:token>/", views.join, name="join"),
    path("<slug:slug>/", views.cohort_detail, name="detail"),
    path("<slug:slug>/edit/", views.cohort_edit, name="edit"),
    path("<slug:slug>/members/", views.members, name="members"),
    path("<slug:slug>/members/upload/", views.enrollment_upload, name="enrollment_upload"),
    path("<slug:slug>/members/upload/<id:upload_id>/", views.enrollment, name="enrollment"),
    path(
        "<slug:slug>/members/<id:membership_id>/remove/",
        views.member_deactivate,
        name="member_deactivate",
    ),
    path(
        "<slug:slug>/members/<id:membership_id>/restore/",
        views.member_reactivate,
        name="member_reactivate",
    ),
    path("<slug:slug>/members/<id:membership_id>/role/", views.member_role, name="member_role"),
    path("<slug:slug>/schedule/", views.schedule, name="schedule"),
    path("<slug:slug>/schedule/shift/", bulk_views.schedule_shift, name="schedule_shift"),
    path("<slug:slug>/schedule/<id:lab_id>/dates/", views.override_set, name="override"),
    path("<slug:slug>/pinning/", views.pinning, name="pinning"),
    path("<slug:slug>/extensions/", views.extension_grant, name="extension_grant"),
    path("<slug:slug>/extensions/all/", bulk_views.extension_all, name="extension_all"),
    path("<slug:slug>/announcements/", bulk_views.announcements, name="announcements"),
    path(
        "<slug:slug>/extensions/<id:extension_id>/remove/",
        views.extension_revoke,
        name="extension_revoke",
    ),
    path("<slug:slug>/links/", views.join_links, name="links"),
    path("<slug:slug>/links/<id:link_id>/toggle/", views.join_link_toggle, name="link_toggle"),
]
