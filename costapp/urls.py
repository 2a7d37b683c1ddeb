"""URL map: the dashboard, the JSON API, health, auth and admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from costapp.dashboard import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("costapp.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("profile/", include("costapp.api.profile")),
    path("sources/", include("costapp.sources.urls")),
    path("budgets/", include("costapp.alerts.urls")),
    path("whatif/", include("costapp.whatif.urls")),
    path("", include("costapp.dashboard.urls")),
]
