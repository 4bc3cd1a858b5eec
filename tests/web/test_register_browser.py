"""The public register in Debian's Chromium against gunicorn, at desktop and phone sizes: an
employer types a name into the form and reads the answer; every state of the page (the bare
form, a match, a revocation with its reason, no match, a refused query) passes axe-core with no
violation and fits a phone's width."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import VIEWPORTS
from test_accessibility import AXE, assert_no_violations

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

HEADING = "Public register of CAiEP® charter holders"


@pytest.fixture(scope="module")
def listed(issued: Issued) -> dict[str, str]:
    """Two charters on the served instance, one of them revoked: their charter numbers by name."""
    import lifecycle_support

    from caiep.issuer.charter import CharterAward
    from caiep.issuer.jobs import issue_one
    from caiep.issuer.records import charter_number
    from caiep.issuer.registry import open_registry
    from caiep.wiring import Instance

    now = datetime.now(UTC)
    signer = Instance(issued.home).signer(issued.passphrase)
    exam = (now - timedelta(days=120)).date()
    with open_registry(issued.database_url) as registry:
        zoe = issue_one(
            registry,
            signer,
            CharterAward("Zoë Ångström", "zoe.register@example.org", exam, ""),
            now=now,
        )
        rob = issue_one(
            registry,
            signer,
            CharterAward("Róbert Ravasz", "robert.register@example.org", exam, ""),
            now=now - timedelta(days=100),
        )
        lifecycle_support.change_state(
            registry, signer, rob, "revoked", "Charter withdrawn after a hearing", now
        )
    return {"Zoë Ångström": charter_number(zoe.holder_id), "Róbert Ravasz": charter_number(rob.holder_id)}


@pytest.mark.browser
def test_an_employer_searches_the_register(
    browser: Any,
    listed: dict[str, str],
    serve_instance: Callable[..., LiveServer],
    screenshots: Path,
) -> None:
    server = serve_instance(
        "register", CAIEP_REGISTER_RATE_PER_10_SECONDS="1000", CAIEP_REGISTER_RATE_PER_MINUTE="1000"
    )
    axe_source = AXE.read_text(encoding="utf-8")
    for viewport in sorted(VIEWPORTS):
        context = browser.new_context(bypass_csp=True, **VIEWPORTS[viewport])
        page = context.new_page()
        try:
            response = page.goto(f"{server.base_url}/register")
            assert (response.status, page.locator("h1").inner_text()) == (200, HEADING)
            assert_no_violations(page, axe_source, "register-form", screenshots, viewport)

            page.get_by_label("Full name").fill("zoe   ANGSTROM")
            with page.expect_navigation() as navigation:
                page.get_by_role("button", name="Search the register").click()
            assert navigation.value.status == 200
            assert page.locator("#results").inner_text() == "1 charter under zoe ANGSTROM"
            match = page.locator("article.match")
            assert match.locator("h3").inner_text() == "Zoë Ångström, CAiEP"
            assert listed["Zoë Ångström"] in match.inner_text()
            assert match.locator("p.standing").inner_text().startswith("Current until")
            verify = match.get_by_role(
                "link", name=f"Verify this charter of Zoë Ångström ({listed['Zoë Ångström']})"
            )
            assert verify.get_attribute("href").startswith("/c/")
            _fits(page, viewport)
            assert_no_violations(page, axe_source, "register-found", screenshots, viewport)
            with page.expect_navigation():
                verify.click()
            assert page.locator("h1").inner_text() == "Valid"  # the charter's verification page

            page.goto(f"{server.base_url}/register?name=robert+ravasz")
            standing = page.locator("article.match p.standing").inner_text()
            assert standing.startswith("Revoked on")
            assert "Reason: Charter withdrawn after a hearing" in standing
            assert page.locator("article.match h3").inner_text() == "Róbert Ravasz"  # no post-nominal
            _fits(page, viewport)
            assert_no_violations(page, axe_source, "register-revoked", screenshots, viewport)

            page.goto(f"{server.base_url}/register?name=Zo%C3%AB")
            assert page.locator("#results").inner_text() == "No listed charter holder under Zoë"
            assert_no_violations(page, axe_source, "register-none", screenshots, viewport)

            response = page.goto(f"{server.base_url}/register?number={listed['Zoë Ångström']}")
            assert response.status == 400
            assert (
                page.get_by_role("alert")
                .inner_text()
                .startswith("Cannot search: name: the full name is required")
            )
            assert page.get_by_label("Full name").get_attribute("aria-invalid") == "true"
            assert_no_violations(page, axe_source, "register-refused", screenshots, viewport)
        finally:
            context.close()
    log = server.log.read_text(errors="replace")
    assert "caiep.access GET /register 200 " in log
    assert "ngstr" not in log  # the names asked are never logged
    assert "ravasz" not in log.lower()


def _fits(page: Any, viewport: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["viewport"]["width"]
