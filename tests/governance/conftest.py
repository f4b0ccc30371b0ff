"""Governance fixtures: a committee of three silos, a privacy officer, stewards,
and helpers that open a decision for voting."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from customer360.choices import ActorChannel
from customer360.services import Actor
from governance.choices import CommitteeRole
from governance.models import DataCollectionDecision, Silo
from governance.services import decision_open_voting
from tests.factories import (
    CommitteeMemberFactory,
    DataCollectionDecisionFactory,
    SiloFactory,
    UserFactory,
)


@pytest.fixture
def chair_actor(chair: User) -> Actor:
    CommitteeMemberFactory(user=chair, silo=None, role=CommitteeRole.CHAIR)
    return Actor(user=chair, channel=ActorChannel.WEB)


@pytest.fixture
def actor(chair_actor: Actor) -> Actor:
    """Governance services record the committee's decisions: the chair acts."""
    return chair_actor


@pytest.fixture
def silos(db: None) -> list[Silo]:
    return [
        SiloFactory(code=f"gov-{name}", name=name.title()) for name in ("alpha", "beta", "gamma")
    ]


@pytest.fixture
def make_committee_user(role_groups: dict[str, Group]) -> Callable[..., User]:
    """A user holding ``role`` (group and committee row) for ``silo``."""

    def make(username: str, role: str, silo: Silo | None = None) -> User:
        user = UserFactory(username=username)
        user.groups.add(role_groups[role])
        CommitteeMemberFactory(user=user, silo=silo, role=role)
        return user

    return make


@pytest.fixture
def members(silos: list[Silo], make_committee_user: Callable[..., User]) -> list[User]:
    """One committee member per silo, in the order of ``silos``."""
    return [
        make_committee_user(f"member-{silo.code}", CommitteeRole.MEMBER, silo) for silo in silos
    ]


@pytest.fixture
def officer(make_committee_user: Callable[..., User]) -> User:
    return make_committee_user("officer", CommitteeRole.PRIVACY_OFFICER)


@pytest.fixture
def open_decision(
    members: list[User], silos: list[Silo], officer: User, chair_actor: Actor
) -> Callable[..., DataCollectionDecision]:
    """A decision proposed by the first silo's member, open for voting."""

    def make(**values: Any) -> DataCollectionDecision:
        decision = DataCollectionDecisionFactory(
            proposed_by=members[0], proposing_silo=silos[0], **values
        )
        return decision_open_voting(
            decision=decision,
            actor=chair_actor,
            reason="Ready for the vote",
            privacy_officer=officer,
            deadline=timezone.now() + datetime.timedelta(days=7),
        )

    return make


def as_actor(user: User) -> Actor:
    return Actor(user=user, channel=ActorChannel.ADMIN)
