"""Fixtures of identity resolution: governed fields decided, a declared source, eager tasks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from customer360.celery import app as celery_app
from customer360.choices import ActorChannel
from customer360.services import Actor
from governance.choices import DecisionStatus, GovernanceStatus
from governance.models import FieldDefinition, SourceSystem
from profiles.identity.sources import source_declaration_load, source_declaration_parse
from tests.factories import DataCollectionDecisionFactory, SiloFactory

CRM_TOML = """
[system]
code = "crm"
name = "CRM"
silo = "marketing"
key_label = "Customer no."
key_column = "customer_id"
trust_rank = 20

[[mappings]]
column = "first_name"
field = "given_name"
transform = "title"

[[mappings]]
column = "last_name"
field = "family_name"
transform = "title"
args = { particles = ["van", "de", "der"] }

[[mappings]]
column = "birth_date"
field = "date_of_birth"
transform = "date_format"
args = { format = "%d/%m/%Y" }

[[mappings]]
column = "email"
field = "email"
transform = "lower"

[[mappings]]
column = "mobile"
field = "phone"
transform = "phone_region"
args = { region = "NL" }

[[mappings]]
column = "street"
field = "address_line1"

[[mappings]]
column = "zip"
field = "postcode"
transform = "upper"

[[mappings]]
column = "city"
field = "locality"
"""


@pytest.fixture
def fields_decided(db: None) -> list[str]:
    """Approved collect-field decisions for every baseline canonical field."""
    names = []
    for definition in FieldDefinition.objects.filter(status=GovernanceStatus.APPROVED):
        DataCollectionDecisionFactory(
            field_definition=definition,
            status=DecisionStatus.APPROVED,
            decided_at=timezone.now(),
        )
        names.append(definition.canonical_name)
    return names


@pytest.fixture
def crm_toml(tmp_path: Path) -> Path:
    path = tmp_path / "crm.toml"
    path.write_text(CRM_TOML, encoding="utf-8")
    return path


@pytest.fixture
def crm(fields_decided: list[str], crm_toml: Path, superuser: User) -> SourceSystem:
    """The CRM source declared and its mappings approved by an administrator."""
    SiloFactory(code="marketing")
    actor = Actor(user=superuser, channel=ActorChannel.COMMAND)
    result = source_declaration_load(
        declaration=source_declaration_parse(crm_toml),
        actor=actor,
        reason="Test source",
        approver=actor,
    )
    return result.source_system


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks in the calling process (on commit, as in production)."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("test:identity", ActorChannel.TASK)
