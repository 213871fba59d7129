# Track and lab reads are served from cohorts/api (who may read a lab depends on cohort
# memberships); this app's API holds the curriculum imports.

from accounts.api.routers import ApiRouter

from . import views

router = ApiRouter()
router.register("curriculum/imports", views.ImportViewSet, basename="curriculum-import")

urlpatterns = [*router.urls]
