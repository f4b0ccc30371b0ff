"""Data-collection decisions: voting, the quorum rule, the veto, closing, e-mail."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import CommitteeRole, DecisionStatus, GovernanceStatus, VoteChoice
from governance.models import DataCollectionDecision, QuorumRule, Silo, Vote
from governance.services import (
    decision_close,
    decision_open_voting,
    decision_tally,
    decisions_close_due,
    vote_cast,
)
from governance.tasks import decision_close_task, decisions_close_due_task
from tests.factories import DataCollectionDecisionFactory
from tests.governance.conftest import as_actor

pytestmark = pytest.mark.django_db

OpenDecision = Callable[..., DataCollectionDecision]
APPROVE, REJECT, ABSTAIN = VoteChoice.APPROVE, VoteChoice.REJECT, VoteChoice.ABSTAIN


def _vote(decision: DataCollectionDecision, user: User, choice: str) -> Vote:
    return vote_cast(decision=decision, actor=as_actor(user), choice=choice, comment=f"{choice}!")


def _after_deadline(decision: DataCollectionDecision) -> datetime.datetime:
    decision.refresh_from_db()
    assert decision.voting_deadline is not None
    return decision.voting_deadline + datetime.timedelta(seconds=1)


def _close(decision: DataCollectionDecision) -> DataCollectionDecision:
    return decision_close(decision=decision, now=_after_deadline(decision))


# --- quorum and veto ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("silo_votes", "officer_choice", "approved", "reason"),
    [
        # The proposer (members[0]) may not approve their own proposal: they
        # abstain or reject here; silos 1 and 2 decide.
        ([ABSTAIN, APPROVE, APPROVE], APPROVE, True, "Approved"),
        ([ABSTAIN, APPROVE, REJECT], APPROVE, False, "No majority"),  # a tie is no majority
        ([None, APPROVE, None], APPROVE, False, "Quorum not reached"),  # 1 of 3 silos
        ([None, APPROVE, APPROVE], APPROVE, True, "Approved"),  # 2 of 3: turnout met
        ([ABSTAIN, APPROVE, APPROVE], REJECT, False, "Vetoed"),
        ([ABSTAIN, APPROVE, APPROVE], ABSTAIN, False, "privacy officer did not approve"),
        ([ABSTAIN, APPROVE, APPROVE], None, False, "privacy officer did not approve"),
        ([ABSTAIN, ABSTAIN, ABSTAIN], APPROVE, False, "No majority"),
        ([REJECT, APPROVE, APPROVE], APPROVE, True, "Approved"),
    ],
    ids=[
        "majority",
        "tie",
        "turnout-too-low",
        "turnout-exactly-half-or-more",
        "veto",
        "officer-abstains",
        "officer-silent",
        "all-abstain",
        "majority-with-reject",
    ],
)
def test_quorum_rule(
    open_decision: OpenDecision,
    members: list[User],
    officer: User,
    silo_votes: list[str | None],
    officer_choice: str | None,
    approved: bool,
    reason: str,
) -> None:
    decision = open_decision()
    for member, choice in zip(members, silo_votes, strict=True):
        if choice is not None:
            _vote(decision, member, choice)
    if officer_choice is not None:
        _vote(decision, officer, officer_choice)

    closed = _close(decision)

    assert closed.status == (DecisionStatus.APPROVED if approved else DecisionStatus.REJECTED)
    assert reason in closed.decision_reason
    event = AuditEvent.objects.get(event_type=AuditEventType.DECISION_DECIDED)
    # The decision is recorded with every vote and its reason.
    assert [(v["choice"], v["comment"]) for v in event.new["votes"]] == [
        (c, f"{c}!")
        for c in [*[c for c in silo_votes if c], *([officer_choice] if officer_choice else [])]
    ]


def test_quorum_rule_is_configuration(
    open_decision: OpenDecision, members: list[User], officer: User, actor: Actor
) -> None:
    QuorumRule.objects.create(
        code="default",
        min_turnout_percent=100,
        privacy_officer_approval_required=False,
        status=GovernanceStatus.APPROVED,
        approved_at=timezone.now(),
    )
    decision = open_decision()
    _vote(decision, members[1], APPROVE)
    _vote(decision, members[2], APPROVE)
    assert "Quorum not reached" in decision_tally(decision=decision).reason
    _vote(decision, members[0], ABSTAIN)
    # The officer did not vote; this rule does not need their approval.
    assert decision_tally(decision=decision).approved


def test_without_a_veto_an_officer_rejection_is_just_not_an_approval(
    open_decision: OpenDecision, members: list[User], officer: User
) -> None:
    QuorumRule.objects.create(
        code="default",
        privacy_officer_veto=False,
        privacy_officer_approval_required=False,
        status=GovernanceStatus.APPROVED,
        approved_at=timezone.now(),
    )
    decision = open_decision()
    _vote(decision, members[1], APPROVE)
    _vote(decision, members[2], APPROVE)
    _vote(decision, officer, REJECT)
    assert decision_tally(decision=decision).approved


# --- bad votes: clear errors, nothing changed, the attempt logged ------------------


def _refused(
    caplog: pytest.LogCaptureFixture, match: str, cast: Callable[[], object], decision_id: int
) -> None:
    votes, events = Vote.objects.count(), AuditEvent.objects.count()
    with (
        caplog.at_level(logging.WARNING, logger="governance.services"),
        pytest.raises(ValidationError, match=match),
    ):
        cast()
    assert (Vote.objects.count(), AuditEvent.objects.count()) == (votes, events)
    assert f"refused vote on governance.datacollectiondecision#{decision_id}" in caplog.text


def test_a_vote_after_the_deadline_is_refused(
    open_decision: OpenDecision, members: list[User], caplog: pytest.LogCaptureFixture
) -> None:
    decision = open_decision()
    _refused(
        caplog,
        "closed at its deadline",
        lambda: vote_cast(
            decision=decision,
            actor=as_actor(members[1]),
            choice=APPROVE,
            now=_after_deadline(decision),
        ),
        decision.pk,
    )


def test_a_second_vote_by_the_same_member_is_refused(
    open_decision: OpenDecision, members: list[User], caplog: pytest.LogCaptureFixture
) -> None:
    decision = open_decision()
    _vote(decision, members[1], APPROVE)
    _refused(caplog, "already voted", lambda: _vote(decision, members[1], REJECT), decision.pk)


def test_a_second_vote_for_the_same_silo_is_refused(
    open_decision: OpenDecision,
    members: list[User],
    silos: list[Silo],
    make_committee_user: Callable[..., User],
    caplog: pytest.LogCaptureFixture,
) -> None:
    decision = open_decision()
    colleague = make_committee_user("member-beta-2", CommitteeRole.MEMBER, silos[1])
    _vote(decision, members[1], APPROVE)
    _refused(
        caplog, "silo has already voted", lambda: _vote(decision, colleague, REJECT), decision.pk
    )


def test_a_vote_by_a_non_member_is_refused(
    open_decision: OpenDecision,
    make_role_user: Callable[[str], User],
    caplog: pytest.LogCaptureFixture,
) -> None:
    decision = open_decision()
    outsider = make_role_user(CommitteeRole.MEMBER)  # the group, but no committee seat
    _refused(
        caplog,
        "Only an active committee member",
        lambda: _vote(decision, outsider, APPROVE),
        decision.pk,
    )


def test_a_former_member_may_not_vote(
    open_decision: OpenDecision, members: list[User], caplog: pytest.LogCaptureFixture
) -> None:
    decision = open_decision()
    members[2].committee_roles.update(
        active_from=timezone.localdate() - datetime.timedelta(days=60),
        active_until=timezone.localdate() - datetime.timedelta(days=1),
    )
    _refused(
        caplog,
        "Only an active committee member",
        lambda: _vote(decision, members[2], APPROVE),
        decision.pk,
    )


def test_the_proposer_cannot_approve_their_own_proposal(
    open_decision: OpenDecision, members: list[User], caplog: pytest.LogCaptureFixture
) -> None:
    decision = open_decision()
    _refused(caplog, "your own proposal", lambda: _vote(decision, members[0], APPROVE), decision.pk)
    _vote(decision, members[0], ABSTAIN)  # abstaining is allowed


def test_another_privacy_officer_may_not_vote_as_officer(
    open_decision: OpenDecision,
    make_committee_user: Callable[..., User],
    caplog: pytest.LogCaptureFixture,
) -> None:
    decision = open_decision()
    other = make_committee_user("officer-2", CommitteeRole.PRIVACY_OFFICER)
    _refused(
        caplog,
        "Only an active committee member",
        lambda: _vote(decision, other, APPROVE),
        decision.pk,
    )


def test_no_vote_on_a_draft_or_decided_decision(
    open_decision: OpenDecision, members: list[User], caplog: pytest.LogCaptureFixture
) -> None:
    draft = DataCollectionDecisionFactory()
    _refused(caplog, "Voting is not open", lambda: _vote(draft, members[1], APPROVE), draft.pk)
    decided = _close(open_decision())
    _refused(caplog, "Voting is not open", lambda: _vote(decided, members[1], APPROVE), decided.pk)


# --- closing: idempotent, by deadline, by command and task ------------------------


def test_close_before_the_deadline_changes_nothing(open_decision: OpenDecision) -> None:
    decision = open_decision()
    assert decision_close(decision=decision).status == DecisionStatus.VOTING
    assert not AuditEvent.objects.filter(event_type=AuditEventType.DECISION_DECIDED).exists()


def test_close_is_idempotent(open_decision: OpenDecision, members: list[User]) -> None:
    decision = open_decision()
    first = _close(decision)
    second = decision_close(decision=decision, now=first.decided_at + datetime.timedelta(days=1))  # type: ignore[operator]
    assert (second.status, second.decided_at) == (first.status, first.decided_at)
    assert AuditEvent.objects.filter(event_type=AuditEventType.DECISION_DECIDED).count() == 1


def test_close_due_decisions_command_and_task(open_decision: OpenDecision) -> None:
    due, not_due = open_decision(), open_decision()
    DataCollectionDecision.objects.filter(pk=due.pk).update(
        voting_deadline=timezone.now() - datetime.timedelta(minutes=1)
    )
    call_command("close_due_decisions")
    due.refresh_from_db()
    not_due.refresh_from_db()
    assert (due.status, not_due.status) == (DecisionStatus.REJECTED, DecisionStatus.VOTING)
    assert decisions_close_due_task() == 0  # nothing left to decide
    decision_close_task(not_due.pk)  # not due: a no-op
    decision_close_task(999_999)  # gone: a no-op
    not_due.refresh_from_db()
    assert not_due.status == DecisionStatus.VOTING
    assert decisions_close_due(now=_after_deadline(not_due)) == 1


# --- e-mail ------------------------------------------------------------------------


def test_mail_when_voting_opens_and_when_decided(
    open_decision: OpenDecision,
    members: list[User],
    officer: User,
    django_capture_on_commit_callbacks: Callable[..., object],
    mailoutbox: list[mail.EmailMessage],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        decision = open_decision(title="Collect loyalty tier")
    requested = sorted(m.to[0] for m in mailoutbox)
    assert requested == sorted([*(m.email for m in members), officer.email])
    assert all("Your vote is requested: Collect loyalty tier" in m.subject for m in mailoutbox)

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        _close(decision)
    # The proposer is a member too: one message each.
    assert sorted(m.to[0] for m in mailoutbox) == sorted(m.email for m in members)
    assert all("Decided: Collect loyalty tier (Rejected)" in m.subject for m in mailoutbox)


def test_no_mail_when_the_transaction_rolls_back(
    chair_actor: Actor,
    members: list[User],
    django_capture_on_commit_callbacks: Callable[..., object],
    mailoutbox: list[mail.EmailMessage],
) -> None:
    decision = DataCollectionDecisionFactory(proposed_by=members[0])
    with (
        django_capture_on_commit_callbacks(execute=True),  # type: ignore[attr-defined]
        pytest.raises(ValidationError, match="Not a privacy officer"),
    ):
        decision_open_voting(
            decision=decision,
            actor=chair_actor,
            reason="r",
            privacy_officer=members[1],  # not a privacy officer
        )
    assert mailoutbox == []
