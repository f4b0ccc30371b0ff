"""Cursor pagination of the API (its own module: DRF's settings import it early)."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Opaque cursors over a stable order: pages never skip or repeat rows."""

    ordering = "-id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
