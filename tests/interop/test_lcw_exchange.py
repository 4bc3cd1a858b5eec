"""The Learner Credential Wallet exchange, driven as LCW drives it (``lcw-wallet.mjs``: POST ``{}``,
sign a DID Authentication presentation with ``@digitalbazaar/vc`` and a did:key, POST it back)
against gunicorn and the real ``caiep signer``; the credential received verifies with
``@digitalbazaar/vc`` and names the wallet's DID. Every refusal issues nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lcw_support import (
    LcwSite,
    caiep,
    deep_link,
    fetch,
    holder_token,
    lcw_site,
    open_exchange,
    start_gunicorn,
    stop,
    vcapi_url,
)
from sqlalchemy import func, select, update

from caiep.issuer.tables import credential_copies, wallet_exchanges
from caiep.wiring import Instance
from node import run_node

pytestmark = pytest.mark.interop
SUITES = ("Ed25519Signature2020", "eddsa-rdfc-2022")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LcwSite]:
    with lcw_site(tmp_path_factory.mktemp("lcw")) as started:
        yield started


def wallet(site: LcwSite, contexts: dict[str, Any], url: str, suite: str, **options: Any) -> dict[str, Any]:
    """One run of the LCW-like client with a fresh wallet key."""
    payload = {
        "url": url,
        "origins": site.origins,
        "contexts": contexts,
        "seedHex": secrets.token_hex(32),
        "suite": suite,
        **options,
    }
    return run_node("lcw-wallet.mjs", payload)


def new_exchange(site: LcwSite, credential_id: str) -> str:
    status, page = open_exchange(site, holder_token(site, credential_id), credential_id)
    assert status == 200, page
    return vcapi_url(deep_link(page))


def wallet_copies(site: LcwSite) -> int:
    """How many copies the registry holds beyond the issued ones (the wallet-bound copies)."""
    with Instance(site.home).registry() as registry, registry.read() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(credential_copies)
                .where(credential_copies.c.channel == "lcw")
            ).scalar_one()
        )


def verify_with_digital_bazaar(site: LcwSite, contexts: dict[str, Any], credential: Any) -> dict[str, Any]:
    return run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "origins": site.origins,
            "credentials": [credential],
            "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )["results"][0]


@pytest.mark.parametrize("suite", SUITES)
def test_the_wallet_receives_a_copy_bound_to_its_did(
    site: LcwSite, contexts: dict[str, Any], suite: str
) -> None:
    credential_id = site.credential_ids[0]
    before = wallet_copies(site)
    url = new_exchange(site, credential_id)
    run = wallet(site, contexts, url, suite)
    request = run["request"]
    assert request["status"] == 200, request
    query = request["body"]["verifiablePresentationRequest"]
    assert query["query"][0]["type"] == "DIDAuthentication"
    assert query["domain"] == "https://credentials.caiep.example"
    [answer] = run["answers"]
    assert answer["status"] == 200, answer
    presentation = answer["body"]["verifiablePresentation"]
    assert presentation["type"] == "VerifiablePresentation"
    [credential] = presentation["verifiableCredential"]
    assert credential["credentialSubject"]["id"] == run["did"]
    assert credential["id"] == f"https://credentials.caiep.example/credentials/{credential_id}"
    result = verify_with_digital_bazaar(site, contexts, credential)
    assert result["verified"], result
    assert [s["set"] for s in result["statuses"]] == [False] * len(result["statuses"])
    assert wallet_copies(site) == before + 1


@pytest.mark.parametrize(
    ("tamper", "code"),
    [("challenge", "wrong_challenge"), ("domain", "wrong_domain"), ("after", "invalid_proof")],
)
def test_a_presentation_that_does_not_answer_this_exchange_is_refused(
    site: LcwSite, contexts: dict[str, Any], tamper: str, code: str
) -> None:
    before = wallet_copies(site)
    url = new_exchange(site, site.credential_ids[1])
    run = wallet(site, contexts, url, "Ed25519Signature2020", tamper=tamper)
    [answer] = run["answers"]
    assert answer["status"] == 400, answer
    assert answer["body"]["error"]["code"] == code
    assert "verifiableCredential" not in json.dumps(answer["body"])
    assert wallet_copies(site) == before
    # the exchange is still open to the real wallet
    assert wallet(site, contexts, url, "eddsa-rdfc-2022")["answers"][0]["status"] == 200


def test_an_exchange_is_used_once(site: LcwSite, contexts: dict[str, Any]) -> None:
    url = new_exchange(site, site.credential_ids[1])
    before = wallet_copies(site)
    run = wallet(site, contexts, url, "eddsa-rdfc-2022", repeat=True)
    first, replay = run["answers"]
    assert first["status"] == 200
    assert replay["status"] == 410
    assert replay["body"]["error"]["code"] == "exchange_used"
    again = wallet(site, contexts, url, "Ed25519Signature2020")  # another wallet, same link
    assert again["request"]["status"] == 410
    assert wallet_copies(site) == before + 1


def test_wallets_racing_on_one_exchange_get_one_copy(site: LcwSite, contexts: dict[str, Any]) -> None:
    url = new_exchange(site, site.credential_ids[2])
    before = wallet_copies(site)
    run = wallet(site, contexts, url, "Ed25519Signature2020", parallel=6)
    statuses = sorted(answer["status"] for answer in run["answers"])
    assert statuses[0] == 200
    assert statuses.count(200) == 1, run["answers"]
    codes = {answer["body"]["error"]["code"] for answer in run["answers"] if answer["status"] != 200}
    assert codes <= {"exchange_busy", "exchange_used"}
    assert wallet_copies(site) == before + 1


def test_an_expired_exchange_is_refused(site: LcwSite, contexts: dict[str, Any]) -> None:
    url = new_exchange(site, site.credential_ids[2])
    with Instance(site.home).registry() as registry, registry.write() as connection:
        connection.execute(
            update(wallet_exchanges)
            .where(wallet_exchanges.c.id_hash == hashlib.sha256(url.rsplit("/", 1)[1].encode()).hexdigest())
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    before = wallet_copies(site)
    run = wallet(site, contexts, url, "eddsa-rdfc-2022")
    assert run["request"]["status"] == 410
    assert run["request"]["body"]["error"]["code"] == "exchange_expired"
    assert wallet_copies(site) == before


def test_a_charter_revoked_after_the_exchange_opened_is_not_issued(
    site: LcwSite, contexts: dict[str, Any]
) -> None:
    credential_id = site.credential_ids[3]
    token = holder_token(site, credential_id)
    status, page = open_exchange(site, token, credential_id)
    assert status == 200
    # The page comes back whole: its register choice still posts to the holder's own address.
    assert f'<form method="post" action="/h/{token}/register">' in page
    url = vcapi_url(deep_link(page))
    revoked = caiep(
        site.environment, "--home", str(site.home), "revoke", credential_id, "--reason", "withdrawn"
    )
    assert revoked.returncode == 0, revoked.stderr
    before = wallet_copies(site)
    run = wallet(site, contexts, url, "Ed25519Signature2020")
    [answer] = run["answers"]
    assert answer["status"] == 403, answer
    assert answer["body"]["error"]["code"] == "not_current"
    assert wallet_copies(site) == before
    # and the page no longer opens one
    assert open_exchange(site, token, credential_id)[0] == 409


def test_bad_messages_get_clear_errors(site: LcwSite) -> None:
    url = new_exchange(site, site.credential_ids[0])
    target = site.base + url.removeprefix("https://credentials.caiep.example")

    def post(body: bytes) -> tuple[int, dict[str, Any]]:
        status, headers, answer = fetch(target, body, **{"Content-Type": "application/json"})
        assert headers["Cache-Control"] == "no-store"
        return status, json.loads(answer)

    status, answer = post(b"x" * 20_000)
    assert (status, answer["error"]["code"]) == (413, "too_large")
    assert post(b"[" * 50 + b"]" * 50)[1]["error"]["code"] == "invalid_json"
    assert post(b'{"a": 1, "a": 2}')[1]["error"]["code"] == "invalid_json"
    assert post(b"[]")[1]["error"]["code"] == "invalid_request"
    status, answer = post(b'{"zcap": []}')
    assert (status, answer["error"]["location"]) == (400, "/zcap")
    status, answer = post(b'{"verifiablePresentation": {"holder": "did:web:example.org"}}')
    assert status == 400
    assert answer["error"]["code"] == "invalid_presentation"
    status, answer = post(
        json.dumps(
            {
                "verifiablePresentation": {
                    "@context": ["https://www.w3.org/2018/credentials/v1"],
                    "type": "VerifiablePresentation",
                    "holder": "did:web:example.org",
                }
            }
        ).encode()
    )
    assert (status, answer["error"]["code"], answer["error"]["location"]) == (
        400,
        "invalid_holder",
        "/verifiablePresentation/holder",
    )
    unknown = fetch(f"{site.base}/exchanges/{'A' * 43}", b"{}", **{"Content-Type": "application/json"})
    assert unknown[0] == 404
    assert json.loads(unknown[2])["error"]["code"] == "unknown_exchange"
    assert fetch(f"{site.base}/exchanges/short", b"{}")[0] == 404
    # the log names the route, never an exchange's id
    assert url.rsplit("/", 1)[1] not in site.log.read_text(errors="replace")


def test_a_signer_that_cannot_be_reached_is_a_temporary_error(
    site: LcwSite, contexts: dict[str, Any], tmp_path: Any
) -> None:
    process, base = start_gunicorn(
        site.home, site.environment, tmp_path / "gunicorn.log", CAIEP_SIGNER_SOCKET=str(tmp_path / "no.sock")
    )
    try:
        url = new_exchange(
            LcwSite(site.home, base, site.environment, site.credential_ids, site.log), site.credential_ids[0]
        )
        before = wallet_copies(site)
        down = LcwSite(site.home, base, site.environment, site.credential_ids, site.log)
        [answer] = wallet(site=down, contexts=contexts, url=url, suite="eddsa-rdfc-2022")["answers"]
        assert answer["status"] == 503, answer
        assert answer["body"]["error"]["code"] == "temporarily_unavailable"
        assert wallet_copies(site) == before
    finally:
        stop(process)
    # the exchange stayed open: through the server whose signer answers, the wallet gets its copy
    assert wallet(site, contexts, url, "eddsa-rdfc-2022")["answers"][0]["status"] == 200


@pytest.fixture(scope="module")
def phone() -> Iterator[Any]:
    """Debian's headless Chromium at phone size."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: make test installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(**VIEWPORTS["phone"])
        yield context.new_page()
        context.close()
        browser.close()


