"""REST API routes of the profiles app."""

from rest_framework.routers import SimpleRouter

from .views import ActionViewSet, CustomerViewSet, InteractionViewSet, SourceRecordViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("source-records", SourceRecordViewSet, basename="source-record")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("actions", ActionViewSet, basename="action")
urlpatterns = router.urls
