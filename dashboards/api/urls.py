from accounts.api.routers import ApiRouter

from . import views

router = ApiRouter()
router.register(
    "cohorts/<id:cohort_pk>/export", views.CohortExportViewSet, basename="cohort-export"
)

urlpatterns = [*router.urls]
