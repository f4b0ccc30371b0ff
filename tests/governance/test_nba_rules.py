"""Next-best-action rules are governed items; the committee's conflict report (issue 8)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from consent.models import Purpose
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import GovernanceStatus
from governance.models import NbaRule
from governance.services import governed_approve, governed_create, governed_propose
from profiles.choices import ActionKind
from tests.factories import (
    ContactConflictReportFactory,
    NbaRuleFactory,
    OutboundActionFactory,
    SiloFactory,
)

pytestmark = pytest.mark.django_db


def test_versioned_and_approved_with_history(chair: Any, committee_member: Any) -> None:
    actor = Actor(user=chair, channel="admin")
    draft = governed_create(
        item=NbaRule(code="home-bundle", name="Home bundle", action_kind=ActionKind.CROSS_SELL,
                     purpose=Purpose.objects.get(code="marketing"), explanation="Offer home."),
        actor=actor, reason="New rule",
    )  # fmt: skip
    assert (draft.version, draft.status) == (1, GovernanceStatus.DRAFT)
    proposed = governed_propose(item=draft, actor=actor, reason="Ready", changes={})
    approved = governed_approve(item=proposed, actor=actor, reason="Committee vote")
    assert approved.status == GovernanceStatus.APPROVED

    second = governed_propose(item=approved, actor=actor, reason="Higher rank",
                              changes={"rank": 5})  # fmt: skip
    assert (second.version, second.previous_version_id) == (2, approved.pk)
    approved.refresh_from_db()
    assert approved.status == GovernanceStatus.APPROVED  # in force until v2 is approved
    governed_approve(item=second, actor=actor, reason="Committee vote")
    approved.refresh_from_db()
    assert approved.status == GovernanceStatus.DEPRECATED
    assert NbaRule.objects.get(code="home-bundle", status=GovernanceStatus.APPROVED).rank == 5
    assert second.history.count() >= 2
    assert AuditEvent.objects.filter(event_type=AuditEventType.GOVERNED_APPROVED).count() == 2

    # A member may read but not approve.
    third = governed_propose(item=second, actor=actor, reason="x", changes={"rank": 7})
    with pytest.raises(PermissionDenied):
        governed_approve(item=third, actor=Actor(user=committee_member, channel="admin"),
                         reason="no")  # fmt: skip


def test_the_admin_proposes_a_new_version_with_a_reason(
    chair: Any, admin_client_for: Any, django_assert_max_num_queries: Any
) -> None:
    rule = NbaRuleFactory(status=GovernanceStatus.APPROVED, approved_at=timezone.now())
    client = admin_client_for(chair)
    url = f"/admin/governance/nbarule/{rule.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "code": rule.code, "name": rule.name, "description": "", "rank": 3,
        "action_kind": rule.action_kind, "purpose": rule.purpose_id, "channel": "",
        "flag_kind": "", "flag_min_score": "", "contact_reasons": "", "contact_channel": "",
        "holds_line": "", "lacks_line": "", "explanation": "Better words.",
        "change_reason": "Clearer explanation",
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302
    proposal = NbaRule.objects.get(code=rule.code, version=2)
    assert proposal.status == GovernanceStatus.PROPOSED
    assert proposal.explanation == "Better words."
    assert "Clearer explanation" in proposal.history.first().history_change_reason
    # The list is one page with the counts annotated: a fixed number of queries.
    NbaRuleFactory.create_batch(5, status=GovernanceStatus.DRAFT)
    with django_assert_max_num_queries(12):
        assert client.get("/admin/governance/nbarule/").status_code == 200


def test_conflict_report_by_silo_pair_and_month(
    chair: Any, agent: Any, admin_client_for: Any
) -> None:
    marketing = SiloFactory(code="marketing", name="Marketing")
    risk = SiloFactory(code="risk", name="Risk")
    billing = SiloFactory(code="billing", name="Billing")

    def conflict(silo: Any, other: str) -> Any:
        return ContactConflictReportFactory(
            silo=silo,
            block_reasons=[{"code": "incompatible", "message": "Conflict.",
                            "conflicting_silo": other}],
        )  # fmt: skip

    conflict(risk, "marketing")
    conflict(marketing, "risk")
    conflict(billing, "marketing")
    # A consent block is not a conflict between silos.
    no_consent = [{"code": "no_consent", "message": "No consent."}]
    OutboundActionFactory(silo=risk, status="blocked", block_reasons=no_consent)
    month = timezone.localtime().strftime("%Y-%m")

    page = admin_client_for(chair).get("/admin/profiles/contactconflictreport/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"<td>{month}</td><td>Marketing</td><td>Risk</td>\n        <td>2</td>" in text
    assert f"<td>{month}</td><td>Billing</td><td>Marketing</td>\n        <td>1</td>" in text
    index = admin_client_for(chair).get("/admin/").content.decode()
    assert "/admin/profiles/contactconflictreport/" in index
    # The agent has no committee report.
    assert admin_client_for(agent).get("/admin/profiles/contactconflictreport/").status_code == 403
