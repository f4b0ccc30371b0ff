"""Shared helpers of the management commands."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from customer360.choices import ActorChannel
from customer360.services import Actor


def command_actor(*, label: str, username: str | None = None) -> Actor:
    """Who a command acts as: the named user (``--user``), else the command itself.

    An unknown username stops the command with an error naming it.
    """
    if not username:
        return Actor.system(label, ActorChannel.COMMAND)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"unknown user {username!r}")
    return Actor(user=user, channel=ActorChannel.COMMAND, label=label)
