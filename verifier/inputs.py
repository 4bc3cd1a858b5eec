"""Reading a presented credential: JSON with an embedded proof, or a compact JWS (VC-JWT).

Untrusted input is bounded before it is parsed: 1 MiB, 64 levels of nesting, no duplicate
keys (a duplicate would let two readers see two different credentials). Once parsed, the
document (or a VC-JWT's payload) is held to the structural limits of :mod:`.limits` before
any JSON-LD processing starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, BinaryIO

from caiep.errors import EncodingError, InputError
from caiep.strictjson import MAX_DEPTH, exceeds_depth, loads_strict
from caiep.verifier.limits import LIMITS, LimitExceeded, check_limits

MAX_BYTES = 1_048_576
# The signature may be empty: an unsecured JWS (alg "none", RFC 7515 §A.5) is read, so that
# verification answers "invalid" (jws_alg_not_allowed) rather than "unreadable input".
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class Presented:
    """A credential as presented: ``format`` is "ldp" (JSON) or "jwt" (compact JWS)."""

    format: str
    credential: dict[str, Any] | None
    token: str | None = None


def parse_json(text: str, *, source: str = "input", max_bytes: int = MAX_BYTES) -> Any:
    """Bounded JSON parsing for untrusted documents; InputError says what is wrong and where.

    At most ``max_bytes`` (default :data:`MAX_BYTES`) of UTF-8 and the ``depth`` limit
    (:class:`LimitExceeded`), read by the strict reader (:mod:`caiep.strictjson`: no
    duplicate keys, no NaN or Infinity). A number Python refuses to convert (an integer of
    more than 4,300 digits) is InputError too.
    """
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InputError("not Unicode text", source=source, location=f"character {exc.start}") from exc
    if size > max_bytes:
        raise InputError(f"larger than {max_bytes} bytes", source=source)
    if exceeds_depth(text, LIMITS["depth"]):
        raise LimitExceeded("depth", maximum=LIMITS["depth"], source=source)
    try:
        return loads_strict(text, max_depth=MAX_DEPTH, source=source)
    except InputError:
        raise
    except ValueError as exc:  # int() past sys.get_int_max_str_digits(), and the like
        raise InputError("not valid JSON: a number beyond what can be read", source=source) from exc


def read_presented(data: bytes | str, *, source: str = "input", max_bytes: int = MAX_BYTES) -> Presented:
    """Decide what was presented and parse it. Raises InputError for unreadable input.

    A readable document over a structural limit (:mod:`.limits`) raises LimitExceeded, a
    subclass. ``max_bytes`` raises the size cap for a caller that chose to (``caiep verify
    --max-bytes``); the structural limits stay as they are.
    """
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise InputError(f"larger than {max_bytes} bytes", source=source)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("not UTF-8 text", source=source, location=f"byte {exc.start}") from exc
    else:
        text = data
    text = text.strip().lstrip("\ufeff")
    if not text:
        raise InputError("empty input", source=source)
    if text.startswith("{"):
        document = parse_json(text, source=source, max_bytes=max_bytes)
        if not isinstance(document, dict):
            raise InputError("a credential must be a JSON object", source=source)
        check_limits(document, source=source)
        return Presented("ldp", document)
    if text.startswith('"'):
        inner = parse_json(text, source=source, max_bytes=max_bytes)
        if isinstance(inner, str) and _COMPACT_JWS.match(inner.strip()):
            token = inner.strip()
            _check_jwt_payload(token, source)
            return Presented("jwt", None, token=token)
        raise InputError(
            "neither a JSON credential nor a compact JWS: a JSON string may hold only a JWS", source=source
        )
    if len(text) > max_bytes:
        raise InputError(f"larger than {max_bytes} bytes", source=source)
    if _COMPACT_JWS.match(text):
        _check_jwt_payload(text, source)
        return Presented("jwt", None, token=text)
    if text.startswith("["):
        raise InputError("a credential must be a JSON object, not an array", source=source)
    raise InputError("neither a JSON credential nor a compact JWS (VC-JWT)", source=source)


def read_bounded(stream: BinaryIO, max_bytes: int = MAX_BYTES, *, source: str = "input") -> bytes:
    """Read ``stream`` up to ``max_bytes``; InputError as soon as one byte more arrives.

    Never reads more than ``max_bytes + 1`` bytes, so an endless input (``/dev/zero``, a pipe
    that never closes after sending too much) is refused promptly.
    """
    pieces: list[bytes] = []
    remaining = max_bytes + 1
    while remaining > 0:
        piece = stream.read(min(remaining, 1 << 16))
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    if remaining <= 0:
        raise InputError(f"larger than {max_bytes} bytes", source=source)
    return b"".join(pieces)


def _check_jwt_payload(token: str, source: str) -> None:
    """Hold a VC-JWT's payload to the structural limits; an undecodable one is left to verify()."""
    from caiep.proofs.jose import decode_unverified

    try:
        _, payload = decode_unverified(token)
    except (EncodingError, InputError):
        return  # verification answers "invalid" for a token it cannot decode
    except ValueError as exc:  # an integer past what Python converts, inside the payload
        raise InputError("not valid JSON: a number beyond what can be read", source=source) from exc
    check_limits(payload, source=source)
