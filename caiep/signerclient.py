"""Asking the signer (``caiep signer``) for a wallet-bound copy, over its Unix socket.

The web app never holds the issuer's key or passphrase: a wallet's request for its copy is
passed to the signer process, which alone signs. The wire protocol is one JSON object per
line, a request then its answer, on a fresh connection each time::

    → {"op": "wallet_copy", "credential_id": "<uuid>", "subject": "<did>",
       "form": "ldp" | "jwt", "channel": "openid4vci" | "lcw"}
    ← {"ok": true, "format": "ldp" | "jwt", "document": "<the exact stored text>"}
    ← {"ok": false, "error": "<one of ERRORS>", "message": "<a sentence>"}

A request with any other member or value is refused (``bad_request``), and so is a line longer
than :data:`MAX_REQUEST_BYTES`. The exceptions::

    CaiepError
    ├── SignerUnavailable   no answer: no socket, refused, timed out, or not an answer
    └── SignerRefused       the signer answered no: ``error`` (one of ERRORS) and ``message``

A :class:`SignerUnavailable` is temporary (the web answers 503 with ``Retry-After``): the signer
commits a copy before it answers, so a copy may be stored that the web never received, but no
copy goes out unrecorded.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from caiep.errors import CaiepError

#: The one operation: sign and store a copy bound to a wallet's DID.
WALLET_COPY: Final = "wallet_copy"
#: A request's members, all required, no others.
REQUEST_FIELDS: Final = frozenset({"op", "credential_id", "subject", "form", "channel"})
#: What a refusal names: the charter is suspended, revoked or lapsed; no charter has this id;
#: the request is malformed; this peer may not ask; the signer failed.
ERRORS: Final = ("not_current", "unknown_credential", "bad_request", "forbidden", "internal")
#: The longest request line the signer reads (its newline included).
MAX_REQUEST_BYTES: Final = 4096
#: The longest answer line the client reads: a signed credential is some kilobytes.
MAX_ANSWER_BYTES: Final = 1 << 20


class SignerUnavailable(CaiepError):
    """The signer could not be asked or did not answer: a temporary failure, nothing received."""

    code = "signer_unavailable"


class SignerRefused(CaiepError):
    """The signer refused the request; ``error`` is one of :data:`ERRORS`."""

    code = "signer_refused"

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class SignedCopy:
    """The wallet-bound copy the signer stored: ``ldp`` (JSON text) or ``jwt`` (compact JWS)."""

    format: str
    document: str


def request_wallet_copy(
    socket_path: Path,
    *,
    credential_id: str,
    subject: str,
    form: str,
    channel: str,
    timeout: float = 10.0,
) -> SignedCopy:
    """Ask the signer at ``socket_path`` to sign and store the copy of ``credential_id`` bound to
    ``subject`` (a did:key or did:jwk) in ``form``; within ``timeout`` seconds in all."""
    request = {
        "op": WALLET_COPY,
        "credential_id": credential_id,
        "subject": subject,
        "form": form,
        "channel": channel,
    }
    line = json.dumps(request, separators=(",", ":")).encode("utf-8") + b"\n"
    answer = exchange(socket_path, line, timeout=timeout)
    return _copy_of(answer)


def exchange(socket_path: Path, line: bytes, *, timeout: float) -> bytes:
    """Send one request line to the signer and return its answer line (for this client and for
    tests of the protocol's refusals); :class:`SignerUnavailable` when there is none."""
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(socket_path))
            connection.sendall(line)
            received = bytearray()
            while b"\n" not in received:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                connection.settimeout(remaining)
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
                if len(received) > MAX_ANSWER_BYTES:
                    raise SignerUnavailable(f"the signer's answer is longer than {MAX_ANSWER_BYTES} bytes")
    except FileNotFoundError:
        raise SignerUnavailable(f"the signer is not running (no socket {socket_path})") from None
    except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
        raise SignerUnavailable(f"the signer at {socket_path} is not accepting requests") from None
    except TimeoutError:
        raise SignerUnavailable(f"the signer at {socket_path} did not answer within {timeout:g} s") from None
    except PermissionError:
        raise SignerUnavailable(f"this user may not open the signer's socket {socket_path}") from None
    except OSError as exc:
        raise SignerUnavailable(f"the signer at {socket_path} cannot be reached ({exc.strerror})") from None
    if b"\n" not in received:
        raise SignerUnavailable("the signer closed the connection without an answer")
    return bytes(received[: received.index(b"\n")])


def _copy_of(answer: bytes) -> SignedCopy:
    try:
        parsed = json.loads(answer)
    except ValueError:
        raise SignerUnavailable("the signer's answer is not JSON") from None
    if not isinstance(parsed, dict):
        raise SignerUnavailable("the signer's answer is not a JSON object")
    if parsed.get("ok") is True:
        format, document = parsed.get("format"), parsed.get("document")
        if isinstance(format, str) and isinstance(document, str) and format and document:
            return SignedCopy(str(format), document)
        raise SignerUnavailable("the signer's answer has no format and document")
    error, message = parsed.get("error"), parsed.get("message")
    if parsed.get("ok") is False and error in ERRORS and isinstance(message, str):
        raise SignerRefused(str(error), message)
    raise SignerUnavailable("the signer's answer is not one the protocol knows")
