from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts.api.docs import ApiDocsView
from accounts.forms import PasswordResetForm
from config.metrics import metrics
from core import views as core_views
from dashboards.search_api import SearchView

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("curriculum.api.urls")),
    path("", include("cohorts.api.urls")),
    path("", include("submissions.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("dashboards.api.urls")),
    path("search/", SearchView.as_view(), name="search"),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    # Before Django's own auth URLs: the reset form finds accounts by their canonical key.
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=PasswordResetForm),
        name="password_reset",
    ),
    path("metrics", metrics, name="metrics"),
    path("markdown/preview/", core_views.markdown_preview, name="markdown-preview"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("accounts.urls")),
    path("dashboard/", include("dashboards.urls")),
    path("curriculum/", include("curriculum.urls")),
    path("cohorts/", include("cohorts.urls")),
    path("submissions/", include("submissions.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(), name="api-docs"),
    path("admin/", admin.site.urls),
]

# 503 (with Retry-After) while the database is away, 500 otherwise; no traceback either way.
handler500 = "core.errors.server_error"
