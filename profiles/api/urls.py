"""REST API routes of the profiles app (grown by the partner API issue)."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
urlpatterns = router.urls
