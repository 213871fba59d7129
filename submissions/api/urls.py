from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("submissions", views.SubmissionViewSet, basename="submission")
_nested = r"submissions/(?P<submission_pk>[0-9]+)"
router.register(f"{_nested}/iterations", views.IterationViewSet, basename="submission-iteration")
router.register(f"{_nested}/reviews", views.ReviewViewSet, basename="submission-review")
router.register(f"{_nested}/comments", views.CommentViewSet, basename="submission-comment")
router.register(f"{_nested}/attachments", views.AttachmentViewSet, basename="submission-attachment")

router.register(
    r"cohorts/(?P<cohort_pk>[0-9]+)/progress",
    views.CohortProgressViewSet,
    basename="cohort-progress",
)

urlpatterns = [*router.urls]
