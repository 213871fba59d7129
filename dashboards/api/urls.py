from django.urls import path

from accounts.api.routers import ApiRouter

from . import staff, views

router = ApiRouter()
router.register(
    "cohorts/<id:cohort_pk>/export", views.CohortExportViewSet, basename="cohort-export"
)

urlpatterns = [
    *router.urls,
    path("staff/overview/", staff.StaffOverviewView.as_view(), name="staff-overview"),
]
