"""Baked badges read by others: credentials issued with ``caiep`` (the installed command, in a
temporary instance), baked into the charter badge, written as files and unbaked again are
verified by Digital Bazaar's ``@digitalbazaar/vc`` (the JSON form, its status list included)
and by ``jose`` (the VC-JWT form's signature and claims) — the text a wallet unbakes is the text
that was signed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from caiep.baking import extract_credential
from caiep.keys.did import resolve_did_key
from caiep.keys.ed25519 import PublicKey
from caiep.wallet_export.baked import baked_png, baked_svg
from caiep.wiring import Instance
from node import run_node

ISSUER_URL = "https://credentials.caiep.example"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.interop
HOLDER = ["--name", "Zoë Ångström-Núñez", "--email", "zoe@example.org", "--exam-date", "2025-01-15"]


def _caiep(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "caiep"), *args], env=environment, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both forms issued by the CLI, each baked into a PNG and an SVG file and read back."""
    folder = tmp_path_factory.mktemp("baked")
    home = folder / "home"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    environment["CAIEP_KEY_PASSPHRASE"] = secrets.token_urlsafe(18)
    made = _caiep(environment, "--home", str(home), "init", "--issuer-name", "CAiEP Board", "--issuer-url",
                  ISSUER_URL, "--did", "key")  # fmt: skip
    assert made.returncode == 0, made.stderr
    stored = {}
    for fmt in ("ldp", "jwt"):
        path = folder / f"credential.{fmt}"
        issued = _caiep(
            environment, "--home", str(home), "issue", *HOLDER, "--format", fmt, "--out", str(path)
        )
        assert issued.returncode == 0, issued.stderr
        stored[fmt] = path.read_text(encoding="utf-8")
    unbaked = {}
    for fmt, text in stored.items():
        png, svg = folder / f"badge-{fmt}.png", folder / f"badge-{fmt}.svg"
        png.write_bytes(baked_png(text))
        svg.write_bytes(baked_svg(text).encode("utf-8"))
        unbaked[fmt] = [extract_credential(path.read_bytes(), filename=path.name) for path in (png, svg)]
    with Instance(home).registry() as registry:
        status_list = registry.status_list(1)
    assert status_list is not None
    return {"stored": stored, "unbaked": unbaked, "status_list": json.loads(status_list)}


def test_what_is_unbaked_is_what_was_stored(baked: dict[str, Any]) -> None:
    for fmt in ("ldp", "jwt"):
        for text in baked["unbaked"][fmt]:
            assert text.encode("utf-8") == baked["stored"][fmt].encode("utf-8")


def test_digital_bazaar_verifies_the_unbaked_json_credential(
    baked: dict[str, Any], contexts: dict[str, Any]
) -> None:
    credentials = [json.loads(text) for text in baked["unbaked"]["ldp"]]
    status_list = baked["status_list"]
    answer = run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "documents": {status_list["id"]: status_list},
            "credentials": credentials,
            "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    assert len(answer["results"]) == 2  # from the PNG and from the SVG
    for result in answer["results"]:
        assert (result["verified"], result["error"], result["proofVerified"]) == (True, None, True)
        [entry] = result["statuses"]
        assert (entry["checked"], entry["set"], entry["error"]) == (True, False, None)


def test_jose_verifies_the_unbaked_vc_jwt(baked: dict[str, Any]) -> None:
    tokens = [text.strip() for text in baked["unbaked"]["jwt"]]
    header = json.loads(_b64url(tokens[0].split(".")[0]))
    method = resolve_did_key(header["kid"])["verificationMethod"][0]
    jwk = {**PublicKey.from_multibase(method["publicKeyMultibase"]).to_jwk(), "kid": header["kid"]}
    answer = run_node(
        "jose.mjs", {"op": "verify", "tokens": tokens, "jwks": [jwk], "algorithms": ["EdDSA"], "typ": "JWT"}
    )
    assert len(answer["results"]) == 2
    for result in answer["results"]:
        assert (result["verified"], result["error"]) == (True, None)
        assert result["payload"]["credentialSubject"]["name"] == "Zoë Ångström-Núñez"
        assert result["payload"]["jti"] == result["payload"]["id"]


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
