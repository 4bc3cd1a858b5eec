"""Set-up and single credentials: ``init``, ``issue``, ``did``, ``serve`` and ``db upgrade``."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from caiep.commands.common import (
    DATE,
    EXIT_OK,
    FILE_PATH,
    FORMATS,
    PATHWAYS,
    Invocation,
    pass_invocation,
)


@click.command("init", short_help="Create an instance: settings, key, DID document.")
@click.option("--issuer-name", required=True)
@click.option("--issuer-url", required=True, help="public base URL, https://HOST")
@click.option(
    "--did",
    "did_method",
    type=click.Choice(("web", "key")),
    default="web",
    show_default=True,
    help="issuer identifier method",
)
@pass_invocation
def init(invocation: Invocation, issuer_name: str, issuer_url: str, did_method: str) -> int:
    """Create an instance: settings, encrypted signing key, DID document, registry."""
    from datetime import UTC, datetime

    from caiep.addresses import ServiceAddresses
    from caiep.settings import check_issuer_url, read_passphrase
    from caiep.wiring import init_instance, init_lock, upgrade_configured_database

    home = invocation.home
    url = check_issuer_url(issuer_url)
    configuration = invocation.configuration()  # a bad setting stops init before it writes anything
    passphrase = read_passphrase(confirm=True)
    with init_lock(home):  # held until the registry is made: a concurrent init changes nothing
        settings = init_instance(
            home,
            issuer_name=issuer_name,
            issuer_url=url,
            did_method=did_method,
            passphrase=passphrase,
            now=datetime.now(UTC),
        )
        print(f"Created {home} for {settings.issuer_name}, issuer {settings.issuer_id}")
        if settings.did_method == "web":
            print(f"Publish {home / 'did.json'} at {ServiceAddresses(url).did_document()}")
        try:
            revision = upgrade_configured_database(configuration)
        except Exception:
            print(
                "The instance is made but its registry is not: fix it, then run 'caiep db upgrade'",
                file=sys.stderr,
            )
            raise
    print(f"Registry ready (schema revision {revision})")
    return EXIT_OK


@click.command("issue")
@click.option("--name", required=True, help="the holder's full name")
@click.option("--email", required=True, help="the holder's e-mail (stored only as a salted hash)")
@click.option("--exam-date", required=True, type=DATE, help="YYYY-MM-DD")
@click.option("--score", help="scaled examination score, 0-100")
@click.option("--exam-version")
@click.option("--pathway", type=click.Choice(PATHWAYS))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="ldp", show_default=True)
@click.option("--out", type=FILE_PATH, help="write here instead of standard output")
@pass_invocation
def issue(
    invocation: Invocation,
    name: str,
    email: str,
    exam_date: date,
    score: str | None,
    exam_version: str | None,
    pathway: str | None,
    fmt: str,
    out: Path | None,
) -> int:
    """Sign one charter credential."""
    from datetime import UTC, datetime

    from caiep.issuer.charter import CharterAward
    from caiep.issuer.jobs import issue_one
    from caiep.settings import read_passphrase

    instance = invocation.instance()
    signer = instance.signer(read_passphrase(), format=fmt)
    award = CharterAward(
        name=name,
        email=email,
        exam_date=exam_date,
        charter_number="",
        score=score,
        exam_version=exam_version,
        pathway=pathway,
    )
    with instance.registry() as registry:
        issued = issue_one(registry, signer, award, now=datetime.now(UTC))
    if out:
        out.write_text(issued.document, encoding="utf-8")
        print(f"Wrote {issued.url} to {out}", file=sys.stderr)
    else:
        sys.stdout.write(issued.document)
    return EXIT_OK


@click.command("did")
@pass_invocation
def did(invocation: Invocation) -> int:
    """Print the issuer's DID document."""
    from caiep.issuer.issuance import serialize_json
    from caiep.wiring import did_document

    instance = invocation.instance()
    sys.stdout.write(serialize_json(did_document(instance.settings, instance.keys)))
    return EXIT_OK


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--allow-http-base", metavar="http://127.0.0.1:PORT", hidden=True)
@pass_invocation
def serve(invocation: Invocation, host: str, port: int, allow_http_base: str | None) -> int:
    """Run the verification pages and API (development server)."""
    from caiep.accesslog import silence_werkzeug_requests
    from caiep.app import AppConfig, create_app

    config = AppConfig.from_configuration(invocation.configuration(), allow_http_base=allow_http_base)
    app = create_app(config, log_requests=True)
    silence_werkzeug_requests()
    home = invocation.home
    print(f"Serving {home} on http://{host}:{port}/ (development server; use gunicorn in production)")
    app.run(host=host, port=port, threaded=True)
    return EXIT_OK


@click.group("db")
def db() -> None:
    """The registry database's schema."""


@db.command("upgrade")
@pass_invocation
def db_upgrade(invocation: Invocation) -> int:
    """Apply the registry's migrations to the configured database; give an instance made before
    receipts the verification service's own key."""
    from datetime import UTC, datetime

    from caiep.verifierkey import create_verifier_key
    from caiep.wiring import upgrade_configured_database

    configuration = invocation.configuration()
    revision = upgrade_configured_database(configuration)
    print(f"registry at schema revision {revision}")
    if configuration.has_file and create_verifier_key(configuration, now=datetime.now(UTC)) is not None:
        print(f"made the verification service's key for signed receipts in {configuration.home}")
    return EXIT_OK
