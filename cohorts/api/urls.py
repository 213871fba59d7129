from django.urls import path

from accounts.api.routers import ApiRouter

from . import lab_views, views

router = ApiRouter()
router.register("tracks", lab_views.TrackViewSet, basename="track")
router.register("labs", lab_views.LabViewSet, basename="lab")
router.register("cohorts", views.CohortViewSet, basename="cohort")
router.register("cohorts/<id:cohort_pk>/members", views.MemberViewSet, basename="member")
router.register("cohorts/<id:cohort_pk>/schedule", views.ScheduleViewSet, basename="schedule")

router.register(
    "cohorts/<id:cohort_pk>/members", views.MemberDetailViewSet, basename="member-detail"
)
router.register("cohorts/<id:cohort_pk>/extensions", views.ExtensionViewSet, basename="extension")
router.register("cohorts/<id:cohort_pk>/overrides", views.OverrideViewSet, basename="override")
router.register("cohorts/<id:cohort_pk>/join-links", views.JoinLinkViewSet, basename="join-link")
router.register("cohorts/<id:cohort_pk>/pinning", views.PinningViewSet, basename="pinning")
router.register(
    "cohorts/<id:cohort_pk>/enrollments", views.EnrollmentViewSet, basename="enrollment"
)

router.register(
    "cohorts/<id:cohort_pk>/announcements", views.AnnouncementViewSet, basename="announcement"
)
router.register(
    "cohorts/<id:cohort_pk>/schedule/shifts", views.ScheduleShiftViewSet, basename="schedule-shift"
)

urlpatterns = [
    # Before the router's extension detail route.
    path(
        "cohorts/<id:cohort_pk>/extensions/bulk/",
        views.BulkExtensionViewSet.as_view({"post": "create"}),
        name="extension-bulk",
    ),
    # Before the router, whose cohort detail route would take "join" as an id.
    path("cohorts/join/", views.JoinViewSet.as_view({"post": "create"}), name="cohort-join"),
    *router.urls,
]
