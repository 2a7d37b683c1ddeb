"""Dashboard routes: the overview, unit economics and the explain page."""

from django.urls import path

from . import periods, views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("units/", views.unit_economics, name="units"),
    path("explain/", views.explain, name="explain"),
    path("periods/", periods.periods, name="periods"),
]
