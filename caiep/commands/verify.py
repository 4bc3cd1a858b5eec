"""``caiep verify``: check any OB 3.0 credential, JSON or VC-JWT, on its own or baked into a PNG
or SVG badge; the exit code is the answer.

This is the command people run most and the one that must start fast: it imports the
verifier and nothing of the issuer, the registry or the web service. With an instance
(``--home`` or ``CAIEP_HOME``) the issuer's own DID document is read from its did.json.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import click

from caiep.commands.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNDECIDED,
    MOMENT,
    Invocation,
    json_option,
    pass_invocation,
)

#: caiep.baking.MAX_IMAGE_BYTES, spelled here so that verifying a JSON file loads no image code.
_MAX_IMAGE_BYTES = 10 * 1_048_576
_SNIFF_BYTES = 512  # enough to tell an image from a credential, before deciding how much to read
LOCAL_NOTE = "issuer key read from this instance's did.json (not from the web)"


@click.command("verify")
@click.argument("file")
@json_option
@click.option("--now", type=MOMENT, help="verify as of this ISO 8601 time")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="read at most N bytes of the credential (default 1 MiB); larger input is refused",
)
@click.option(
    "--allow-http-base",
    metavar="http://127.0.0.1:PORT",
    help="fetch the issuer's https URLs from this local server (testing did:web and status lists)",
)
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="CREDENTIAL",
    help="for a signed receipt: say whether it is about this file's exact bytes",
)
@click.option(
    "--pdf",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="OUT",
    help="for a signed receipt that verifies: write its one-page printable copy (the signed JSON inside)",
)
@pass_invocation
def verify_command(
    invocation: Invocation,
    file: str,
    as_json: bool,
    now: datetime | None,
    max_bytes: int | None,
    allow_http_base: str | None,
    against: Path | None,
    pdf: Path | None,
) -> int:
    """Verify an OB 3.0 credential (JSON or VC-JWT), or the one baked into a PNG or SVG badge.

    FILE is the credential or a baked badge image (up to 10 MiB), or - for standard input.
    Exit 0 valid, 1 invalid, 2 cannot be decided (a fetch failed, or the check took longer
    than CAIEP_VERIFY_TIME_BUDGET seconds), unreadable, or refused (over the size cap or a
    structural limit, or an image with no credential or two). With an instance (--home or
    CAIEP_HOME), its issuer's DID document is read from its did.json, and its own status
    lists from its registry.

    A signed verification receipt (from a verification page or the API) is recognised: the
    command says what it proves (a check made at that time, not that a charter is current now)
    and, with --against CREDENTIAL, whether it is about that file's exact bytes; --pdf OUT
    writes its printable copy (a bulk check's, say, which the API gives as JSON only).
    """
    import json
    from datetime import UTC

    from caiep.errors import InputError
    from caiep.trust import verifier_fetcher
    from caiep.verifier.budget import Deadline
    from caiep.verifier.inputs import MAX_BYTES, read_presented
    from caiep.verifier.limits import LimitExceeded
    from caiep.verifier.report import printable, render_text
    from caiep.verifier.result import Outcome
    from caiep.verifier.verify import verify

    source = "standard input" if file == "-" else file
    cap = max_bytes or MAX_BYTES
    image: str | None = None  # "PNG" or "SVG" when the credential came out of a baked badge
    try:
        if file == "-":
            data = _read_input(sys.stdin.buffer, cap, source)
        else:
            with Path(file).open("rb") as stream:
                data = _read_input(stream, cap, source)
        image = _image_kind(data)
        if image is not None:  # OB 3.0 "Baked Badge": exactly one credential, read as baked
            from caiep.baking import extract_credential

            presented = read_presented(
                extract_credential(data, filename=source), source=source, max_bytes=cap
            )
        else:
            presented = read_presented(data, source=source, max_bytes=cap)
    except OSError as exc:
        print(printable(f"caiep: {source}: cannot read: {exc.strerror}"), file=sys.stderr)
        return EXIT_UNDECIDED
    except LimitExceeded as exc:
        print(printable(f"caiep: refused: {exc}"), file=sys.stderr)
        return EXIT_UNDECIDED
    except InputError as exc:
        hint = " (raise the cap with --max-bytes)" if exc.message.startswith("larger than") else ""
        print(printable(f"caiep: {exc}{hint}"), file=sys.stderr)
        return EXIT_UNDECIDED
    home = _instance_home(invocation)
    receipt = _as_receipt(presented) if image is None else None
    if receipt is not None:
        from caiep.commands.receiptcheck import verify_receipt_file

        fetcher = verifier_fetcher(home, allow_http_base=allow_http_base)
        return verify_receipt_file(
            receipt, home=home, fetcher=fetcher, against=against, as_json=as_json, pdf=pdf
        )
    if against is not None or pdf is not None:
        option = "--against" if against is not None else "--pdf"
        print(f"caiep: {option} is for a signed receipt; this is not one", file=sys.stderr)
        return EXIT_UNDECIDED

    def read_list(number: int) -> str | None:  # our own status lists, from the registry, when asked
        with invocation.instance().registry() as registry:
            return registry.status_list(number)

    fetcher = verifier_fetcher(home, allow_http_base=allow_http_base, read_list=read_list)
    deadline = Deadline(_time_budget(home))
    result = verify(presented, now=now or datetime.now(UTC), fetcher=fetcher, deadline=deadline)
    if as_json:
        report = result.to_json()
        if image is not None:
            report["bakedImage"] = {"format": image.lower(), "file": source}
        if home is not None:
            report["localIssuerDocument"] = {
                "path": str(home / "did.json"),
                "used": bool(fetcher.served_locally),
            }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_text(result))
        if image is not None:
            print("\n  " + printable(f"credential read from the baked {image} badge {source}"))
        if fetcher.served_locally:
            print(f"\n  {LOCAL_NOTE}")
    if result.outcome is Outcome.VALID:
        return EXIT_OK
    return EXIT_INVALID if result.outcome is Outcome.INVALID else EXIT_UNDECIDED


def _as_receipt(presented: object) -> dict[str, Any] | None:
    """The presented document when it is typed as a verification receipt, else None."""
    from caiep.verifier.receipts import is_receipt

    credential = getattr(presented, "credential", None)
    return credential if isinstance(credential, dict) and is_receipt(credential) else None


def _read_input(stream: BinaryIO, cap: int, source: str) -> bytes:
    """The file's bytes: at most ``cap`` for a credential, up to 10 MiB for a badge image.

    The first bytes decide, so a long text input is refused at ``cap`` without reading further.
    """
    from caiep.errors import InputError
    from caiep.verifier.inputs import read_bounded

    head = stream.read(_SNIFF_BYTES)
    limit = max(cap, _MAX_IMAGE_BYTES) if _image_kind(head) else cap
    if len(head) > limit:
        raise InputError(f"larger than {limit} bytes", source=source)
    try:
        return head + read_bounded(stream, limit - len(head), source=source)
    except InputError as exc:
        raise InputError(f"larger than {limit} bytes", source=source) from exc


def _image_kind(data: bytes) -> str | None:
    """ "PNG" or "SVG" when ``data`` is an image, None for a credential (JSON or compact JWS).

    Decided by content (a JSON credential starts with ``{``, a JWS with base64url, an image with
    the PNG signature or with ``<``): a damaged PNG or a truncated signature still counts as a
    PNG, so that the codec names what is wrong with it.
    """
    if data[:1] == b"\x89":  # the PNG signature's first byte (PNG §5.2); never text
        return "PNG"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 (XML 1.0 Appendix F): an SVG, or refused text
        text = data[:_SNIFF_BYTES].decode("utf-16", errors="replace")
        return "SVG" if text.lstrip("\ufeff \t\r\n").startswith("<") else None
    return "SVG" if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else None


def _time_budget(home: Path | None) -> float:
    """``verify_time_budget``: the instance's setting, else the environment's, else the default."""
    from caiep.settings import environment_value, read_configuration

    if home is not None:
        return read_configuration(home).require("verify_time_budget", float)
    return float(environment_value("verify_time_budget"))


def _instance_home(invocation: Invocation) -> Path | None:
    """The instance whose did.json to trust: only one the user named, and only if it is one."""
    if not invocation.has_chosen_home():
        return None
    home = invocation.home
    if not (home / "settings.json").is_file():
        print(
            f"caiep: {home} is not an instance directory; the issuer's DID document is fetched as usual",
            file=sys.stderr,
        )
        return None
    return home
