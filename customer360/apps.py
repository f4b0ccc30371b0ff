from django.apps import AppConfig
from django.core.signals import request_finished


class Customer360Config(AppConfig):
    name = "customer360"
    verbose_name = "customer360 core"

    def ready(self) -> None:
        from .middleware import clear_request_id

        request_finished.connect(clear_request_id, dispatch_uid="customer360.clear_request_id")
