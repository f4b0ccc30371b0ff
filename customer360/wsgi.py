"""WSGI entry point (gunicorn customer360.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")
application = get_wsgi_application()
