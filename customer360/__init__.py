"""customer360: project package (settings, urls, Celery app, shared base code)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
