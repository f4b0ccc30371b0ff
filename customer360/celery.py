"""The Celery application. Workers start with ``celery -A customer360 worker``."""

from __future__ import annotations

import os

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")

app = Celery("customer360")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app that hold tasks of their own (their ``tasks`` module).
app.autodiscover_tasks(["profiles.insights"])


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender: Celery, **kwargs: object) -> None:
    """The file-system broker needs its folders to exist before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        folder = options.get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task: Task, **kwargs: object) -> None:
    """Around each task, as Django does around each request: close a database
    connection that failed or outlived ``CONN_MAX_AGE``, and health-check the
    rest before their next query. With ``CELERY_DB_REUSE_MAX`` set, Celery's
    own fix-up no longer closes them all. Not for an eager task (tests), which
    runs inside its caller's transaction."""
    if not task.request.is_eager:
        close_old_connections()
