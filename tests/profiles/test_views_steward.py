"""The steward's review queue, merge with lineage, unmerge; who may reach them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from profiles.identity.choices import CandidateStatus
from profiles.models import Customer, MatchCandidate, MergeEvent
from tests.factories import CustomerFactory, MatchCandidateFactory


@pytest.fixture
def candidate(db: None) -> MatchCandidate:
    a = CustomerFactory(given_name="Jan", family_name="Jansen", email="jan@example.org")
    b = CustomerFactory(given_name="Johannes", family_name="Jansen", email="jan@example.org")
    return MatchCandidateFactory(
        customer_a=a,
        customer_b=b,
        explanation=[
            {"field": "email", "level": "exact", "weight": 9.1, "left": "jan@example.org",
             "right": "jan@example.org"},
            {"field": "given_name", "level": "nickname", "weight": 3.2, "left": "jan",
             "right": "johannes"},
        ],
    )  # fmt: skip


@pytest.mark.django_db
def test_steward_sees_the_pair_side_by_side_with_the_explanation(
    client: Client, steward: User, candidate: MatchCandidate
) -> None:
    client.force_login(steward)

    queue = client.get("/customers/review/")
    assert queue.status_code == 200
    assert candidate.customer_a.customer_number in queue.content.decode()
    pair = client.get(f"/customers/review/{candidate.pk}/").content.decode()
    assert "Johannes" in pair and "nickname" in pair and "9.10" in pair


@pytest.mark.django_db
def test_steward_merges_sees_lineage_and_unmerges(
    client: Client, steward: User, candidate: MatchCandidate
) -> None:
    client.force_login(steward)
    a, b = candidate.customer_a, candidate.customer_b

    response = client.post(
        f"/customers/review/{candidate.pk}/", {"decision": "merge", "reason": "Same e-mail"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{a.customer_number}/lineage/"
    b.refresh_from_db()
    assert b.merged_into == a
    event = MergeEvent.objects.get(survivor=a, merged=b)
    lineage = client.get(response["Location"]).content.decode()
    assert f"Unmerge {b.customer_number}" in lineage

    undone = client.post(f"/customers/merges/{event.reference}/unmerge/", {"reason": "Twins"})

    assert undone.status_code == 302
    b.refresh_from_db()
    event.refresh_from_db()
    assert b.merged_into is None and event.undone_at is not None


@pytest.mark.django_db
def test_not_a_match_and_defer_leave_both_customers(
    client: Client, steward: User, candidate: MatchCandidate
) -> None:
    client.force_login(steward)

    client.post(f"/customers/review/{candidate.pk}/", {"decision": "defer", "reason": "Call"})
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DEFERRED

    client.post(f"/customers/review/{candidate.pk}/", {"decision": "not_a_match", "reason": "No"})
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.NOT_A_MATCH
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


@pytest.mark.django_db
def test_a_decision_without_reason_is_400_and_changes_nothing(
    client: Client, steward: User, candidate: MatchCandidate
) -> None:
    client.force_login(steward)

    response = client.post(f"/customers/review/{candidate.pk}/", {"decision": "merge"})

    assert response.status_code == 400
    assert "reason" in response.context["form"].errors
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PENDING
    assert not MergeEvent.objects.exists()


# --- the permission matrix of the steward and privacy screens -------------------------


def _steward_urls(candidate: MatchCandidate) -> list[str]:
    return [
        "/customers/review/",
        f"/customers/review/{candidate.pk}/",
        f"/customers/{candidate.customer_a.customer_number}/lineage/",
        "/privacy/requests/",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "committee_member"])
def test_agents_and_members_cannot_reach_steward_or_privacy_screens(
    client: Client, request: pytest.FixtureRequest, role: str, candidate: MatchCandidate
) -> None:
    client.force_login(request.getfixturevalue(role))

    for url in _steward_urls(candidate):
        assert client.get(url).status_code == 403, url
    response = client.post(
        f"/customers/review/{candidate.pk}/", {"decision": "merge", "reason": "Sneaky"}
    )

    assert response.status_code == 403
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PENDING
    assert not MergeEvent.objects.exists()


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_sign_in_and_nothing_changes(
    client: Client, candidate: MatchCandidate
) -> None:
    for url in _steward_urls(candidate):
        assert client.get(url).status_code == 302
    client.post(f"/customers/review/{candidate.pk}/", {"decision": "merge", "reason": "x"})

    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.PENDING


@pytest.mark.django_db
def test_review_queue_queries_are_exact(
    client: Client,
    steward: User,
    candidate: MatchCandidate,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    for _ in range(5):
        MatchCandidateFactory()
    client.force_login(steward)
    client.get("/customers/review/")

    # session, user, the steward's permissions (user, groups), the queue, session save
    # (in a savepoint: the test runs inside a transaction)
    with django_assert_num_queries(8):
        response = client.get("/customers/review/")

    assert len(response.context["candidates"]) == 6
