"""REST API routes of the consent app (none yet; the partner API issue adds them).

Included under /api/v1/ once it registers a viewset.
"""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
urlpatterns = router.urls
