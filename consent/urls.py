"""Web screens of the consent app (privacy officer, consent capture)."""

from django.urls import URLPattern, URLResolver

app_name = "consent"
urlpatterns: list[URLPattern | URLResolver] = []
