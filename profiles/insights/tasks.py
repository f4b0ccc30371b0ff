"""Celery tasks of the insights package (flags, next best action, arbitration).

Thin, idempotent, take ids; enqueued with ``customer360.services.on_commit_delay``.
"""
