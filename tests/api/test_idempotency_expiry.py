"""Stored Idempotency-Key answers expire after the documented retention
(``API_IDEMPOTENCY_KEY_HOURS``, 24 h): an hourly beat task deletes older ones,
and a retry after that is kept from writing twice by the natural keys."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from customer360.celery import app as celery_app
from customer360.models import ApiClient, IdempotencyKey
from customer360.tasks import idempotency_keys_expire
from profiles.models import Interaction
from tests.api.conftest import Person
from tests.api.test_writes import INTERACTIONS, call, post

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]


def age(key: str, hours: float) -> None:
    # created_at is auto_now_add: set the age the way time would have.
    IdempotencyKey.objects.filter(key=key).update(
        created_at=timezone.now() - datetime.timedelta(hours=hours)
    )


def test_keys_older_than_the_retention_are_deleted_and_younger_ones_kept(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    api = api_for(client_a)
    for key in ("old", "young"):
        assert (
            post(api, INTERACTIONS, {"items": [call(key)]}, HTTP_IDEMPOTENCY_KEY=key).status_code
            == 200
        )
    age("old", settings.API_IDEMPOTENCY_KEY_HOURS + 0.1)
    age("young", settings.API_IDEMPOTENCY_KEY_HOURS - 0.1)

    assert idempotency_keys_expire() == 1
    assert idempotency_keys_expire() == 0  # idempotent

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    # A retry after expiry runs again; the natural key keeps it from writing twice.
    retry = post(api, INTERACTIONS, {"items": [call("old")]}, HTTP_IDEMPOTENCY_KEY="old")
    assert retry.json()["results"][0]["status"] == "unchanged"
    assert "Idempotent-Replayed" not in retry
    assert Interaction.objects.filter(external_id="old").count() == 1


def test_expiry_deletes_in_batches(client_a: ApiClient) -> None:
    from customer360.services import idempotency_keys_expire as expire

    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(application=client_a.application, key=f"k{n}", request_hash="h",
                       endpoint="interactions.bulk", response_status=200, response_body={})
        for n in range(5)
    )  # fmt: skip

    assert expire(older_than=timezone.now() + datetime.timedelta(seconds=1), batch=2) == 5
    assert not IdempotencyKey.objects.exists()


def test_beat_runs_the_expiry_every_hour() -> None:
    entry: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE["api-idempotency-keys-expire"]
    celery_app.loader.import_default_modules()

    assert entry["task"] == idempotency_keys_expire.name
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == 3600.0
    assert settings.API_IDEMPOTENCY_KEY_HOURS == 24
