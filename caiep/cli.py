"""The ``caiep`` command: set up an instance, issue charter credentials, verify any OB 3.0 credential.

Exit codes: 0 success (for ``verify``: the credential is valid); 1 the credential is invalid;
2 the input, flags or instance are unusable, or verification could not decide.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from caiep import registry_cli
from caiep.addresses import ServiceAddresses
from caiep.errors import CaiepError, ConfigurationError, InputError, KeyMaterialError
from caiep.issuer.charter import PATHWAYS, CharterAward
from caiep.issuer.issuance import FORMATS, serialize_json
from caiep.issuer.jobs import issue_one
from caiep.settings import check_issuer_url, default_home, read_passphrase
from caiep.verifier.inputs import read_presented
from caiep.verifier.report import render_text
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from caiep.wiring import Instance, did_document, init_instance, make_fetcher

EXIT_OK, EXIT_INVALID, EXIT_UNDECIDED = 0, 1, 2
_REGISTRY_COMMANDS = ("results", "sign", "credentials", "audit", "keys")


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _parse_now(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caiep", description="CAiEP® charter credentials (Open Badges 3.0)."
    )
    parser.add_argument(
        "--home", type=Path, default=None, help="instance directory (default: $CAIEP_HOME, else ./caiep-home)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser(
        "init", help="create an instance: settings, encrypted signing key, DID document"
    )
    init.add_argument("--issuer-name", required=True)
    init.add_argument("--issuer-url", required=True, help="public base URL, https://HOST")
    init.add_argument(
        "--did", choices=("web", "key"), default="web", help="issuer identifier method (default: web)"
    )

    issue = commands.add_parser("issue", help="sign one charter credential")
    issue.add_argument("--name", required=True, help="the holder's full name")
    issue.add_argument("--email", required=True, help="the holder's e-mail (stored only as a salted hash)")
    issue.add_argument("--exam-date", required=True, type=_parse_date, help="YYYY-MM-DD")
    issue.add_argument("--score", help="scaled examination score, 0-100")
    issue.add_argument("--exam-version")
    issue.add_argument("--pathway", choices=sorted(PATHWAYS))
    issue.add_argument("--format", choices=FORMATS, default="ldp")
    issue.add_argument("--out", type=Path, help="write here instead of standard output")

    check = commands.add_parser("verify", help="verify an OB 3.0 credential (JSON or VC-JWT)")
    check.add_argument("file", help="credential file, or - for standard input")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.add_argument("--now", type=_parse_now, help="verify as of this ISO 8601 time")
    check.add_argument(
        "--allow-http-base",
        metavar="http://127.0.0.1:PORT",
        help="fetch the issuer's https URLs from this local server (testing did:web and status lists)",
    )

    commands.add_parser("did", help="print the issuer's DID document")
    serve = commands.add_parser("serve", help="run the verification pages and API (development server)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--allow-http-base", metavar="http://127.0.0.1:PORT", help=argparse.SUPPRESS)
    registry_cli.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    home: Path = args.home or default_home()
    try:
        if args.command == "init":
            return _init(home, args)
        if args.command == "issue":
            return _issue(home, args)
        if args.command == "verify":
            return _verify(args)
        if args.command in _REGISTRY_COMMANDS:
            return registry_cli.run(home, args)
        if args.command == "serve":
            return _serve(home, args)
        if args.command == "did":
            instance = Instance(home)
            sys.stdout.write(serialize_json(did_document(instance.settings, instance.keys)))
            return EXIT_OK
    except (InputError, ConfigurationError, KeyMaterialError) as exc:
        # A wrong passphrase or unreadable key is an unusable instance (2), not an invalid credential (1).
        print(f"caiep: {exc}", file=sys.stderr)
        return EXIT_UNDECIDED
    except CaiepError as exc:
        print(f"caiep: {exc.message}", file=sys.stderr)
        return EXIT_INVALID
    raise AssertionError(args.command)


def _init(home: Path, args: argparse.Namespace) -> int:
    url = check_issuer_url(args.issuer_url)
    passphrase = read_passphrase(confirm=True)
    settings = init_instance(
        home,
        issuer_name=args.issuer_name,
        issuer_url=url,
        did_method=args.did,
        passphrase=passphrase,
        now=datetime.now(UTC),
    )
    print(f"Created {home} for {settings.issuer_name}, issuer {settings.issuer_id}")
    if settings.did_method == "web":
        print(f"Publish {home / 'did.json'} at {ServiceAddresses(url).did_document()}")
    return EXIT_OK


def _issue(home: Path, args: argparse.Namespace) -> int:
    instance = Instance(home)
    signer = instance.signer(read_passphrase(), format=args.format)
    award = CharterAward(
        name=args.name,
        email=args.email,
        exam_date=args.exam_date,
        charter_number="",
        score=args.score,
        exam_version=args.exam_version,
        pathway=args.pathway,
    )
    registry = instance.registry()
    try:
        issued = issue_one(registry, signer, award, now=datetime.now(UTC))
    finally:
        registry.dispose()
    if args.out:
        args.out.write_text(issued.document, encoding="utf-8")
        print(f"Wrote {issued.url} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(issued.document)
    return EXIT_OK


def _serve(home: Path, args: argparse.Namespace) -> int:
    from caiep.app import AppConfig, create_app
    from caiep.settings import database_url

    app = create_app(
        AppConfig(home=home, database_url=database_url(home), allow_http_base=args.allow_http_base)
    )
    print(
        f"Serving {home} on http://{args.host}:{args.port}/ (development server; use gunicorn in production)"
    )
    app.run(host=args.host, port=args.port, threaded=True)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    source = "standard input" if args.file == "-" else args.file
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=source) from exc
    presented = read_presented(data, source=source)
    result = verify(
        presented,
        now=args.now or datetime.now(UTC),
        fetcher=make_fetcher(allow_http_base=args.allow_http_base),
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(result))
    if result.outcome is Outcome.VALID:
        return EXIT_OK
    return EXIT_INVALID if result.outcome is Outcome.INVALID else EXIT_UNDECIDED


def run() -> int:
    """Console-script entry: main() with a closed pipe (``| head``) treated as a normal end."""
    try:
        return main()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(run())
