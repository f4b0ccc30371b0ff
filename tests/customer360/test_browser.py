"""Sign-in through a real browser: Debian's chromium driven by Playwright.

Runs against pytest-django's ``live_server``. A missing /usr/bin/chromium
fails these tests (install it with ``apt-get install chromium``); they are
never skipped. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from governance.choices import CommitteeRole
from governance.roles import group_name

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"browser tests need Chromium at {CHROMIUM}: install it with "
            "`apt-get install chromium` (Debian) or set CHROMIUM_PATH",
            pytrace=False,
        )
    # Playwright's sync API runs an event loop in this thread; Django refuses
    # ORM calls from a thread with a running loop unless told it is safe.
    # Set only while this module's browser is open.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                yield chromium
            finally:
                chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    page.console_errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        snap(page, request.node.name)
        context.close()


@pytest.fixture
def agent(transactional_db: None) -> User:
    user = User.objects.create_user(
        username="ada", password=PASSWORD, first_name="Ada", last_name="Lovelace"
    )
    group, _ = Group.objects.get_or_create(name=group_name(CommitteeRole.AGENT))
    user.groups.add(group)
    return user


def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def login_url(live_server: Any) -> str:
    return f"{live_server.url}/accounts/login/"


def sign_in(page: Page, live_server: Any, username: str, password: str) -> None:
    page.goto(login_url(live_server))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.django_db(transaction=True)
def test_login_page_answers(page: Page, live_server: Any) -> None:
    response = page.goto(login_url(live_server))

    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    # The stylesheet loads and nothing trips the Content-Security-Policy.
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_agent_signs_in_and_lands_on_home(page: Page, live_server: Any, agent: User) -> None:
    sign_in(page, live_server, "ada", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
    expect(page.get_by_role("list").get_by_text(group_name(CommitteeRole.AGENT))).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    # Agents are not staff: no link to the admin.
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_wrong_password_shows_an_error_and_stays_signed_out(
    page: Page, live_server: Any, agent: User
) -> None:
    sign_in(page, live_server, "ada", "not-the-password")

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(login_url(live_server))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    snap(page, "login_wrong_password_error")

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{login_url(live_server)}?next=/")


# --- issue 6: the agent, steward and privacy-officer screens ------------------------

from axe_playwright_python.sync_playwright import Axe  # noqa: E402

from consent.choices import CaptureMethod, ConsentStatus  # noqa: E402
from consent.services import consent_record  # noqa: E402
from customer360.choices import ActorChannel  # noqa: E402
from customer360.services import Actor  # noqa: E402
from governance.services import roles_sync  # noqa: E402
from tests.factories import (  # noqa: E402
    CustomerFactory,
    DataSubjectRequestFactory,
    MatchCandidateFactory,
    SiloFactory,
)
from tests.profiles.test_views_card import (  # noqa: E402
    baseline_install,
    fill_customer,
    make_lens,
)


def role_user(username: str, role: str) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, first_name=username)
    user.groups.add(Group.objects.get(name=group_name(role)))
    return user


def assert_accessible(page: Page) -> None:
    """axe-core (bundled with axe-playwright-python, no CDN) finds no violation."""
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture
def screens_world(transactional_db: None) -> dict[str, Any]:
    baseline_install()
    groups = roles_sync()
    make_lens([groups[CommitteeRole.AGENT], groups[CommitteeRole.DATA_STEWARD]])
    silo = SiloFactory(code="service", name="Customer service")
    grace = CustomerFactory(
        given_name="Grace", family_name="Hopper", phone="+31612345678", locality="Utrecht"
    )
    fill_customer(grace, silo, interactions=3)
    CustomerFactory(given_name="Alan", family_name="Turing")
    consent_record(
        customer=grace,
        purpose="marketing",
        channel="email",
        status=ConsentStatus.GRANTED,
        capture_method=CaptureMethod.WEB_FORM,
        captured_via="web",
        actor=Actor.system("test", ActorChannel.COMMAND),
        reason="Signed up",
    )
    return {"grace": grace, "silo": silo}


@pytest.mark.django_db(transaction=True)
def test_agent_finds_a_misspelt_customer_logs_a_complaint_and_withdraws_consent(
    page: Page, live_server: Any, screens_world: dict[str, Any]
) -> None:
    role_user("agent-ada", CommitteeRole.AGENT)
    grace = screens_world["grace"]
    sign_in(page, live_server, "agent-ada", PASSWORD)

    # The search box has keyboard focus: typing goes straight into it.
    expect(page.get_by_label("Find a customer")).to_be_focused()
    page.keyboard.type("Grcae Hoppr")
    page.keyboard.press("Enter")
    result = page.get_by_role("link", name="Grace Hopper")
    expect(result).to_be_visible()
    expect(page.get_by_text("spelled differently").first).to_be_visible()
    assert_accessible(page)
    snap(page, "screens_search_misspelt")

    result.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Grace")
    expect(page.get_by_text(grace.customer_number).first).to_be_visible()
    timeline = page.locator("#timeline")
    expect(timeline.get_by_text("Contact 0")).to_be_visible()
    consent = page.locator("#consent")
    expect(consent.get_by_role("button", name="Review the change")).to_be_visible()
    assert_accessible(page)
    snap(page, "screens_card")

    # Log a complaint with the keyboard-usable form; the timeline updates in place.
    page.get_by_role("link", name="Log an interaction").click()
    form = page.locator("#log-panel")
    form.get_by_label("What it was about").select_option("complaint")
    form.get_by_label("Outcome").select_option("escalated")
    form.get_by_label("Customer's mood").select_option("-1")
    form.get_by_label("Note").fill("Boiler still broken after two visits")
    form.get_by_role("button", name="Save interaction").click()
    expect(form.get_by_role("status")).to_contain_text("Interaction logged: Complaint")
    expect(timeline.get_by_text("Boiler still broken after two visits")).to_be_visible()
    snap(page, "screens_complaint_logged")

    # Withdraw marketing consent: the confirmation says exactly what changes.
    expect(consent.locator("tbody tr", has_text="Marketing").locator("td").first).to_have_text(
        "Yes"
    )
    consent.get_by_label("Purpose").select_option("marketing")
    consent.get_by_label("Channel").select_option("email")
    consent.get_by_label("The customer").select_option("withdrawn")
    consent.get_by_label("Evidence").fill("REC-2026-0042")
    consent.get_by_role("button", name="Review the change").click()
    expect(consent.get_by_role("alert")).to_contain_text(
        "Marketing by E-mail from Granted to Withdrawn"
    )
    snap(page, "screens_consent_confirm")
    consent.get_by_role("button", name="Confirm the change").click()
    expect(consent.get_by_role("status")).to_contain_text("Granted → Withdrawn")
    expect(consent.locator("tbody tr", has_text="Marketing").locator("td").first).to_have_text("No")
    assert_accessible(page)
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_steward_merges_two_customers_and_unmerges_them(
    page: Page, live_server: Any, screens_world: dict[str, Any]
) -> None:
    role_user("steward-sam", CommitteeRole.DATA_STEWARD)
    candidate = MatchCandidateFactory(
        customer_a=CustomerFactory(given_name="Jan", family_name="Jansen"),
        customer_b=CustomerFactory(given_name="Johannes", family_name="Jansen"),
        explanation=[{"field": "given_name", "level": "nickname", "weight": 3.2}],
    )
    sign_in(page, live_server, "steward-sam", PASSWORD)

    page.get_by_role("link", name="Duplicate review queue").click()
    page.get_by_role("link", name="Jan Jansen").click()
    expect(page.get_by_role("cell", name="nickname")).to_be_visible()
    assert_accessible(page)
    snap(page, "screens_review_pair")
    page.get_by_label("Merge").check()
    page.get_by_label("Reason").fill("Nickname, same address")
    page.get_by_role("button", name="Record the decision").click()

    merged = candidate.customer_b.customer_number
    expect(page.get_by_role("heading", name="Where each value came from")).to_be_visible()
    unmerge = page.get_by_role("button", name=f"Unmerge {merged}")
    expect(unmerge).to_be_visible()
    snap(page, "screens_lineage_after_merge")
    page.get_by_label("Why undo this merge").fill("Father and son")
    unmerge.click()
    expect(page.get_by_text(f"Unmerged: {merged} is a customer of its own again.")).to_be_visible()
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_privacy_officer_opens_a_request(
    page: Page, live_server: Any, screens_world: dict[str, Any]
) -> None:
    role_user("privacy-pat", CommitteeRole.PRIVACY_OFFICER)
    dsr = DataSubjectRequestFactory(details="Please send me everything you hold")
    sign_in(page, live_server, "privacy-pat", PASSWORD)

    page.get_by_role("link", name="Data-subject requests").click()
    page.get_by_role("link", name=dsr.reference).click()
    expect(page.get_by_text("Please send me everything you hold")).to_be_visible()
    page.get_by_label("Reason (assign to me)").fill("Taking it")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Verifying identity")).to_be_visible()
    assert_accessible(page)
    snap(page, "screens_privacy_request")
    assert page.console_errors == []  # type: ignore[attr-defined]
