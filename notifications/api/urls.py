from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")

preferences = views.PreferenceViewSet.as_view({"get": "list", "patch": "patch"})

urlpatterns = [
    # Before the router, whose detail route would otherwise take "preferences" as an id.
    path("notifications/preferences/", preferences, name="notification-preferences"),
    *router.urls,
]