@pytest.mark.browser
def test_the_holder_pages_qr_code_opens_an_exchange_the_wallet_completes(
    site: LcwSite, contexts: dict[str, Any], phone: Any
) -> None:
    import io

    import zxingcpp
    from PIL import Image

    credential_id = site.credential_ids[0]
    opened = phone.goto(f"{site.base}/h/{holder_token(site, credential_id)}")
    assert opened.status == 200
    with phone.expect_navigation():
        phone.get_by_role("button", name="Add to the Learner Credential Wallet").click()
    assert phone.locator("h3", has_text="Learner Credential Wallet").count() == 1
    drawn = phone.get_by_role("img", name="QR code: add your charter to the Learner Credential Wallet")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(drawn.screenshot())))
    assert [code.format for code in decoded] == [zxingcpp.BarcodeFormat.QRCode]
    [code] = decoded
    link = phone.get_by_role("link", name="Open in the Learner Credential Wallet").get_attribute("href")
    assert code.text == link
    custom = phone.get_by_role("link", name="the app's own link").get_attribute("href")
    assert custom == link.replace("https://lcw.app/request?", "dccrequest://request?")
    run = wallet(site, contexts, vcapi_url(code.text), "eddsa-rdfc-2022")
    [answer] = run["answers"]
    assert answer["status"] == 200, answer
    [credential] = answer["body"]["verifiablePresentation"]["verifiableCredential"]
    assert credential["credentialSubject"]["id"] == run["did"]
    assert verify_with_digital_bazaar(site, contexts, credential)["verified"]
