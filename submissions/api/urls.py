from django.urls import path

from accounts.api.routers import ApiRouter

from . import saved_replies, views

router = ApiRouter()
router.register("submissions", views.SubmissionViewSet, basename="submission")
_nested = "submissions/<id:submission_pk>"
router.register(f"{_nested}/iterations", views.IterationViewSet, basename="submission-iteration")
router.register(f"{_nested}/reviews", views.ReviewViewSet, basename="submission-review")
router.register(f"{_nested}/points", views.ReviewPointViewSet, basename="submission-point")
router.register(f"{_nested}/comments", views.CommentViewSet, basename="submission-comment")
router.register("reviews", views.ReviewAcknowledgeViewSet, basename="review")
router.register(f"{_nested}/attachments", views.AttachmentViewSet, basename="submission-attachment")

router.register("saved-replies", saved_replies.SavedReplyViewSet, basename="saved-reply")

router.register(
    "cohorts/<id:cohort_pk>/progress",
    views.CohortProgressViewSet,
    basename="cohort-progress",
)

urlpatterns = [
    *router.urls,
    path("me/away/", views.MyAwayView.as_view(), name="me-away"),
    path("mentors/<id:user_id>/away/", views.MentorAwayView.as_view(), name="mentor-away"),
]
