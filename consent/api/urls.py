"""REST API routes of the consent app."""

from rest_framework.routers import SimpleRouter

from .views import ConsentViewSet

router = SimpleRouter()
router.register("consents", ConsentViewSet, basename="consent")
urlpatterns = router.urls
