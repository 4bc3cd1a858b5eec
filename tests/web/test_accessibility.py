"""Every public page passes axe-core (WCAG 2.0/2.1 A and AA, and best practice) with no violation.

Each page is loaded once in Debian's Chromium against gunicorn, at desktop and phone sizes, and
axe-core (the version pinned in ``tests/interop/package-lock.json``, installed by ``npm ci``) is
injected by Playwright: the pages' Content-Security-Policy allows no script, so the test's
browser context bypasses it (the page itself is served unchanged). A POSTed page is loaded by
turning the navigation into the form's POST, so it too is a single page load.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import VIEWPORTS

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

AXE = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
RUN_AXE = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(results => ({
  violations: results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  })),
  passes: results.passes.length,
}))"""


@dataclass(frozen=True)
class Case:
    """One public page: how to reach it and what it must be (so axe judges the page meant)."""

    path: str
    status: int
    heading: str
    posted: str | None = None  # the form's ``credential`` field: the page is POST /verify's answer


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in tests/interop (the test command does)")
    return AXE.read_text(encoding="utf-8")


def other_issuers_credential() -> str:
    """A current credential of another issuer (a did:key, resolved without the network)."""
    from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
    from caiep.keys.did import did_key_for, verification_method_id
    from caiep.keys.ed25519 import SigningKey
    from caiep.proofs.dataintegrity import sign

    key = SigningKey.from_seed(bytes(range(40, 72)))
    issuer = did_key_for(key.public_key)
    base = "https://badges.other.example"
    profile = IssuerProfile(id=issuer, name="Other Badges Ltd", url=base, base_url=base)
    award = CharterAward("Ola Other", "ola@example.org", date(2025, 2, 14), "OTHER-7")
    now = datetime.now(UTC)
    unsigned = build_charter_credential(
        profile, award, credential_uuid="7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d", now=now, salt="ab" * 16
    )
    method = verification_method_id(issuer, key.public_key)
    return json.dumps(sign(unsigned, key, verification_method=method, created=now))


@pytest.fixture(scope="module")
def cases(issued: Issued, live_server: LiveServer, holder_link: Callable[..., str]) -> dict[str, Case]:
    import lifecycle_support

    changed = lifecycle_support.three_standings(
        issued.home, issued.database_url, issued.passphrase, datetime.now(UTC)
    )
    # Our credential pointed at an issuer whose keys cannot be fetched: the checks cannot finish.
    unreachable = issued.documents[issued.valid].replace(
        "did:web:credentials.caiep.example", "did:web:keys.caiep.invalid"
    )
    nested: Any = "deep"
    for _ in range(80):
        nested = [nested]
    return {
        "valid": Case(f"/c/{issued.valid}", 200, "Valid"),
        "expired": Case(f"/c/{issued.expired}", 200, "Expired"),
        "revoked": Case(f"/c/{changed['revoked'].credential_id}", 200, "Revoked"),
        "suspended": Case(f"/c/{changed['suspended'].credential_id}", 200, "Suspended"),
        "tampered": Case(f"/c/{issued.tampered}", 200, "Invalid"),
        "not-found": Case(f"/c/{issued.unknown}", 404, "Not found"),
        "holder": Case(f"/h/{holder_link(issued.valid)}", 200, "Jane Doe, CAiEP"),
        "holder-revoked": Case(f"/h/{holder_link(changed['revoked'].credential_id)}", 200, "Rita Revoked"),
        # the page once "Add to the Learner Credential Wallet" is pressed: its QR code and links
        "holder-lcw": Case(f"/h/{holder_link(issued.valid)}/lcw", 200, "Jane Doe, CAiEP", issued.valid),
        "holder-not-found": Case("/h/" + "A" * 43, 404, "Not found"),
        # the holder page's POST: a wallet offer, its QR code and PIN
        "holder-offer": Case(f"/h/{holder_link(issued.valid)}/oid4vci", 200, "Jane Doe, CAiEP", issued.valid),
        "certificate-gone": Case(f"/c/{changed['revoked'].credential_id}/certificate.pdf", 410, "Gone"),
        "verify-form": Case("/verify", 200, "Verify a credential"),
        "posted-valid": Case("/verify", 200, "Valid", issued.documents[issued.jwt]),
        "posted-renewed": Case("/verify", 200, "Renewed", changed["renewed"].document),
        "posted-tampered": Case("/verify", 200, "Invalid", issued.documents[issued.tampered]),
        "posted-unverifiable": Case("/verify", 200, "Cannot be verified", unreachable),
        "posted-other-issuer": Case("/verify", 200, "Valid", other_issuers_credential()),
        "posted-over-a-limit": Case("/verify", 422, "Verify a credential", json.dumps({"a": nested})),
        "posted-unreadable": Case("/verify", 400, "Verify a credential", "{not json"),
    }


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def axe_page(browser: Any, viewport: str) -> Iterator[Any]:
    context = browser.new_context(bypass_csp=True, **VIEWPORTS[viewport])
    yield context.new_page()
    context.close()


