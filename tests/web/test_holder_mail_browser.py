"""The holder's link followed as she follows it: ``caiep mail send`` delivers the served
instance's award messages to a real SMTP server (aiosmtpd, STARTTLS, a throwaway CA), the HTML
part of the message Jane Doe received is opened in Chromium at phone size, and its "Open your
charter page" button is clicked. Requests for the issuer's public host are answered by the
instance's gunicorn (the link names the public host, the test serves it on loopback)."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import VIEWPORTS
from smtp_server import Received, SmtpServer, TestAuthority

if TYPE_CHECKING:
    from conftest import Issued, LiveServer


@pytest.fixture(scope="module")
def delivered(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> list[Received]:
    """The instance's pending messages, sent by ``caiep mail send`` as the operator runs it."""
    from conftest import BIN, server_environment

    authority = TestAuthority(tmp_path_factory.mktemp("mail-ca"))
    with SmtpServer(certificate=authority.issue()) as server:
        environment = server_environment(
            issued,
            CAIEP_SMTP_URL=server.url(),
            CAIEP_SMTP_CA_FILE=str(authority.ca_file),
            CAIEP_MAIL_FROM="CAiEP Registry <registry@credentials.caiep.example>",
        )
        sent = subprocess.run(
            [str(BIN / "caiep"), "--home", str(issued.home), "mail", "send"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        return server.received


@pytest.fixture
def phone(browser: Any, live_server: LiveServer, issued: Issued) -> Iterator[Any]:
    """A phone-sized page whose requests to the issuer's public host go to the live server;
    any other request is refused (a message loads nothing from anywhere)."""
    context = browser.new_context(**VIEWPORTS["phone"])
    elsewhere: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if not url.startswith(issued.issuer_url + "/"):
            elsewhere.append(url)
            route.abort()
            return
        local = live_server.base_url + url[len(issued.issuer_url) :]
        with urllib.request.urlopen(local, timeout=30) as response:
            route.fulfill(status=response.status, headers=dict(response.headers), body=response.read())

    context.route("**/*", route)
    page = context.new_page()
    page.elsewhere = elsewhere
    yield page
    context.close()


def _message_to(received: list[Received], recipient: str) -> EmailMessage:
    [data] = [r.data for r in received if r.recipients == (recipient,)]
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.browser
def test_the_button_in_the_received_message_opens_the_holders_page(
    phone: Any, issued: Issued, delivered: list[Received], screenshots: Path
) -> None:
    message = _message_to(delivered, "jane@example.org")
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    phone.set_content(html.get_content())
    button = phone.get_by_role("link", name="Open your charter page")
    href = button.get_attribute("href")
    assert href.startswith(f"{issued.issuer_url}/h/")

    with phone.expect_navigation() as navigation:
        button.click()
    response = navigation.value
    assert response.status == 200
    assert response.url == href
    assert phone.locator("h1").inner_text() == "Jane Doe, CAiEP"
    standing = phone.locator("section.charter p.standing").first.inner_text()
    assert standing.startswith("Current until")
    assert phone.locator('meta[name="robots"]').get_attribute("content") == "noindex"
    assert phone.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"]["viewport"]["width"]
    phone.screenshot(path=screenshots / "holder-from-message-phone.png", full_page=True)
    assert phone.elsewhere == []  # neither the message nor the page asked another host for anything
