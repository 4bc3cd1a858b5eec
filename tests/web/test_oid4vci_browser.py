"""The holder page's wallet offer in Chromium at phone size, against gunicorn with ``caiep
signer`` beside it: the holder presses the button, the offer's QR code (as Chromium draws it)
decodes with zxing-cpp to an ``openid-credential-offer://`` URI, and the OpenWallet Foundation's
client (``tests/interop/oid4vci-wallet.mjs``) completes it with the PIN shown as text, receiving
the copy bound to its own DID."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import zxingcpp
from browser_support import VIEWPORTS
from PIL import Image
from signer_support import running_signer

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

INTEROP = Path(__file__).resolve().parents[1] / "interop"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(**VIEWPORTS["phone"])
    page = context.new_page()
    yield page
    context.close()


def wallet(payload: dict[str, Any]) -> dict[str, Any]:
    """``node oid4vci-wallet.mjs`` with ``payload`` on stdin: its one JSON answer."""
    node = shutil.which("node")
    assert node is not None, "the wallet client needs Node.js"
    done = subprocess.run(
        [node, "oid4vci-wallet.mjs"], cwd=INTEROP, input=json.dumps(payload), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.browser
def test_the_holder_pages_offer_qr_code_is_completed_by_a_wallet(
    phone: Any, issued: Issued, live_server: LiveServer, holder_link: Callable[..., str], screenshots: Path
) -> None:
    response = phone.goto(f"{live_server.base_url}/h/{holder_link(issued.valid)}")
    assert response.status == 200
    phone.get_by_role("button", name="Make a wallet offer").click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "Jane Doe, CAiEP"
    phone.screenshot(path=screenshots / "holder-offer-phone.png", full_page=True)
    code = phone.get_by_role("img", name="QR code of your wallet offer: scan it with your wallet app")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(code.screenshot())))
    assert [c.format for c in decoded] == [zxingcpp.BarcodeFormat.QRCode]
    offer_uri = decoded[0].text
    assert offer_uri.startswith("openid-credential-offer://?credential_offer_uri=")
    assert (
        phone.get_by_role("link", name="open the offer in your wallet app").get_attribute("href") == offer_uri
    )
    pin = phone.locator("p.pin strong").inner_text()
    assert len(pin) == 6
    assert pin.isdigit()
    with running_signer(issued.home, {"CAIEP_KEY_PASSPHRASE": issued.passphrase}):
        answer = wallet(
            {
                "offer_uri": offer_uri,
                "tx_code": pin,
                "configuration_id": "CAiEP_ldp_vc",
                "key": "ed25519-did-key",
                "origins": {issued.issuer_url: live_server.base_url},
            }
        )
    assert answer["ok"], answer
    [item] = answer["credentials"]
    assert item["credential"]["credentialSubject"]["id"] == answer["did"]
    assert item["credential"]["id"] == json.loads(issued.documents[issued.valid])["id"]
