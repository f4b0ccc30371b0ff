from django.apps import AppConfig


class Customer360Config(AppConfig):
    name = "customer360"
    verbose_name = "customer360 core"
