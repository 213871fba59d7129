from django.urls import path

from . import search_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.learner_home, name="learner"),
    path("mentor/", views.mentor_home, name="mentor"),
    path(
        "mentor/cohorts/<id:cohort_id>/learners/<id:user_id>/",
        views.learner_history,
        name="learner-history",
    ),
    path(
        "mentor/cohorts/<id:cohort_id>/export/<slug:kind>/",
        views.cohort_export,
        name="cohort-export",
    ),
    path("staff/", views.staff_home, name="staff"),
    path("staff/cohorts/<id:cohort_id>/", views.staff_cohort, name="staff-cohort"),
    path("search/", search_views.search, name="search"),
    path("calendar/", views.calendar_settings, name="calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
]
