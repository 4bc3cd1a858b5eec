"""``make demo``: a throwaway issuer on embedded defaults, from set-up to verified credentials.

Creates ``./demo-home`` afresh (its key passphrase is generated for this throwaway instance
only and kept in memory; the registry is SQLite inside it), issues a sample charter
credential in both formats, imports ``examples/results.csv`` and signs every pass in a job,
lists what the registry holds and checks its audit chain, exports the sample holder's
certificate, baked badge, QR code and LinkedIn link, writes the static copy of what the
credentials point at (``caiep publish``: DID document, status lists, badge) and serves it on
loopback as the issuer's host would, and verifies the sample credentials (the baked badge too)
through it, exactly as an employer's verifier does. Last, it serves the verification pages on
http://127.0.0.1:8000 and prints the link to a sample credential's page (``--no-serve`` skips
that, for scripted runs).
"""

from __future__ import annotations

import http.server
import os
import secrets
import shutil
import sys
import threading
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
    server, base = _serve_site(HOME / "site")
    try:
        for name in ("jane-doe.credential.json", "jane-doe.credential.jwt", "jane-doe.badge.png"):
            args = ["verify", str(HOME / name), "--allow-http-base", base]
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
    print("Press Ctrl-C to stop.", flush=True)
    app.run(host="127.0.0.1", port=port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(serve="--no-serve" not in sys.argv[1:]))
