"""URL map: the dashboard, the JSON API, health, auth and admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from costapp.dashboard import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("costapp.api.urls")),
    path("sources/", include("costapp.sources.urls")),
    path("", include("costapp.dashboard.urls")),
]
