from django.urls import path

from . import away_views, comment_views, queue_views, saved_reply_views, views

app_name = "submissions"

urlpatterns = [
    path("queue/", queue_views.queue, name="queue"),
    path("cohort/<id:cohort_id>/lab/<id:lab_id>/", views.lab_page, name="lab"),
    path("cohort/<id:cohort_id>/lab/<id:lab_id>/validate/", views.lab_validate, name="validate"),
    path("<id:pk>/", views.submission_detail, name="detail"),
    path("<id:pk>/review/", views.review_page, name="review"),
    path("<id:pk>/claim/", views.claim, name="claim"),
    path("<id:pk>/release/", views.release, name="release"),
    path("<id:pk>/reassign/", views.reassign, name="reassign"),
    path("<id:pk>/comments/", comment_views.comment_add, name="comment"),
    path("<id:pk>/comments/<id:comment_id>/edit/", comment_views.comment_edit, name="comment-edit"),
    path(
        "<id:pk>/comments/<id:comment_id>/delete/",
        comment_views.comment_delete,
        name="comment-delete",
    ),
    path("reviews/<id:pk>/acknowledge/", views.review_acknowledge, name="acknowledge"),
    path("attachments/<id:pk>/", views.attachment_download, name="attachment"),
    # Saved replies (submissions/saved_replies.py)
    path(
        "<id:pk>/saved-replies/insert/",
        saved_reply_views.saved_reply_insert,
        name="saved-reply-insert",
    ),
    path("saved-replies/", saved_reply_views.saved_reply_list, name="saved-replies"),
    path("saved-replies/new/", saved_reply_views.saved_reply_new, name="saved-reply-new"),
    path("saved-replies/usage/", saved_reply_views.saved_reply_usage, name="saved-reply-usage"),
    path(
        "saved-replies/<id:pk>/edit/", saved_reply_views.saved_reply_edit, name="saved-reply-edit"
    ),
    path(
        "saved-replies/<id:pk>/delete/",
        saved_reply_views.saved_reply_delete,
        name="saved-reply-delete",
    ),
    path("mentors/<id:user_id>/away/", away_views.away, name="away"),
    path("mentors/<id:user_id>/away/end/", away_views.away_end, name="away-end"),
]
