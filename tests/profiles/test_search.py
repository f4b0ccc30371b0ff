"""The agent's search: typos, nicknames, initials, swapped names, identifiers, reasons."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from profiles.models import Customer
from profiles.search import customer_search, name_match
from tests.factories import (
    CustomerFactory,
    HouseholdFactory,
    HouseholdMembershipFactory,
    SourceRecordFactory,
    SourceSystemFactory,
)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("Robert Smith", "given name: exact"),
        ("Bob Smith", "given name: nickname"),
        ("Robret Smith", "given name: spelled differently"),
        ("Robert Smiht", "family name: spelled differently"),
        ("R Smith", "given name: initial"),
        ("Smith Robert", "given and family name swapped"),
    ],
)
def test_name_match_explains_why(query: str, reason: str) -> None:
    score, reasons = name_match(query.lower().split(), "Robert", "Smith")

    assert score >= 0.6
    assert reason in reasons


@pytest.mark.parametrize("query", ["Alice Jones", "Robert Brown", "Xavier"])
def test_name_match_rejects_other_people(query: str) -> None:
    score, _ = name_match(query.lower().split(), "Robert", "Smith")

    assert score < 0.6


@pytest.fixture
def people(db: None) -> dict[str, Customer]:
    household = HouseholdFactory(label="Smith, Utrecht")
    robert = CustomerFactory(
        given_name="Robert",
        family_name="Smith",
        phone="+31612345678",
        email="rob.smith@example.org",
    )
    HouseholdMembershipFactory(household=household, customer=robert)
    return {
        "robert": robert,
        "roberta": CustomerFactory(given_name="Roberta", family_name="Smit"),
        "alice": CustomerFactory(given_name="Alice", family_name="Jones"),
        "secret": CustomerFactory(given_name="Robert", family_name="Smithers", is_restricted=True),
    }


@pytest.mark.django_db
def test_misspelt_name_finds_the_customer_first_with_household(
    agent: User, people: dict[str, Customer]
) -> None:
    hits = customer_search(user=agent, query="Robret Smiht")

    assert hits[0].customer == people["robert"]
    assert hits[0].customer.household_label == "Smith, Utrecht"
    assert "given name: spelled differently" in hits[0].reasons
    assert people["alice"] not in [hit.customer for hit in hits]


@pytest.mark.django_db
def test_restricted_profiles_are_not_found_by_an_agent_without_access(
    agent: User, superuser: User, people: dict[str, Customer]
) -> None:
    found = [hit.customer for hit in customer_search(user=agent, query="Robert Smithers")]
    assert people["secret"] not in found
    assert customer_search(user=agent, query=people["secret"].customer_number) == []

    as_root = [hit.customer for hit in customer_search(user=superuser, query="Robert Smithers")]
    assert as_root[0] == people["secret"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("06 12 34 56 78", "phone number"),
        ("+31 (0)6-1234-5678", "phone number"),
        ("ROB.SMITH@example.org", "e-mail address"),
    ],
)
def test_phone_in_any_format_and_email_find_the_customer(
    agent: User, people: dict[str, Customer], query: str, reason: str
) -> None:
    hits = customer_search(user=agent, query=query)

    assert [hit.customer for hit in hits] == [people["robert"]]
    assert hits[0].reasons == [reason]


@pytest.mark.django_db
def test_customer_number_and_a_merged_away_number_resolve_to_the_survivor(
    agent: User, people: dict[str, Customer]
) -> None:
    robert = people["robert"]
    old = CustomerFactory(merged_into=robert, merged_at=timezone.now(), lifecycle_status="merged")

    assert customer_search(user=agent, query=robert.customer_number.lower())[0].customer == robert
    hit = customer_search(user=agent, query=old.customer_number)[0]
    assert hit.customer == robert
    assert hit.reasons == [f"old customer number {old.customer_number} (merged into this customer)"]


@pytest.mark.django_db
def test_a_silos_own_key_finds_the_customer(agent: User, people: dict[str, Customer]) -> None:
    system = SourceSystemFactory(name="Billing AR")
    SourceRecordFactory(source_system=system, source_key="AR-778812", customer=people["robert"])

    hits = customer_search(user=agent, query="AR-778812")

    assert [hit.customer for hit in hits] == [people["robert"]]
    assert hits[0].reasons == ["Billing AR key"]


@pytest.mark.django_db
def test_home_is_the_search_box_with_focus_and_results(
    client: Client, agent: User, people: dict[str, Customer]
) -> None:
    client.force_login(agent)

    page = client.get("/").content.decode()
    assert 'id="id_q"' in page and "autofocus" in page

    fragment = client.get(
        "/", {"q": "Bob Smith"}, headers={"HX-Request": "true", "HX-Target": "results"}
    )
    html = fragment.content.decode()
    assert "<html" not in html
    assert people["robert"].customer_number in html
    assert "given name: nickname" in html
    assert "Smith, Utrecht" in html


@pytest.mark.django_db
def test_home_offers_navigation_only_where_it_leads_somewhere(
    client: Client, agent: User, steward: User
) -> None:
    agent.is_staff = False  # a call-center agent without admin access, as in the demo
    agent.save()
    client.force_login(agent)
    assert 'id="links-heading"' not in client.get("/").content.decode()

    client.force_login(steward)
    page = client.get("/").content.decode()
    assert 'id="links-heading"' in page and "Duplicate review queue" in page


@pytest.mark.django_db
def test_a_user_without_customer_access_gets_no_search(
    client: Client, committee_member: User, people: dict[str, Customer]
) -> None:
    client.force_login(committee_member)

    response = client.get("/", {"q": "Robert Smith"})

    assert response.status_code == 200
    assert response.context["hits"] == []
    assert people["robert"].customer_number not in response.content.decode()


@pytest.mark.django_db
def test_customers_created_in_bulk_are_found_by_name(agent: User) -> None:
    """On PostgreSQL the name dictionary is filled by a statement-level trigger:
    one bulk insert of several customers, two of them namesakes, finds them all."""
    made = bulk_create_with_history(
        [
            CustomerFactory.build(given_name="Geertruida", family_name="Vermeulen"),
            CustomerFactory.build(given_name="Geertruida", family_name="Vermeulen"),
            CustomerFactory.build(given_name="Cornelis", family_name="Brouwer"),
        ],
        Customer,
    )
    numbers = {customer.customer_number for customer in made}

    found = {
        hit.customer.customer_number for hit in customer_search(user=agent, query="Truus Vermuelen")
    }
    assert found == numbers - {made[2].customer_number}
    assert [
        hit.customer.customer_number for hit in customer_search(user=agent, query="Kees Browuer")
    ] == [made[2].customer_number]


@pytest.mark.django_db
def test_a_renamed_customer_is_found_by_the_new_name_and_not_the_old(
    agent: User, people: dict[str, Customer]
) -> None:
    alice = people["alice"]
    alice.family_name = "Dijkstra"
    alice.save()

    assert customer_search(user=agent, query="Alice Dijsktra")[0].customer == alice
    assert alice not in [hit.customer for hit in customer_search(user=agent, query="Alice Jones")]


@pytest.mark.django_db
def test_a_merged_away_customer_is_not_a_name_candidate(
    agent: User, people: dict[str, Customer]
) -> None:
    robert = people["robert"]
    twin = CustomerFactory(given_name="Robert", family_name="Smith")
    twin.merged_into, twin.merged_at, twin.lifecycle_status = robert, timezone.now(), "merged"
    twin.save()

    assert [hit.customer for hit in customer_search(user=agent, query="Robert Smith")][:1] == [
        robert
    ]
    assert twin not in [hit.customer for hit in customer_search(user=agent, query="Robert Smith")]


def _dictionary_has(name: str) -> bool | None:
    """Whether PostgreSQL's name dictionary holds ``name``; None on SQLite (no dictionary)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM profiles_search_name WHERE name = %s)", [name])
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db
def test_an_erased_name_leaves_the_name_dictionary_unless_someone_else_bears_it(
    agent: User,
) -> None:
    """Erasure blanks a person's name: the dictionary must not keep it, unless a
    namesake still bears it (then the namesake must stay findable)."""
    erased = CustomerFactory(given_name="Philippa", family_name="Oosterhuis")
    namesake_a = CustomerFactory(given_name="Wendelin", family_name="Achterberg")
    namesake_b = CustomerFactory(given_name="Wendelin", family_name="Achterberg")
    expected_before = None if connection.vendor != "postgresql" else True
    assert _dictionary_has("philippa oosterhuis") is expected_before

    for customer in (erased, namesake_a):
        customer.given_name = customer.family_name = ""
        customer.save()

    expected_after = None if connection.vendor != "postgresql" else False
    assert _dictionary_has("philippa oosterhuis") is expected_after
    assert _dictionary_has("wendelin achterberg") is expected_before
    assert customer_search(user=agent, query="Philippa Oosterhuis") == []
    assert [hit.customer for hit in customer_search(user=agent, query="Wendelin Achterberg")] == [
        namesake_b
    ]


