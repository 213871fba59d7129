from django.urls import path

from accounts.api.routers import ApiRouter

from . import views

router = ApiRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")

preferences = views.PreferenceViewSet.as_view({"get": "list", "patch": "patch"})

urlpatterns = [
    # Before the router, whose detail route would otherwise take "preferences" as an id.
    path("notifications/preferences/", preferences, name="notification-preferences"),
    *router.urls,
]
