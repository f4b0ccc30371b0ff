"""The agent's context card: lens-shaped, restricted profiles invisible, exact queries."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, Purpose
from customer360.choices import ActorChannel, AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import CardSection, GovernanceStatus
from governance.models import FieldDefinition, Lens
from profiles.choices import CaseStatus, InteractionKind, RelationshipKind
from profiles.models import Case, Customer, Interaction
from profiles.selectors import customer_people
from profiles.services import restricted_access_grant
from tests.factories import (
    CaseFactory,
    ConsentRecordFactory,
    CustomerFactory,
    FlagFactory,
    HoldingFactory,
    HouseholdFactory,
    HouseholdMembershipFactory,
    InteractionFactory,
    LensFactory,
    NbaRuleFactory,
    PrivacyNoticeFactory,
    RelationshipFactory,
    SiloFactory,
)

# The session is saved on every request (idle timeout): one UPDATE in its own
# transaction, whose BEGIN and COMMIT Django records as statements too.
TX = 2

CARD_FIELDS = ["given_name", "family_name", "date_of_birth", "phone", "locality"]


def make_lens(
    groups: list[Group], code: str = "service-call", purpose: str = "service", **values: Any
) -> Lens:
    lens = LensFactory(
        code=code,
        name=values.pop("name", "Service call"),
        purpose=Purpose.objects.get(code=purpose),
        sections=values.pop("sections", list(CardSection.values)),
        status=GovernanceStatus.APPROVED,
        approved_at=timezone.now(),
        **values,
    )
    lens.fields.set(FieldDefinition.objects.filter(canonical_name__in=CARD_FIELDS))
    lens.roles.set(groups)
    return lens


def baseline_install() -> None:
    """The baseline vocabulary (purposes, channels, field definitions) that the
    governance migration installs, again: tests with ``transaction=True`` run
    after others have flushed the database. Idempotent."""
    from django.apps import apps

    import_module("governance.migrations.0002_baseline_vocabulary").install(apps, None)


@pytest.fixture
def baseline(db: None) -> None:
    baseline_install()


@pytest.fixture
def service_lens(role_groups: dict[str, Group], baseline: None) -> Lens:
    return make_lens([role_groups["agent"], role_groups["data_steward"]])


@pytest.fixture
def service_silo(baseline: None) -> Any:
    return SiloFactory(code="service", name="Customer service")


def fill_customer(customer: Customer, silo: Any, interactions: int = 3) -> None:
    """A household, a link, holdings, cases, flags and ``interactions`` contacts."""
    household = HouseholdFactory(label="Lovelace household")
    partner = CustomerFactory(given_name="Will", family_name="King")
    HouseholdMembershipFactory(household=household, customer=customer)
    HouseholdMembershipFactory(household=household, customer=partner)
    RelationshipFactory(from_customer=partner, to_customer=customer)
    HoldingFactory(customer=customer)
    CaseFactory(customer=customer, silo=silo, subject="Broken boiler", opened_at=timezone.now())
    CaseFactory(
        customer=customer,
        silo=silo,
        status=CaseStatus.CLOSED,
        opened_at=timezone.now() - datetime.timedelta(days=40),
        closed_at=timezone.now() - datetime.timedelta(days=30),
        subject="Old complaint",
    )
    FlagFactory(customer=customer, reason="Two complaints in 90 days.")
    phone = Channel.objects.get(code="phone")
    for n in range(interactions):
        InteractionFactory(
            customer=customer,
            silo=silo,
            channel=phone,
            kind=InteractionKind.ORDER if n % 2 else InteractionKind.INQUIRY,
            occurred_at=timezone.now() - datetime.timedelta(days=n),
            summary=f"Contact {n}",
        )


@pytest.fixture
def ada(service_silo: Any) -> Customer:
    customer = CustomerFactory(
        given_name="Ada",
        family_name="Lovelace",
        phone="+31612345678",
        email="ada@example.org",
        locality="Utrecht",
    )
    fill_customer(customer, service_silo)
    return customer


def card_url(customer: Customer, suffix: str = "") -> str:
    return f"/customers/{customer.customer_number}/{suffix}"


@pytest.mark.django_db
def test_card_shows_the_lens_fields_sections_and_a_hidden_count_only(
    client: Client, agent: User, service_lens: Lens, ada: Customer
) -> None:
    client.force_login(agent)

    response = client.get(card_url(ada), {"lens": "service-call"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada" in html and "Lovelace household" in html and "Will King" in html
    assert "+31612345678" in html
    # E-mail is outside the lens: neither the value nor its label appears, only a count.
    assert "ada@example.org" not in html
    assert "not shown for this purpose" in html
    assert response.context["view"].hidden_count == 9  # 13 identity values, 5 in the lens
    assert "Broken boiler" in html and "Old complaint" not in html  # open cases only
    assert "Two complaints in 90 days." in html
    assert "Home insurance" in html
    assert f'hx-get="/customers/{ada.customer_number}/timeline/"' in html


@pytest.mark.django_db
def test_a_lens_without_sections_shows_none_of_them(
    client: Client, agent: User, role_groups: dict[str, Group], baseline: None, ada: Customer
) -> None:
    make_lens([role_groups["agent"]], code="identity-only", sections=[CardSection.IDENTITY])
    client.force_login(agent)

    html = client.get(card_url(ada), {"lens": "identity-only"}).content.decode()

    assert "Lovelace household" not in html
    assert "Two complaints" not in html
    assert "Broken boiler" not in html
    assert "/timeline/" not in html


@pytest.mark.django_db
def test_a_lens_the_role_may_not_use_is_refused(
    client: Client, agent: User, role_groups: dict[str, Group], baseline: None, ada: Customer
) -> None:
    make_lens([role_groups["data_steward"]], code="risk-review", purpose="risk")
    client.force_login(agent)

    assert client.get(card_url(ada), {"lens": "risk-review"}).status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("history", [1, 40])
def test_card_queries_are_exact_whatever_the_history_length(
    client: Client,
    agent: User,
    service_lens: Lens,
    service_silo: Any,
    history: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    customer = CustomerFactory(phone="+31612345678")
    fill_customer(customer, service_silo, interactions=history)
    client.force_login(agent)
    client.get(card_url(customer), {"lens": "service-call"})  # warms the content-type cache

    # session, user, customer (with the permission checks), lens + fields + role
    # check, household and relationships, current activity, holdings, flags,
    # session save: 11, whatever the history's length.
    with django_assert_num_queries(11 + TX):
        response = client.get(card_url(customer))

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_card_with_a_consent_based_lens_stays_within_twelve_queries(
    client: Client,
    agent: User,
    role_groups: dict[str, Group],
    ada: Customer,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    make_lens([role_groups["agent"]], code="offers", purpose="marketing")
    client.force_login(agent)
    client.get(card_url(ada), {"lens": "offers"})

    # session, user, customer, lens (3), the phone channel, the consent check,
    # session save: no consent, so no section is read at all.
    with django_assert_num_queries(9 + TX) as captured:
        response = client.get(card_url(ada))

    assert response.status_code == 200
    # No consent for marketing: nothing of the identity is shown, only counted.
    assert response.context["view"].consent_blocked
    assert "+31612345678" not in response.content.decode()
    assert len(captured.captured_queries) - TX <= 12


@pytest.mark.django_db
def test_restricted_profile_is_404_for_an_agent_until_access_is_granted(
    client: Client, agent: User, service_lens: Lens, superuser: User
) -> None:
    hidden = CustomerFactory(is_restricted=True, given_name="Secret", family_name="Agent")
    client.force_login(agent)

    assert client.get(card_url(hidden)).status_code == 404
    assert client.get(card_url(hidden, "timeline/")).status_code == 404
    assert client.get("/", {"q": hidden.customer_number}).context["hits"] == []

    restricted_access_grant(
        customer=hidden,
        user=agent,
        actor=Actor(user=superuser, channel=ActorChannel.ADMIN),
        reason="Handles employee accounts",
    )

    assert client.get(card_url(hidden)).status_code == 200
    event = AuditEvent.objects.get(event_type=AuditEventType.RESTRICTED_ACCESS_GRANTED)
    assert event.new == {"user": agent.pk}
    assert event.customer_number == hidden.customer_number


@pytest.mark.django_db
def test_a_merged_away_number_redirects_to_the_survivor(
    client: Client, agent: User, service_lens: Lens
) -> None:
    survivor = CustomerFactory()
    merged = CustomerFactory(
        merged_into=survivor, merged_at=timezone.now(), lifecycle_status="merged"
    )
    client.force_login(agent)

    response = client.get(card_url(merged))

    assert response.status_code == 302
    assert response["Location"] == card_url(survivor)


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_sign_in(client: Client, ada: Customer) -> None:
    response = client.get(card_url(ada))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- the timeline -------------------------------------------------------------------


@pytest.mark.django_db
def test_timeline_pages_and_filters(
    client: Client, agent: User, service_lens: Lens, service_silo: Any
) -> None:
    customer = CustomerFactory()
    fill_customer(customer, service_silo, interactions=25)
    other_silo = SiloFactory(code="webshop", name="Web shop")
    InteractionFactory(
        customer=customer,
        silo=other_silo,
        channel=Channel.objects.get(code="email"),
        kind=InteractionKind.RETURN,
        summary="Returned shoes",
    )
    client.force_login(agent)

    first = client.get(card_url(customer, "timeline/"), headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert len(first.context["entries"]) == 20 and first.context["has_next"]
    assert "<html" not in first.content.decode()  # a fragment for htmx
    second = client.get(card_url(customer, "timeline/"), {"page": 2})
    # 25 + 1 interactions and 2 cases: 8 on the second page.
    assert len(second.context["entries"]) == 8 and not second.context["has_next"]
    by_silo = client.get(card_url(customer, "timeline/"), {"silo": "webshop"})
    assert [e.title for e in by_silo.context["entries"]] == ["Returned shoes"]
    by_channel = client.get(card_url(customer, "timeline/"), {"channel": "email"})
    assert [e.title for e in by_channel.context["entries"]] == ["Returned shoes"]
    by_kind = client.get(card_url(customer, "timeline/"), {"kind": "order"})
    assert {e.kind for e in by_kind.context["entries"]} == {"Order"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("history", [2, 60])
def test_timeline_queries_are_exact(
    client: Client,
    agent: User,
    service_lens: Lens,
    service_silo: Any,
    history: int,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    customer = CustomerFactory()
    fill_customer(customer, service_silo, interactions=history)
    client.force_login(agent)
    client.get(card_url(customer, "timeline/"), {"lens": "service-call"})

    # session, user, customer, lens (3), the page, silos, channels, session save
    with django_assert_num_queries(10 + TX):
        client.get(card_url(customer, "timeline/"))


# --- logging an interaction -----------------------------------------------------------


@pytest.mark.django_db
def test_agent_logs_a_complaint_with_a_follow_up_case(
    client: Client, agent: User, service_lens: Lens, ada: Customer
) -> None:
    client.force_login(agent)
    before = Interaction.objects.filter(customer=ada).count()

    response = client.post(
        card_url(ada, "interactions/new/"),
        {
            "channel": "phone",
            "silo": "service",
            "direction": "inbound",
            "kind": "complaint",
            "outcome": "escalated",
            "mood": "-1",
            "note": "Boiler still broken",
            "follow_up_kind": "complaint",
            "follow_up_subject": "Boiler not repaired",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-changed"
    logged = Interaction.objects.filter(customer=ada).latest("created_at")
    assert Interaction.objects.filter(customer=ada).count() == before + 1
    assert (logged.kind, logged.sentiment, logged.agent) == ("complaint", -1.0, agent)
    case = Case.objects.get(subject="Boiler not repaired")
    assert case.customer == ada and case.owner == agent
    event = AuditEvent.objects.get(event_type=AuditEventType.INTERACTION_LOGGED)
    assert event.new["case"] == case.reference
    assert "Boiler" not in str(event.new)  # the note never goes to the audit log
    assert AuditEvent.objects.filter(event_type=AuditEventType.CASE_OPENED).count() == 1


@pytest.mark.django_db
def test_invalid_interaction_is_400_with_field_errors_and_writes_nothing(
    client: Client, agent: User, service_lens: Lens, ada: Customer
) -> None:
    client.force_login(agent)
    before = (Interaction.objects.count(), Case.objects.count(), AuditEvent.objects.count())

    response = client.post(
        card_url(ada, "interactions/new/"),
        {"channel": "phone", "silo": "service", "kind": "", "follow_up_kind": "complaint"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"kind", "direction", "follow_up_subject"}
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "field-error" in html
    assert (Interaction.objects.count(), Case.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_a_steward_cannot_log_interactions(
    client: Client, steward: User, service_lens: Lens, ada: Customer
) -> None:
    client.force_login(steward)
    before = Interaction.objects.count()

    response = client.post(
        card_url(ada, "interactions/new/"),
        {"channel": "phone", "silo": "service", "direction": "inbound", "kind": "inquiry"},
    )

    assert response.status_code == 404
    assert Interaction.objects.count() == before


# --- next best actions ----------------------------------------------------------------


@pytest.mark.django_db
def test_agent_accepts_a_next_best_action_and_it_is_recorded(
    client: Client, agent: User, service_lens: Lens, ada: Customer
) -> None:
    NbaRuleFactory(
        code="service-check",
        name="Check the open case",
        purpose=Purpose.objects.get(code="service"),
        status=GovernanceStatus.APPROVED,
        approved_at=timezone.now(),
        explanation="An open case is waiting.",
    )
    client.force_login(agent)

    panel = client.get(card_url(ada, "actions/"), headers={"HX-Request": "true"})
    assert "Check the open case" in panel.content.decode()
    assert "An open case is waiting." in panel.content.decode()

    response = client.post(
        card_url(ada, "actions/"),
        {"rule_code": "service-check", "response": "accept"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    event = AuditEvent.objects.get(event_type=AuditEventType.NBA_ACCEPTED)
    assert event.customer_number == ada.customer_number
    assert event.actor == agent


@pytest.mark.django_db
def test_a_response_to_an_unknown_rule_is_400_and_records_nothing(
    client: Client, agent: User, service_lens: Lens, ada: Customer
) -> None:
    client.force_login(agent)

    response = client.post(
        card_url(ada, "actions/"), {"rule_code": "no-such-rule", "response": "decline"}
    )

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(
        event_type__in=[AuditEventType.NBA_ACCEPTED, AuditEventType.NBA_DECLINED]
    ).exists()


@pytest.mark.parametrize(
    ("kind", "outgoing", "incoming"),
    [
        (RelationshipKind.SPOUSE, "Spouse", "Spouse"),
        (RelationshipKind.PARENT, "this customer is parent of them", "Parent of"),
        (RelationshipKind.REFERRER, "Referred by this customer", "Referred"),
    ],
)
@pytest.mark.django_db
def test_relationships_read_from_this_customers_side(
    kind: str, outgoing: str, incoming: str
) -> None:
    me, other, another = CustomerFactory(), CustomerFactory(), CustomerFactory()
    RelationshipFactory(from_customer=me, to_customer=other, kind=kind)
    RelationshipFactory(from_customer=another, to_customer=me, kind=kind)
    _, people = customer_people(customer=me)
    relations = {person.customer_number: person.relation for person in people}
    assert relations == {other.customer_number: outgoing, another.customer_number: incoming}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("history", [1, 40])
@pytest.mark.parametrize("panel", ["actions/", "consent"])
def test_action_and_consent_panels_queries_are_exact(
    client: Client,
    agent: User,
    service_lens: Lens,
    service_silo: Any,
    history: int,
    panel: str,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    """The card's other htmx panels cost the same whatever the history's length
    (contacts and consent statements alike), and each stays within the card's
    budget of 12: the page and each of its panel requests, counted alike."""
    customer = CustomerFactory()
    fill_customer(customer, service_silo, interactions=history)
    marketing, email = Purpose.objects.get(code="marketing"), Channel.objects.get(code="email")
    notice = PrivacyNoticeFactory(code="panel-notice", version=1, purposes=[marketing])
    for n in range(history):
        ConsentRecordFactory(
            customer=customer,
            purpose=marketing,
            channel=email,
            captured_via=email,
            notice=notice,
            status=ConsentStatus.WITHDRAWN if n % 2 else ConsentStatus.GRANTED,
            effective_from=timezone.now() - datetime.timedelta(days=history - n),
            effective_until=timezone.now() + datetime.timedelta(days=10),
        )
    NbaRuleFactory(purpose=Purpose.objects.get(code="service"),
                   status=GovernanceStatus.APPROVED, approved_at=timezone.now())  # fmt: skip
    url = (
        card_url(customer, panel)
        if panel.endswith("/")
        else reverse("consent:customer-consent", args=[customer.customer_number])
    )
    client.force_login(agent)
    client.get(url, {"lens": "service-call"}, headers={"HX-Request": "true"})

    with django_assert_num_queries(EXPECTED_PANEL_QUERIES[panel] + TX):
        response = client.get(url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert EXPECTED_PANEL_QUERIES[panel] <= 12
    if panel == "consent":
        html = response.content.decode()
        # The form's choices come from the rows the table read: all there.
        assert 'value="marketing"' in html and 'value="web"' in html
        assert ("expires" in html) == (history % 2 == 1)


# Session, user, customer with permission checks, lens (3), then the panel's own
# reads, then the session save:
# * actions: rules, flags, consent table, pending actions and conflicts (11);
# * consent: purposes, channels, the ledger in force (table and renewal prompts
#   from one read, consent_overview), the user's permissions (2) (12).
EXPECTED_PANEL_QUERIES = {"actions/": 11, "consent": 12}
