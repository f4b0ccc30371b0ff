"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import views
from .api.views import api_not_found

api_v1 = [
    path("", include("profiles.api.urls")),
    path("", include("consent.api.urls")),
    path("", include("governance.api.urls")),
    path("", include("customer360.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Last: any other path under /api/v1/ answers 404 as problem details.
    re_path(r"^[\s\S]*$", api_not_found, name="not-found"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", include("profiles.urls")),
    path("privacy/", include("consent.urls")),
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/v1/", include((api_v1, "v1"), namespace="v1")),
]
