"""JSON API routes (push ingestion, explain) over the same services and access rules."""

from django.urls import path

from . import views

app_name = "api"
urlpatterns = [
    path("usage", views.usage, name="usage"),
    path("explain", views.explain, name="explain"),
]
