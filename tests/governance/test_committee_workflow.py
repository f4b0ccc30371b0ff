"""Committee workflow: the chair's early close (quorum and veto still apply), the
proposer's withdrawal, and stewards' object rights following their silo membership."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import CommitteeRole, DecisionStatus, GovernanceStatus, VoteChoice
from governance.models import CommitteeMember, DataCollectionDecision, Silo
from governance.services import (
    committee_member_save,
    decision_close_early,
    decision_withdraw,
    steward_permissions_sync_all,
    vote_cast,
)
from tests.factories import (
    DataCollectionDecisionFactory,
    FieldDefinitionFactory,
    SourceFieldMappingFactory,
    SourceSystemFactory,
    UserFactory,
)
from tests.governance.conftest import as_actor

pytestmark = pytest.mark.django_db

OpenDecision = Callable[..., DataCollectionDecision]
DAY = datetime.timedelta(days=1)
CHANGE_FIELD = "governance.change_fielddefinition"
CHANGE_MAPPING = "governance.change_sourcefieldmapping"


def _vote(decision: DataCollectionDecision, user: User, choice: str) -> None:
    vote_cast(decision=decision, actor=as_actor(user), choice=choice, comment=f"{choice} it")


# --- early close by the chair -----------------------------------------------------------


@pytest.mark.parametrize(
    ("silo_votes", "officer_vote", "status", "why"),
    [
        # Two of three silos approve, the officer approves: decided now, approved.
        (
            [None, VoteChoice.APPROVE, VoteChoice.APPROVE],
            VoteChoice.APPROVE,
            "approved",
            "Approved",
        ),
        # Only one of three silos voted: turnout below half, even if it approves.
        ([None, VoteChoice.APPROVE, None], VoteChoice.APPROVE, "rejected", "Quorum not reached"),
        # Every silo approves but the privacy officer vetoes.
        ([None, VoteChoice.APPROVE, VoteChoice.APPROVE], VoteChoice.REJECT, "rejected", "Vetoed"),
        # A majority, but the officer has not voted yet: the required approval is missing.
        ([None, VoteChoice.APPROVE, VoteChoice.APPROVE], None, "rejected", "did not approve"),
        # Turnout reached, but a tie of approve and reject is no majority.
        (
            [VoteChoice.ABSTAIN, VoteChoice.APPROVE, VoteChoice.REJECT],
            None,
            "rejected",
            "No majority",
        ),
    ],
    ids=["approved", "no-quorum", "veto", "officer-missing", "no-majority"],
)
def test_early_close_applies_the_quorum_rule_to_the_votes_so_far(
    open_decision: OpenDecision,
    members: list[User],
    officer: User,
    chair_actor: Actor,
    silo_votes: list[str | None],
    officer_vote: str | None,
    status: str,
    why: str,
) -> None:
    decision = open_decision()
    for member, choice in zip(members, silo_votes, strict=True):
        if choice is not None:
            _vote(decision, member, choice)
    if officer_vote is not None:
        _vote(decision, officer, officer_vote)
    now = timezone.now()

    closed = decision_close_early(
        decision=decision, actor=chair_actor, reason="The regulator needs an answer", now=now
    )

    assert closed.status == status
    assert closed.decided_at == now
    assert closed.decision_reason.startswith(
        f"Closed early by {chair_actor.describe()}: The regulator needs an answer"
    )
    assert why in closed.decision_reason
    event = AuditEvent.objects.filter(event_type=AuditEventType.DECISION_DECIDED).get()
    assert event.new["closed_early"] is True
    assert event.new["status"] == status
    assert len(event.new["votes"]) == sum(c is not None for c in [*silo_votes, officer_vote])
    assert event.actor == chair_actor.user


def test_early_close_is_refused_to_anyone_but_the_chair(
    open_decision: OpenDecision, members: list[User], officer: User
) -> None:
    decision = open_decision()
    for user in (members[0], members[1], officer):
        with pytest.raises(PermissionDenied):
            decision_close_early(decision=decision, actor=as_actor(user), reason="Enough")
    decision.refresh_from_db()
    assert (decision.status, decision.decided_at) == (DecisionStatus.VOTING, None)
    assert not AuditEvent.objects.filter(event_type=AuditEventType.DECISION_DECIDED).exists()


@pytest.mark.parametrize("case", ["no-reason", "after-deadline", "draft", "decided"])
def test_early_close_bad_input_changes_nothing(
    case: str, open_decision: OpenDecision, members: list[User], chair_actor: Actor
) -> None:
    decision = open_decision()
    values: dict[str, object] = {"reason": "Enough"}
    if case == "no-reason":
        values["reason"] = "  "
    elif case == "after-deadline":
        values["now"] = decision.voting_deadline
    elif case == "draft":
        decision = DataCollectionDecisionFactory(proposed_by=members[0])
    else:
        decision_close_early(decision=decision, actor=chair_actor, reason="First")
    before = DataCollectionDecision.objects.get(pk=decision.pk)
    with pytest.raises(ValidationError):
        decision_close_early(decision=decision, actor=chair_actor, **values)  # type: ignore[arg-type]
    after = DataCollectionDecision.objects.get(pk=decision.pk)
    assert (after.status, after.decided_at, after.decision_reason) == (
        before.status,
        before.decided_at,
        before.decision_reason,
    )


def test_no_vote_after_an_early_close(
    open_decision: OpenDecision, members: list[User], chair_actor: Actor
) -> None:
    decision = open_decision()
    decision_close_early(decision=decision, actor=chair_actor, reason="Enough")
    with pytest.raises(ValidationError, match="not open"):
        _vote(decision, members[1], VoteChoice.APPROVE)


# --- withdrawal by the proposer ------------------------------------------------------------


def test_the_proposer_withdraws_an_open_vote(
    open_decision: OpenDecision, members: list[User], officer: User
) -> None:
    decision = open_decision()
    _vote(decision, members[1], VoteChoice.APPROVE)
    mail.outbox.clear()

    withdrawn = decision_withdraw(
        decision=decision, actor=as_actor(members[0]), reason="Billing found another way"
    )

    assert withdrawn.status == DecisionStatus.WITHDRAWN
    assert withdrawn.decided_at is None
    assert withdrawn.decision_reason == "Withdrawn by the proposer: Billing found another way"
    assert withdrawn.votes.count() == 1  # the votes cast stay on record
    event = AuditEvent.objects.filter(event_type=AuditEventType.DECISION_WITHDRAWN).get()
    assert (event.old["status"], event.new["status"]) == ("voting", "withdrawn")
    assert event.reason == "Billing found another way"
    assert withdrawn.history.first().history_change_reason.startswith("Withdrawn by the proposer")  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="not open"):
        _vote(decision, members[2], VoteChoice.APPROVE)


def test_withdrawal_of_an_open_vote_tells_the_voters(
    open_decision: OpenDecision,
    members: list[User],
    officer: User,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    decision = open_decision()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        decision_withdraw(decision=decision, actor=as_actor(members[0]), reason="Not needed")
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted([m.email for m in members] + [officer.email])
    assert all("Withdrawn" in message.subject for message in mail.outbox)


def test_the_proposer_withdraws_a_draft(members: list[User], silos: list[Silo]) -> None:
    draft = DataCollectionDecisionFactory(proposed_by=members[0], proposing_silo=silos[0])
    withdrawn = decision_withdraw(decision=draft, actor=as_actor(members[0]), reason="Typo")
    assert withdrawn.status == DecisionStatus.WITHDRAWN


@pytest.mark.parametrize("who", ["other-member", "chair", "officer"])
def test_only_the_proposer_may_withdraw(
    who: str,
    open_decision: OpenDecision,
    members: list[User],
    officer: User,
    chair_actor: Actor,
) -> None:
    decision = open_decision()
    actor = {
        "other-member": as_actor(members[1]),
        "chair": chair_actor,
        "officer": as_actor(officer),
    }[who]
    with pytest.raises(PermissionDenied):
        decision_withdraw(decision=decision, actor=actor, reason="Not mine to withdraw")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.VOTING


@pytest.mark.parametrize("case", ["no-reason", "after-deadline", "decided", "withdrawn"])
def test_withdrawal_bad_input_changes_nothing(
    case: str, open_decision: OpenDecision, members: list[User], chair_actor: Actor
) -> None:
    decision = open_decision()
    proposer = as_actor(members[0])
    values: dict[str, object] = {"reason": "Changed my mind"}
    if case == "no-reason":
        values["reason"] = ""
    elif case == "after-deadline":
        values["now"] = decision.voting_deadline
    elif case == "decided":
        decision_close_early(decision=decision, actor=chair_actor, reason="Enough")
    else:
        decision_withdraw(decision=decision, actor=proposer, reason="First")
    before = DataCollectionDecision.objects.get(pk=decision.pk)
    with pytest.raises(ValidationError):
        decision_withdraw(decision=decision, actor=proposer, **values)  # type: ignore[arg-type]
    after = DataCollectionDecision.objects.get(pk=decision.pk)
    assert (after.status, after.decision_reason) == (before.status, before.decision_reason)


def _confirm(client: Client, action: str, pk: int, reason: str) -> object:
    url = reverse("admin:governance_datacollectiondecision_changelist")
    page = client.post(url, {"action": action, "_selected_action": [pk]})
    assert page.status_code == 200
    assert 'name="change_reason"' in page.text
    return client.post(
        url,
        {"action": action, "_selected_action": [pk], "apply": "yes", "change_reason": reason},
        follow=True,
    )


def test_admin_close_early_and_withdraw_ask_for_the_reason(
    open_decision: OpenDecision,
    members: list[User],
    chair: User,
    chair_actor: Actor,
    admin_client_for: Callable[[User], Client],
) -> None:
    first, second = open_decision(title="First"), open_decision(title="Second")

    _confirm(admin_client_for(chair), "close_early_selected", first.pk, "Board meets tomorrow")
    response = _confirm(admin_client_for(members[0]), "withdraw_selected", second.pk, "Superseded")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == DecisionStatus.REJECTED  # nobody had voted: no quorum
    assert "Board meets tomorrow" in first.decision_reason
    assert second.status == DecisionStatus.WITHDRAWN
    assert second.decision_reason == "Withdrawn by the proposer: Superseded"
    messages = [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]
    assert "Withdrawn: 1." in messages


def test_admin_withdraw_by_someone_else_shows_the_refusal(
    open_decision: OpenDecision, members: list[User], admin_client_for: Callable[[User], Client]
) -> None:
    decision = open_decision()
    response = _confirm(admin_client_for(members[1]), "withdraw_selected", decision.pk, "Mine?")
    messages = " ".join(str(m) for m in response.context["messages"])  # type: ignore[attr-defined]
    assert "You may not withdraw" in messages
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.VOTING


# --- stewards' rights follow their silo -------------------------------------------------------


@pytest.fixture
def steward_user(role_groups: dict[str, object]) -> User:
    user = UserFactory(username="late-steward")
    user.groups.add(role_groups[CommitteeRole.DATA_STEWARD])  # type: ignore[arg-type]
    return user


def _fresh(user: User) -> User:
    # Django and guardian cache permissions on the user object.
    return User.objects.get(pk=user.pk)


def test_a_steward_who_joins_later_gets_the_silos_existing_drafts(
    silos: list[Silo], steward_user: User, chair_actor: Actor
) -> None:
    mine, other = silos[0], silos[1]
    draft = FieldDefinitionFactory(owning_silo=mine)
    proposal = FieldDefinitionFactory(owning_silo=mine, status=GovernanceStatus.PROPOSED)
    approved = FieldDefinitionFactory(
        owning_silo=mine, status=GovernanceStatus.APPROVED, approved=True
    )
    elsewhere = FieldDefinitionFactory(owning_silo=other)
    mapping = SourceFieldMappingFactory(source_system=SourceSystemFactory(silo=mine))
    assert not _fresh(steward_user).has_perm(CHANGE_FIELD, draft)

    committee_member_save(
        member=CommitteeMember(
            user=steward_user,
            silo=mine,
            role=CommitteeRole.DATA_STEWARD,
            active_from=timezone.localdate(),
        ),
        actor=chair_actor,
        reason="Joins the billing stewards",
    )

    user = _fresh(steward_user)
    assert user.has_perm(CHANGE_FIELD, draft)
    assert user.has_perm(CHANGE_FIELD, proposal)
    assert not user.has_perm(CHANGE_FIELD, approved)  # versions in force are not drafts
    assert not user.has_perm(CHANGE_FIELD, elsewhere)
    assert user.has_perm(CHANGE_MAPPING, mapping)
    member = CommitteeMember.objects.get(user=steward_user)
    assert member.history.get().history_change_reason == "Joins the billing stewards [web]"


def test_a_steward_who_leaves_loses_them_but_keeps_their_own_proposals(
    silos: list[Silo], steward_user: User, chair_actor: Actor
) -> None:
    mine = silos[0]
    member = committee_member_save(
        member=CommitteeMember(
            user=steward_user,
            silo=mine,
            role=CommitteeRole.DATA_STEWARD,
            active_from=timezone.localdate() - 10 * DAY,
        ),
        actor=chair_actor,
        reason="Joins",
    )
    colleagues = FieldDefinitionFactory(owning_silo=mine)
    own = FieldDefinitionFactory(owning_silo=mine, proposed_by=steward_user)
    steward_permissions_sync_all()
    assert _fresh(steward_user).has_perm(CHANGE_FIELD, colleagues)

    member.active_until = timezone.localdate() - DAY
    committee_member_save(member=member, actor=chair_actor, reason="Moved to another team")

    user = _fresh(steward_user)
    assert not user.has_perm(CHANGE_FIELD, colleagues)
    assert user.has_perm(CHANGE_FIELD, own)
    event = AuditEvent.objects.filter(event_type=AuditEventType.COMMITTEE_MEMBER_CHANGED).first()
    assert event is not None
    assert event.reason == "Moved to another team"
    assert event.new["active_until"] == member.active_until.isoformat()


def test_a_future_end_date_takes_effect_on_its_day_through_sync_roles(
    silos: list[Silo], steward_user: User, chair_actor: Actor
) -> None:
    committee_member_save(
        member=CommitteeMember(
            user=steward_user,
            silo=silos[0],
            role=CommitteeRole.DATA_STEWARD,
            active_from=timezone.localdate() - 10 * DAY,
            active_until=timezone.localdate() + 2 * DAY,
        ),
        actor=chair_actor,
        reason="Temporary cover",
    )
    draft = FieldDefinitionFactory(owning_silo=silos[0])
    out = StringIO()
    call_command("sync_roles", stdout=out)
    assert "1 draft permissions granted, 0 revoked" in out.getvalue()
    assert _fresh(steward_user).has_perm(CHANGE_FIELD, draft)

    later = steward_permissions_sync_all(today=timezone.localdate() + 3 * DAY)

    assert (later.granted, later.revoked) == (0, 1)
    assert not _fresh(steward_user).has_perm(CHANGE_FIELD, draft)
    # Idempotent.
    again = steward_permissions_sync_all(today=timezone.localdate() + 3 * DAY)
    assert (again.granted, again.revoked) == (0, 0)


def test_adding_a_steward_in_the_admin_grants_the_drafts(
    silos: list[Silo],
    steward_user: User,
    superuser: User,
    admin_client_for: Callable[[User], Client],
) -> None:
    draft = FieldDefinitionFactory(owning_silo=silos[0])
    response = admin_client_for(superuser).post(
        reverse("admin:governance_committeemember_add"),
        {
            "user": steward_user.pk,
            "silo": silos[0].pk,
            "role": CommitteeRole.DATA_STEWARD,
            "active_from": timezone.localdate().isoformat(),
            "change_reason": "New steward for alpha",
        },
    )
    assert response.status_code == 302, response.content
    assert _fresh(steward_user).has_perm(CHANGE_FIELD, draft)
