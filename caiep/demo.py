"""``make demo``: a throwaway issuer on embedded defaults, from set-up to verified credentials.

Creates ``./demo-home`` afresh (its key passphrase is generated for this throwaway instance
only and kept in memory; the registry is SQLite inside it), issues a sample charter
credential in both formats, imports ``examples/results.csv`` and signs every pass in a job,
lists what the registry holds and checks its audit chain, exports the sample holder's
certificate, baked badge, QR code and LinkedIn link, writes the static copy of what the
credentials point at (``caiep publish``: DID document, status lists, badge) and serves it on
loopback as the issuer's host would. It starts ``caiep signer`` (given the passphrase, which
this process then drops) and asks it, as a holder's wallet would, for the sample credential
bound to a throwaway wallet's did:key. It verifies the sample credentials (the baked badge and
the wallet-bound copy too) through the published site, exactly as an employer's verifier does.
Last, it serves the verification pages on http://127.0.0.1:8000, the signer beside them, and
prints the link to a sample credential's page (``--no-serve`` skips that, for scripted runs).
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

from caiep.addresses import ServiceAddresses
from caiep.cli import main as cli

HOME = Path("demo-home")
EXAMPLE_RESULTS = Path(__file__).resolve().parents[1] / "examples" / "results.csv"


def _serve_site(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve the static copy ``caiep publish`` wrote (DID document, status lists, badge) on
    loopback, as the issuer's host would."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def run(*, serve: bool = True, port: int = 8000) -> int:
    """Run the demo from a fresh ./demo-home; 0 when every step succeeded, else 1."""
    if HOME.exists():
        shutil.rmtree(HOME)
    os.environ["CAIEP_KEY_PASSPHRASE"] = secrets.token_urlsafe(24)
    home = ["--home", str(HOME)]
    issue = [
        *home,
        "issue",
        "--name",
        "Jane Doe",
        "--email",
        "jane.doe@example.org",
        "--exam-date",
        date.today().isoformat(),
        "--score",
        "82",
        "--exam-version",
        "2026.1",
        "--pathway",
        "experience",
    ]
    steps = [
        [
            *home,
            "init",
            "--issuer-name",
            "CAiEP Certification Board (demo)",
            "--issuer-url",
            "https://credentials.caiep.example",
        ],
        [*issue, "--out", str(HOME / "jane-doe.credential.json")],
        [*issue, "--format", "jwt", "--out", str(HOME / "jane-doe.credential.jwt")],
        [*home, "results", "import", str(EXAMPLE_RESULTS)],
        [*home, "sign", "--workers", "2"],
        [*home, "credentials", "list"],
        [*home, "audit", "verify"],
        [
            *home,
            "export",
            "CAIEP-000001",
            "--pdf",
            str(HOME / "jane-doe.certificate.pdf"),
            "--baked-png",
            str(HOME / "jane-doe.badge.png"),
            "--qr",
            str(HOME / "jane-doe.qr.svg"),
            "--linkedin",
        ],
        [*home, "publish", "--out", str(HOME / "site")],
    ]
    for step in steps:
        print("$ caiep " + " ".join(step), flush=True)
        if cli(step) != 0:
            return 1
    signer = _start_signer()
    try:
        return _verify_and_serve(signer, serve=serve, port=port)
    finally:
        signer.terminate()
        signer.wait(timeout=30)


def _start_signer() -> subprocess.Popen[bytes]:
    """``caiep signer`` beside the web app, as in production: it alone is given the passphrase,
    which this process then forgets before it serves anything."""
    socket_path = HOME / "signer.sock"
    print(f"$ caiep --home {HOME} signer &", flush=True)
    command = [sys.executable, "-m", "caiep.cli", "--home", str(HOME), "signer"]
    process = subprocess.Popen(command)  # noqa: S603 - this interpreter, fixed arguments
    os.environ.pop("CAIEP_KEY_PASSPHRASE", None)
    deadline = time.monotonic() + 60
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("caiep signer did not start")
        time.sleep(0.05)
    return process


def _wallet_copy() -> Path:
    """Ask the signer for the sample credential bound to a throwaway wallet's did:key, as a
    holder's wallet does (OpenID4VCI, the Learner Credential Wallet); where it was written."""
    from caiep.keys.did import did_key_for
    from caiep.keys.ed25519 import SigningKey
    from caiep.signerclient import request_wallet_copy

    sample = json.loads((HOME / "jane-doe.credential.json").read_text(encoding="utf-8"))
    wallet = did_key_for(SigningKey.generate().public_key)
    copy = request_wallet_copy(
        HOME / "signer.sock",
        credential_id=str(sample["id"]).rsplit("/", 1)[1],
        subject=wallet,
        form="ldp",
        channel="openid4vci",
    )
    out = HOME / "jane-doe.wallet-copy.json"
    out.write_text(copy.document, encoding="utf-8")
    print(f"signer: the sample credential bound to the wallet {wallet} -> {out}", flush=True)
    return out


def _verify_and_serve(signer: subprocess.Popen[bytes], *, serve: bool, port: int) -> int:
    wallet_copy = _wallet_copy()
    server, base = _serve_site(HOME / "site")
    try:
        names = ("jane-doe.credential.json", "jane-doe.credential.jwt", "jane-doe.badge.png")
        for path in [*(HOME / name for name in names), wallet_copy]:
            args = ["verify", str(path), "--allow-http-base", base]
            print(f"$ caiep {' '.join(args)}", flush=True)
            if cli(args) != 0:
                return 1
    finally:
        server.shutdown()
    print(f"\nDemo instance in {HOME}/ (issued {datetime.now(UTC):%Y-%m-%d}); its passphrase was not kept.")
    if not serve:
        return 0
    from caiep.app import AppConfig, create_app
    from caiep.settings import read_configuration
    from caiep.wiring import Instance

    configuration = read_configuration(HOME)  # CAIEP_RATE_* and the rest apply here as in production
    with Instance(HOME, configuration).registry() as registry:
        sample = next(iter(registry.credentials()))
    app = create_app(AppConfig.from_configuration(configuration))
    page = ServiceAddresses(f"http://127.0.0.1:{port}").page(sample.credential_id)
    print(f"\nVerification pages: {page}  ({sample.holder_name})")
    print(
        f"Verify any credential: http://127.0.0.1:{port}/verify   JSON API: http://127.0.0.1:{port}/openapi.json"
    )
    print(f"Signer (process {signer.pid}): {HOME / 'signer.sock'}, the web app asks it for wallet copies")
    print("Press Ctrl-C to stop.", flush=True)
    app.run(host="127.0.0.1", port=port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(serve="--no-serve" not in sys.argv[1:]))
