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