def load(page: Any, url: str, posted: str | None) -> Any:
    """Open ``url``; with ``posted``, as the form's POST of that credential (one navigation)."""
    if posted is None:
        return page.goto(url)
    body = urllib.parse.urlencode({"credential": posted})

    def as_post(route: Any) -> None:
        headers = {**route.request.headers, "content-type": "application/x-www-form-urlencoded"}
        route.continue_(method="POST", post_data=body, headers=headers)

    page.route(url, as_post)
    try:
        return page.goto(url)
    finally:
        page.unroute(url)


def assert_no_violations(page: Any, axe_source: str, name: str, screenshots: Path, viewport: str) -> None:
    page.screenshot(path=screenshots / f"axe-{name}-{viewport}.png", full_page=True)
    page.add_script_tag(content=axe_source)
    results = page.evaluate(RUN_AXE, TAGS)
    assert results["passes"] > 0  # axe ran its rules on this page
    found = "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']}\n    at {'; '.join(v['targets'])}"
        for v in results["violations"]
    )
    assert results["violations"] == [], f"axe-core on {name} at {viewport} size:\n{found}"


CASE_NAMES = [
    "valid",
    "expired",
    "revoked",
    "suspended",
    "tampered",
    "not-found",
    "holder",
    "holder-revoked",
    "holder-lcw",
    "holder-not-found",
    "holder-offer",
    "verify-form",
    "posted-valid",
    "posted-renewed",
    "posted-tampered",
    "posted-unverifiable",
    "posted-other-issuer",
    "posted-over-a-limit",
    "posted-unreadable",
]


@pytest.mark.browser
@pytest.mark.parametrize("name", CASE_NAMES)
def test_public_page_passes_axe(
    axe_page: Any,
    viewport: str,
    name: str,
    cases: dict[str, Case],
    live_server: LiveServer,
    axe_source: str,
    screenshots: Path,
) -> None:
    case = cases[name]
    response = load(axe_page, f"{live_server.base_url}{case.path}", case.posted)
    assert (response.status, axe_page.locator("h1").inner_text()) == (case.status, case.heading)
    assert_no_violations(axe_page, axe_source, name, screenshots, viewport)


@pytest.mark.browser
def test_too_many_requests_page_passes_axe(
    axe_page: Any,
    viewport: str,
    issued: Issued,
    serve_instance: Callable[..., LiveServer],
    axe_source: str,
    screenshots: Path,
) -> None:
    """One verification per 10 seconds for each of the two workers: the third POST is refused."""
    server = serve_instance(f"axe-429-{viewport}", CAIEP_RATE_PER_10_SECONDS="1")
    statuses = []
    for _ in range(3):
        statuses.append(load(axe_page, f"{server.base_url}/verify", "{not json").status)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, statuses
    assert axe_page.locator("h1").inner_text() == "Too many requests"
    assert_no_violations(axe_page, axe_source, "too-many-requests", screenshots, viewport)


@pytest.mark.browser
def test_axe_reports_what_it_is_asked_to(browser: Any, live_server: LiveServer, axe_source: str) -> None:
    """The same run on the form spoiled in three ways names all three: no page language, a field
    without its label, and a note too pale to read (so the stylesheet is judged too)."""
    context = browser.new_context(bypass_csp=True, **VIEWPORTS["desktop"])
    axe_page = context.new_page()
    axe_page.goto(f"{live_server.base_url}/verify")
    axe_page.evaluate(
        """() => {
             document.documentElement.removeAttribute('lang');
             document.querySelector('label[for=credential]').remove();
             document.querySelector('main > p').style.color = '#c8c8c8';
           }"""
    )
    axe_page.add_script_tag(content=axe_source)
    found = {v["id"] for v in axe_page.evaluate(RUN_AXE, TAGS)["violations"]}
    context.close()
    assert {"html-has-lang", "label", "color-contrast"} <= found, found
