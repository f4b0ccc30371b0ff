"""Celery tasks of the profiles app.

None yet. Tasks here stay thin: they take ids, load by primary key, return
when the row is gone or already done, and call this app's services; they are
enqueued with ``customer360.services.on_commit_delay`` so they never run
before the transaction that asked for them commits.
"""
