from django.urls import path

from . import views

app_name = "submissions"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("cohort/<int:cohort_id>/lab/<int:lab_id>/", views.lab_page, name="lab"),
    path("cohort/<int:cohort_id>/lab/<int:lab_id>/validate/", views.lab_validate, name="validate"),
    path("<int:pk>/", views.submission_detail, name="detail"),
    path("<int:pk>/review/", views.review_page, name="review"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/reassign/", views.reassign, name="reassign"),
    path("<int:pk>/comments/", views.comment_add, name="comment"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
