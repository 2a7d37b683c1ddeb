"""Source pages; the project's urls.py includes these under /sources/."""

from django.urls import path

from . import views

app_name = "sources"
urlpatterns = [
    path("", views.freshness_page, name="freshness"),
]