def _merge_pending_names() -> int:
    """Merge the name index's pending list into the index; how many pages it held."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('search_name_trgm'::regclass)")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
def test_a_new_name_is_found_while_it_waits_in_the_name_index_pending_list(agent: User) -> None:
    """Migration 0013: on PostgreSQL the dictionary's trigram index takes new names
    into GIN's pending list (at most 256 kB), which every search scans until the
    list is merged: a customer just created is found by a misspelt name while
    the name is pending, and after the merge."""

    def create() -> list[str]:
        made = bulk_create_with_history(
            [CustomerFactory.build(given_name="Ottoline", family_name="Brinkerhoff")], Customer
        )
        return [customer.customer_number for customer in made]

    def found() -> list[str]:
        hits = customer_search(user=agent, query="Ottoline Brinkerhof")
        return [hit.customer.customer_number for hit in hits]

    if connection.vendor != "postgresql":  # no dictionary, no index: names scanned in process
        created = create()
        assert found() == created
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'search_name_trgm'")
        assert sorted(cursor.fetchone()[0]) == ["fastupdate=on", "gin_pending_list_limit=256"]
        # (Auto)vacuum and analyze, which would merge the list meanwhile, need this lock.
        cursor.execute("LOCK TABLE profiles_search_name IN SHARE UPDATE EXCLUSIVE MODE")
    _merge_pending_names()
    created = create()

    assert found() == created
    assert _merge_pending_names() >= 1  # the name was in the pending list
    assert found() == created
