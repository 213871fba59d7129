from django.urls import path
from rest_framework.routers import SimpleRouter

from . import lab_views, views

router = SimpleRouter()
router.register("tracks", lab_views.TrackViewSet, basename="track")
router.register("labs", lab_views.LabViewSet, basename="lab")
router.register("cohorts", views.CohortViewSet, basename="cohort")
router.register(r"cohorts/(?P<cohort_pk>[0-9]+)/members", views.MemberViewSet, basename="member")
router.register(
    r"cohorts/(?P<cohort_pk>[0-9]+)/schedule", views.ScheduleViewSet, basename="schedule"
)

router.register(
    r"cohorts/(?P<cohort_pk>[0-9]+)/members", views.MemberDetailViewSet, basename="member-detail"
)
router.register(
    r"cohorts/(?P<cohort_pk>[0-9]+)/extensions", views.ExtensionViewSet, basename="extension"
)
router.register(
    r"cohorts/(?P<cohort_pk>[0-9]+)/overrides", views.OverrideViewSet, basename="override"
)
router.register(
    r"cohorts/(?P<cohort_pk>[0-9]+)/join-links", views.JoinLinkViewSet, basename="join-link"
)
router.register(
    r"cohorts/(?P<cohort_pk>[0-9]+)/enrollments", views.EnrollmentViewSet, basename="enrollment"
)

urlpatterns = [
    # Before the router, whose cohort detail route would take "join" as an id.
    path("cohorts/join/", views.JoinViewSet.as_view({"post": "create"}), name="cohort-join"),
    *router.urls,
]
