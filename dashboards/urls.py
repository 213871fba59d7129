from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.learner_home, name="learner"),
    path("mentor/", views.mentor_home, name="mentor"),
    path("staff/", views.staff_home, name="staff"),
]
