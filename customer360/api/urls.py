"""Project-wide REST API routes (events feed, documentation)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
