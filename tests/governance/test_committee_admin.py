"""The committee's admin: pending votes, voting, actions through services,
version diffs, coverage, the overview charts, and a permission matrix."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from customer360.services import Actor
from governance.choices import CommitteeRole, DecisionStatus, GovernanceStatus, Transform
from governance.models import (
    DataCollectionDecision,
    FieldDefinition,
    Silo,
    SourceFieldMapping,
    Vote,
)
from governance.services import governed_create, governed_propose, governed_submit
from tests.factories import SourceFieldMappingFactory, SourceSystemFactory
from tests.governance.conftest import as_actor

pytestmark = pytest.mark.django_db

OpenDecision = Callable[..., DataCollectionDecision]
Login = Callable[[User], Client]


def _messages(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]


def test_pending_votes_lists_what_the_member_may_still_vote_on(
    open_decision: OpenDecision,
    members: list[User],
    admin_client_for: Login,
    django_assert_num_queries: Callable[..., object],
) -> None:
    first, second, third = (
        open_decision(title="A"),
        open_decision(title="B"),
        open_decision(title="C"),
    )
    Vote.objects.create(
        decision=second,
        member=members[1],
        silo_id=members[1].committee_roles.get().silo_id,
        choice="approve",
    )
    client = admin_client_for(members[1])
    url = reverse("admin:governance_pending_votes")
    # session, user, user and group permissions, the pending decisions in one
    # query whatever their number, and the session saved (savepoint, update, release)
    with django_assert_num_queries(8):
        response = client.get(url)
    assert response.status_code == 200
    assert [d.title for d in response.context["decisions"]] == ["A", "C"]
    assert reverse("admin:governance_decision_vote", args=[first.pk]) in response.text
    assert third.pk


def test_pending_votes_come_first_on_the_governance_index(
    members: list[User], admin_client_for: Login
) -> None:
    response = admin_client_for(members[0]).get(reverse("admin:app_list", args=["governance"]))
    assert response.status_code == 200
    text = response.text
    assert text.index("My pending votes") < text.index("Field definitions")


def test_voting_from_the_admin(
    open_decision: OpenDecision, members: list[User], admin_client_for: Login
) -> None:
    decision = open_decision()
    response = admin_client_for(members[1]).post(
        reverse("admin:governance_decision_vote", args=[decision.pk]),
        {"choice": "approve", "comment": "Billing needs it"},
        follow=True,
    )
    vote = Vote.objects.get(decision=decision)
    assert (vote.member, vote.choice, vote.comment) == (members[1], "approve", "Billing needs it")
    assert "is recorded" in " ".join(_messages(response))


def test_a_refused_vote_shows_the_error_and_changes_nothing(
    open_decision: OpenDecision, members: list[User], admin_client_for: Login
) -> None:
    decision = open_decision()
    response = admin_client_for(members[0]).post(
        reverse("admin:governance_decision_vote", args=[decision.pk]),
        {"choice": "approve", "comment": "mine"},
    )
    assert response.status_code == 200
    assert "cannot approve your own proposal" in " ".join(_messages(response))
    assert not Vote.objects.exists()


def test_open_voting_from_the_admin(
    members: list[User], officer: User, chair: User, chair_actor: Actor, admin_client_for: Login
) -> None:
    from tests.factories import DataCollectionDecisionFactory

    decision = DataCollectionDecisionFactory(proposed_by=members[0])
    response = admin_client_for(chair).post(
        reverse("admin:governance_decision_open_voting", args=[decision.pk]),
        {"privacy_officer": officer.pk, "voting_deadline": "", "change_reason": "Ready"},
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert (decision.status, decision.privacy_officer) == (DecisionStatus.VOTING, officer)
    assert officer.has_perm("governance.veto_datacollectiondecision", decision)
    assert not members[0].has_perm("governance.veto_datacollectiondecision", decision)


def _proposal(actor: Actor) -> FieldDefinition:
    return governed_propose(
        item=FieldDefinition.objects.get(canonical_name="locality"),
        actor=actor,
        reason="r",
        changes={"label": "Town or city"},
    )


def _action(
    client: Client, model: str, action: str, pks: list[int], reason: str = "Agreed in the meeting"
) -> object:
    """Choose the action, then confirm it with the reason on the confirmation page."""
    url = reverse(f"admin:governance_{model}_changelist")
    page = client.post(url, {"action": action, "_selected_action": pks})
    assert page.status_code == 200
    assert 'name="change_reason"' in page.text
    return client.post(
        url,
        {"action": action, "_selected_action": pks, "apply": "yes", "change_reason": reason},
        follow=True,
    )


def test_an_action_asks_for_the_reason_before_changing_anything(
    chair: User, chair_actor: Actor, admin_client_for: Login
) -> None:
    proposal = _proposal(chair_actor)
    client = admin_client_for(chair)
    url = reverse("admin:governance_fielddefinition_changelist")

    page = client.post(url, {"action": "approved_selected", "_selected_action": [proposal.pk]})

    assert page.status_code == 200
    assert str(proposal) in page.text
    assert f'name="_selected_action" value="{proposal.pk}"' in page.text
    assert 'name="action" value="approved_selected"' in page.text
    proposal.refresh_from_db()
    assert proposal.status == GovernanceStatus.PROPOSED

    blank = client.post(
        url,
        {
            "action": "approved_selected",
            "_selected_action": [proposal.pk],
            "apply": "yes",
            "change_reason": "   ",
        },
    )
    assert blank.status_code == 200
    assert "This field is required." in blank.text
    proposal.refresh_from_db()
    assert proposal.status == GovernanceStatus.PROPOSED


def test_the_reason_given_goes_to_history_and_audit(
    chair: User, chair_actor: Actor, admin_client_for: Login
) -> None:
    from customer360.models import AuditEvent

    proposal = _proposal(chair_actor)
    _action(
        admin_client_for(chair),
        "fielddefinition",
        "rejected_selected",
        [proposal.pk],
        reason="Towns are not a field of their own",
    )
    proposal.refresh_from_db()
    assert proposal.status == GovernanceStatus.REJECTED
    assert proposal.history.first().history_change_reason == (  # type: ignore[union-attr]
        "Towns are not a field of their own [admin]"
    )
    event = AuditEvent.objects.filter(subject_id=str(proposal.pk)).latest("id")
    assert (event.reason, event.actor) == ("Towns are not a field of their own", chair)


def test_approve_action_goes_through_the_service(
    chair: User, chair_actor: Actor, admin_client_for: Login
) -> None:
    proposal = _proposal(chair_actor)
    _action(admin_client_for(chair), "fielddefinition", "approved_selected", [proposal.pk])
    proposal.refresh_from_db()
    assert proposal.status == GovernanceStatus.APPROVED
    assert FieldDefinition.objects.get(canonical_name="locality", version=1).status == "deprecated"


@pytest.mark.parametrize("role", [CommitteeRole.DATA_STEWARD, CommitteeRole.MEMBER])
def test_approve_and_reject_actions_are_refused_to_non_chairs(
    role: str,
    chair_actor: Actor,
    make_role_user: Callable[[str], User],
    admin_client_for: Login,
) -> None:
    proposal = _proposal(chair_actor)
    client = admin_client_for(make_role_user(role))
    for action in ("approved_selected", "rejected_selected"):
        response = _action(client, "fielddefinition", action, [proposal.pk])
        assert "You may not" in " ".join(_messages(response))
    proposal.refresh_from_db()
    assert proposal.status == GovernanceStatus.PROPOSED


def test_the_diff_view_shows_what_a_version_changes(
    chair: User, chair_actor: Actor, admin_client_for: Login
) -> None:
    proposal = _proposal(chair_actor)
    response = admin_client_for(chair).get(
        reverse("admin:governance_fielddefinition_diff", args=[proposal.pk])
    )
    assert response.status_code == 200
    changed = [row for row in response.context["rows"] if row["changed"]]
    assert [(r["label"], r["old"], r["new"]) for r in changed] == [
        ("label", "Locality", "Town or city")
    ]


def test_coverage_report_shows_what_each_silo_supplies_and_conflicts(
    chair: User, silos: list[Silo], admin_client_for: Login
) -> None:
    family = FieldDefinition.objects.get(canonical_name="family_name")
    for silo, transform in [(silos[0], Transform.TITLE), (silos[1], Transform.UPPER)]:
        SourceFieldMappingFactory(
            source_system=SourceSystemFactory(silo=silo, code=f"{silo.code}-sys"),
            source_field="SURNAME",
            field_definition=family,
            transform=transform,
            status=GovernanceStatus.APPROVED,
        )
    response = admin_client_for(chair).get(reverse("admin:governance_coverage"))
    report = response.context["report"]
    by_silo = {c.silo.name: set(c.fields) for c in report.silos}
    assert by_silo["Alpha"] == by_silo["Beta"] == {"family_name"}
    assert by_silo["Gamma"] == set()
    assert [(c.canonical_name, c.variants) for c in report.conflicts] == [
        ("family_name", {"title": ["Alpha"], "upper": ["Beta"]})
    ]


def test_overview_draws_server_side_svg_charts(
    open_decision: OpenDecision, chair: User, admin_client_for: Login
) -> None:
    open_decision()
    response = admin_client_for(chair).get(reverse("admin:governance_overview"))
    assert response.status_code == 200
    assert response.text.count("<svg") >= 3
    assert "<script" not in response.text.split("</header>")[-1]
    assert "Alpha: 1 Voting open" in response.text


# --- object permissions: a silo's stewards edit that silo's drafts -----------------


@pytest.fixture
def stewards(silos: list[Silo], make_committee_user: Callable[..., User]) -> list[User]:
    return [
        make_committee_user(f"steward-{s.code}", CommitteeRole.DATA_STEWARD, s) for s in silos[:2]
    ]


def _draft(actor: Actor, silo: Silo, name: str) -> FieldDefinition:
    return governed_create(
        item=FieldDefinition(
            canonical_name=name,
            label=name,
            description="d",
            data_type="string",
            sensitivity="internal",
            owning_silo=silo,
        ),
        actor=actor,
        reason="r",
    )


def test_a_silos_stewards_edit_that_silos_drafts_only(
    silos: list[Silo], stewards: list[User], members: list[User], admin_client_for: Login
) -> None:
    draft_a = _draft(as_actor(members[0]), silos[0], "alpha_code")
    steward_a, steward_b = stewards
    assert steward_a.has_perm("governance.change_fielddefinition", draft_a)
    assert not steward_b.has_perm("governance.change_fielddefinition", draft_a)

    governed_propose(
        item=draft_a, actor=as_actor(steward_a), reason="r", changes={"label": "A"}, submit=False
    )
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        governed_submit(item=draft_a, actor=as_actor(steward_b), reason="r")
    draft_a.refresh_from_db()
    assert (draft_a.label, draft_a.status) == ("A", GovernanceStatus.DRAFT)

    url = reverse("admin:governance_fielddefinition_change", args=[draft_a.pk])
    assert admin_client_for(steward_a).get(url).context["has_change_permission"] is True
    assert admin_client_for(steward_b).get(url).context["has_change_permission"] is False


def test_mapping_drafts_belong_to_the_source_systems_silo(
    silos: list[Silo], stewards: list[User], chair_actor: Actor
) -> None:
    mapping = governed_create(
        item=SourceFieldMapping(
            source_system=SourceSystemFactory(silo=silos[1], code="beta-crm"),
            source_field="MAIL",
            field_definition=FieldDefinition.objects.get(canonical_name="email"),
        ),
        actor=chair_actor,
        reason="r",
    )
    assert stewards[1].has_perm("governance.change_sourcefieldmapping", mapping)
    assert not stewards[0].has_perm("governance.change_sourcefieldmapping", mapping)


# --- permission matrix of the admin pages -------------------------------------------

PAGES = {
    "pending": ("admin:governance_pending_votes", []),
    "overview": ("admin:governance_overview", []),
    "coverage": ("admin:governance_coverage", []),
    "fields": ("admin:governance_fielddefinition_changelist", []),
    "decision-add": ("admin:governance_datacollectiondecision_add", []),
    "audit": ("admin:customer360_auditevent_changelist", []),
    "quorum-add": ("admin:governance_quorumrule_add", []),
}
# role -> pages it may open (200); every other page is 403.
ALLOWED = {
    CommitteeRole.MEMBER: {"pending", "overview", "coverage", "fields", "decision-add"},
    CommitteeRole.CHAIR: {
        "pending",
        "overview",
        "coverage",
        "fields",
        "decision-add",
        "audit",
        "quorum-add",
    },
    CommitteeRole.PRIVACY_OFFICER: {"pending", "overview", "coverage", "fields", "audit"},
    CommitteeRole.DATA_STEWARD: {"pending", "overview", "coverage", "fields"},
    CommitteeRole.AGENT: set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_admin_page_permission_matrix(
    role: str, make_role_user: Callable[[str], User], admin_client_for: Login
) -> None:
    client = admin_client_for(make_role_user(role))
    statuses = {
        name: client.get(reverse(url, args=args)).status_code for name, (url, args) in PAGES.items()
    }
    assert statuses == {name: 200 if name in ALLOWED[role] else 403 for name in PAGES}


def test_anonymous_is_sent_to_the_login(client: Client) -> None:
    for url, args in PAGES.values():
        response = client.get(reverse(url, args=args))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_member_proposes_a_decision_in_the_admin(
    members: list[User], silos: list[Silo], admin_client_for: Login
) -> None:
    from consent.models import Purpose
    from customer360.choices import AuditEventType
    from customer360.models import AuditEvent

    field = FieldDefinition.objects.get(canonical_name="phone")
    response = admin_client_for(members[0]).post(
        reverse("admin:governance_datacollectiondecision_add"),
        {
            "kind": "collect_field",
            "title": "Collect phone for call-backs",
            "field_definition": field.pk,
            "purposes": [Purpose.objects.get(code="service").pk],
            "rationale": "Call-backs",
            "business_value": 4,
            "actionability": 5,
            "cost": 1,
            "privacy_risk": 2,
            "proposing_silo": silos[0].pk,
            "change_reason": "Service asked",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    decision = DataCollectionDecision.objects.get()
    assert (decision.proposed_by, decision.status, decision.priority_score) == (
        members[0],
        DecisionStatus.DRAFT,
        4 * 5 - 1 - 2,
    )
    assert members[0].has_perm("governance.change_datacollectiondecision", decision)
    assert not members[1].has_perm("governance.change_datacollectiondecision", decision)
    assert AuditEvent.objects.get(event_type=AuditEventType.DECISION_PROPOSED).actor == members[0]


def test_adding_a_mapping_to_a_deprecated_field_in_the_admin_is_refused(
    chair: User, chair_actor: Actor, admin_client_for: Login
) -> None:
    from governance.services import governed_deprecate

    field = governed_deprecate(
        item=FieldDefinition.objects.get(canonical_name="region"), actor=chair_actor, reason="r"
    )
    response = admin_client_for(chair).post(
        reverse("admin:governance_sourcefieldmapping_add"),
        {
            "source_system": SourceSystemFactory().pk,
            "source_field": "REGION",
            "field_definition": field.pk,
            "transform": "none",
            "transform_args": "{}",
            "change_reason": "Map it",
        },
        follow=True,
    )
    assert "Nothing was changed" in " ".join(_messages(response))
    assert "deprecated" in " ".join(_messages(response))
    assert not SourceFieldMapping.objects.exists()
