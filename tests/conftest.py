"""Shared fixtures: role users, an actor, the admin client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from customer360.choices import ActorChannel
from customer360.services import Actor
from governance.choices import CommitteeRole
from governance.services import roles_sync
from tests.factories import UserFactory


@pytest.fixture
def role_groups(db: None) -> dict[str, Group]:
    """The role groups with exactly their listed permissions."""
    return roles_sync()


@pytest.fixture
def make_role_user(role_groups: dict[str, Group]) -> Callable[[str], User]:
    """A staff user (admin access) holding one role's group."""

    def make(role: str) -> User:
        user = UserFactory(username=f"{role}-user")
        user.groups.add(role_groups[role])
        return user

    return make


@pytest.fixture
def agent(make_role_user: Callable[[str], User]) -> User:
    return make_role_user(CommitteeRole.AGENT)


@pytest.fixture
def steward(make_role_user: Callable[[str], User]) -> User:
    return make_role_user(CommitteeRole.DATA_STEWARD)


@pytest.fixture
def privacy_officer(make_role_user: Callable[[str], User]) -> User:
    return make_role_user(CommitteeRole.PRIVACY_OFFICER)


@pytest.fixture
def committee_member(make_role_user: Callable[[str], User]) -> User:
    return make_role_user(CommitteeRole.MEMBER)


@pytest.fixture
def chair(make_role_user: Callable[[str], User]) -> User:
    return make_role_user(CommitteeRole.CHAIR)


@pytest.fixture
def staff_without_permissions(db: None) -> User:
    """Reaches the admin (is_staff) but holds no permission."""
    return UserFactory(username="staff-no-perms")


@pytest.fixture
def superuser(db: None) -> User:
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def actor_user(db: None) -> User:
    return UserFactory(username="acting-agent")


@pytest.fixture
def actor(actor_user: User) -> Actor:
    """A person acting through the web screens."""
    return Actor(user=actor_user, channel=ActorChannel.WEB)


@pytest.fixture
def admin_client_for(client: Client) -> Callable[[User], Client]:
    """The test client logged in as the given user."""

    def login(user: User) -> Client:
        client.force_login(user)
        return client

    return login
