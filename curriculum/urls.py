from django.urls import path

from . import views

app_name = "curriculum"

urlpatterns = [
    path("", views.browse, name="browse"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_upload, name="import_upload"),
    path("imports/<id:import_id>/", views.import_detail, name="import_detail"),
    path("imports/<id:import_id>/apply/", views.import_apply, name="import_apply"),
    path("imports/<id:import_id>/discard/", views.import_discard, name="import_discard"),
    path("export/<str:fmt>/", views.export_download, name="export"),
    path("paths/<slug:track_slug>/", views.track_detail, name="track"),
    path("paths/<slug:track_slug>/<slug:lab_slug>/", views.lab_detail, name="lab"),
    path("paths/<slug:track_slug>/<slug:lab_slug>/edit/", views.lab_edit, name="lab_edit"),
    path("paths/<slug:track_slug>/<slug:lab_slug>/preview/", views.lab_preview, name="lab_preview"),
]
