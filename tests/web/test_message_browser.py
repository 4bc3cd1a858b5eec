"""The holder's e-mail as a person sees it: its HTML part rendered by Debian's Chromium.

The message is composed, parsed back with the standard library's ``email`` parser, and its
HTML part loaded into a page whose every network request is recorded and refused: a message
that fetched anything (an image, a font, a tracking pixel) would fail. axe-core (WCAG 2.0/2.1 A
and AA, best practice) finds no violation; the text fits a phone's width; the two links point
where they should; a screenshot of each is kept in test-output/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from browser_support import VIEWPORTS

from caiep.wallet_export.messages import Notice, compose, make_message_id

AXE = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
RUN_AXE = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(results => ({
  violations: results.violations.map(v => ({
    id: v.id, help: v.help, targets: v.nodes.map(n => n.target.join(' ')),
  })),
  passes: results.passes.length,
}))"""
HOLDER_LINK = "https://credentials.caiep.example/h/Zq3v9X1yQ0bVwq7e8rTt6yUu5iIoOpPaAsSdDfFgGhH"
PAGE_URL = "https://credentials.caiep.example/c/0b7c5c1e-4a55-4c8e-9a1c-3f7e2d9b6a10"
NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)

CASES = {
    "award": ("award", "Zoë Ångström-Łukasiewicz", "current", None, None),
    "award-cjk": ("award", "张伟", "current", None, None),
    "revocation-arabic": ("revocation", "محمد الأحمد", "revoked", "Issued in error", None),
    "reminder-30": ("reminder-30", "Jane Doe", "current", None, 30),
}


def html_part(case: str) -> tuple[str, str]:
    """The subject and HTML part of the message for ``case``, as a mail client reads them."""
    event, name, state, reason, days_left = CASES[case]
    notice = Notice(
        event=event,
        recipient="holder@example.org",
        holder_name=name,
        charter_name="CAiEP® Charter",
        charter_number="CAIEP-000042",
        state=state,
        awarded=datetime(2026, 12, 1, tzinfo=UTC),
        valid_from=datetime(2026, 12, 1, tzinfo=UTC),
        valid_until=datetime(2031, 12, 1, tzinfo=UTC),
        public_reason=reason,
        page_url=PAGE_URL,
        issuer_name="CAiEP Certification Board",
        days_left=days_left,
    )
    data = compose(
        notice,
        holder_link=HOLDER_LINK,
        sender="CAiEP Registry <registry@caiep.example>",
        message_id=make_message_id(f"test:{case}", "credentials.caiep.example"),
        now=NOW,
    )
    message = message_from_bytes(data, policy=policy.default)
    html = message.get_body(("html",))  # type: ignore[attr-defined]
    assert html is not None
    return str(message["Subject"]), html.get_content()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in tests/interop (the test command does)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Any, viewport: str) -> Iterator[Any]:
    context = browser.new_context(**VIEWPORTS[viewport])
    yield context.new_page()
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_message_renders_accessibly_and_fetches_nothing(
    page: Any, viewport: str, case: str, axe_source: str, screenshots: Path
) -> None:
    subject, html = html_part(case)
    requested: list[str] = []

    def refuse(route: Any) -> None:
        requested.append(route.request.url)
        route.abort()

    page.route("**/*", refuse)
    page.set_content(html, wait_until="load")
    page.screenshot(path=screenshots / f"message-{case}-{viewport}.png", full_page=True)

    assert requested == []  # no image, font, style sheet or pixel: nothing leaves the reader's client
    assert page.title() == subject
    assert page.locator("h1").all_inner_texts() == [subject]
    assert page.evaluate("document.documentElement.lang") == "en"
    links = page.eval_on_selector_all("a", "links => links.map(a => [a.innerText, a.href])")
    assert links == [["Open your charter page", HOLDER_LINK], [PAGE_URL, PAGE_URL]]
    # Nothing wider than the screen: a phone reader never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    name = CASES[case][1]
    assert name in page.inner_text("main")

    page.add_script_tag(content=axe_source)
    results = page.evaluate(RUN_AXE, TAGS)
    assert results["passes"] > 0
    assert results["violations"] == [], f"axe-core on the {case} message at {viewport} size"
