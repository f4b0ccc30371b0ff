"""Project-wide REST API routes: the events feed, webhook subscriptions and the
documentation."""

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from .views import EventViewSet, WebhookSubscriptionViewSet

router = SimpleRouter()
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")

urlpatterns: list[URLPattern | URLResolver] = [
    # One GET: a feed, not a collection of resources (no list schema, no detail route).
    path("events/", EventViewSet.as_view({"get": "feed"}), name="event-feed"),
    # Swagger UI from the sidecar's static files; its initialiser is a separate
    # script file, so the strict CSP (no inline script) holds.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="v1:schema"), name="docs"),
    *router.urls,
]
