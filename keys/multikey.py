"""Multikey encodings of Ed25519 keys (Controlled Identifiers 1.0 §2.2.2, VC-DI-EdDSA §2.1.1),
and the P-256 public keys that wallets' did:key identifiers carry.

A public key is ``"z"`` + base58btc(``0xed 0x01`` ‖ 32 key bytes): multibase prefix ``z``
(base58btc) and the unsigned-varint multicodec header of ``ed25519-pub`` (0xed). The text is
48 characters long and always starts ``z6Mk``. A secret key is the 32-byte seed under the
``ed25519-priv`` header (0x1300, varint ``0x80 0x26``) and starts ``z3u2``. Any other prefix,
header or length is an error, never a guess.
"""

from __future__ import annotations

from caiep.errors import EncodingError
from caiep.keys.base58 import b58decode, b58encode

ED25519_PUB_HEADER = b"\xed\x01"
"""Varint of multicodec 0xed, ``ed25519-pub``."""
ED25519_PRIV_HEADER = b"\x80\x26"
"""Varint of multicodec 0x1300, ``ed25519-priv``."""
KEY_LENGTH = 32
P256_PUB_HEADER = b"\x80\x24"
"""Varint of multicodec 0x1200, ``p256-pub``: a wallet's did:key may carry a P-256 key (``zDn…``)."""
P256_COMPRESSED_LENGTH = 33

# NIST P-256 (SEC 2 §2.4.2): y² = x³ - 3x + b over the prime field p.
_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B

# A few codecs a wrong key is likely to carry, to name them in the error.
_KNOWN_CODECS = {
    0xED: "ed25519-pub",
    0xEC: "x25519-pub",
    0xE7: "secp256k1-pub",
    0x1200: "p256-pub",
    0x1201: "p384-pub",
    0x1205: "rsa-pub",
    0xEB: "bls12_381-g2-pub",
    0x1300: "ed25519-priv",
}


def encode_public_key(raw: bytes) -> str:
    """Return the ``publicKeyMultibase`` (``z6Mk…``) of a 32-byte Ed25519 public key."""
    if len(raw) != KEY_LENGTH:
        raise EncodingError(f"an Ed25519 public key is 32 bytes, not {len(raw)}", value=raw.hex())
    return "z" + b58encode(ED25519_PUB_HEADER + raw)


def decode_public_key(multibase: str) -> bytes:
    """Return the 32 raw bytes of an Ed25519 ``publicKeyMultibase`` (CID 1.0 §2.2.2).

    Raises :class:`~caiep.errors.EncodingError` unless the text has the ``z`` prefix, is
    valid base58btc, carries the ``ed25519-pub`` header and exactly 32 key bytes.
    """
    data = _decode_z(multibase, what="publicKeyMultibase", secret=False)
    _check_header(data, ED25519_PUB_HEADER, "ed25519-pub", multibase)
    if len(data) != len(ED25519_PUB_HEADER) + KEY_LENGTH:
        raise EncodingError(
            f"an Ed25519 public key is 32 bytes, not {len(data) - len(ED25519_PUB_HEADER)}",
            value=multibase,
        )
    return data[len(ED25519_PUB_HEADER) :]


def decode_p256_public_key(multibase: str) -> tuple[bytes, bytes]:
    """Return the affine coordinates (x, y; 32 bytes each, big-endian) of a P-256
    ``publicKeyMultibase``: the ``p256-pub`` header and a 33-byte compressed point (SEC 1 §2.3.4).

    Raises :class:`~caiep.errors.EncodingError` for any other header, a length other than 33, a
    prefix other than 02/03, or an x with no point on the curve.
    """
    data = _decode_z(multibase, what="publicKeyMultibase", secret=False)
    _check_header(data, P256_PUB_HEADER, "p256-pub", multibase)
    point = data[len(P256_PUB_HEADER) :]
    if len(point) != P256_COMPRESSED_LENGTH or point[0] not in (2, 3):
        raise EncodingError(
            "a P-256 multikey is a 33-byte compressed point (02 or 03, then x)", value=multibase
        )
    x = int.from_bytes(point[1:], "big")
    if x >= _P256_P:
        raise EncodingError("the P-256 point's x is not a field element", value=multibase)
    alpha = (pow(x, 3, _P256_P) - 3 * x + _P256_B) % _P256_P
    y = pow(alpha, (_P256_P + 1) // 4, _P256_P)  # p ≡ 3 (mod 4): the square root, if any
    if y * y % _P256_P != alpha:
        raise EncodingError("the P-256 point is not on the curve", value=multibase)
    if y % 2 != point[0] % 2:
        y = _P256_P - y
    return point[1:], y.to_bytes(32, "big")


def encode_secret_key(seed: bytes) -> str:
    """Return the ``secretKeyMultibase`` (``z3u2…``) of a 32-byte Ed25519 seed.

    Secret material: for tests and key import/export tools only, never for publication.
    """
    if len(seed) != KEY_LENGTH:
        raise EncodingError(f"an Ed25519 secret key is 32 bytes, not {len(seed)}")
    return "z" + b58encode(ED25519_PRIV_HEADER + seed)


def decode_secret_key(multibase: str) -> bytes:
    """Return the 32-byte seed of an Ed25519 ``secretKeyMultibase`` (CID 1.0 §2.2.2).

    Errors never carry the text itself, since it may be a real secret.
    """
    data = _decode_z(multibase, what="secretKeyMultibase", secret=True)
    _check_header(data, ED25519_PRIV_HEADER, "ed25519-priv", None)
    if len(data) != len(ED25519_PRIV_HEADER) + KEY_LENGTH:
        raise EncodingError(f"an Ed25519 secret key is 32 bytes, not {len(data) - len(ED25519_PRIV_HEADER)}")
    return data[len(ED25519_PRIV_HEADER) :]


def _decode_z(multibase: str, *, what: str, secret: bool) -> bytes:
    """Strip the multibase ``z`` prefix and decode the base58btc rest."""
    shown = None if secret else multibase
    if not isinstance(multibase, str) or not multibase.startswith("z"):
        raise EncodingError(f"{what} must be multibase base58btc (prefix 'z')", value=shown)
    try:
        return b58decode(multibase[1:])
    except EncodingError:
        # Re-raised without the cause: the cause quotes the text, which may be a secret.
        raise EncodingError(f"{what} is not valid base58btc", value=shown) from None


def _check_header(data: bytes, header: bytes, name: str, shown: str | None) -> None:
    """Raise unless ``data`` starts with the multicodec ``header``, naming what it has instead."""
    if data.startswith(header):
        return
    codec = _read_varint(data)
    found = _KNOWN_CODECS.get(codec, f"0x{codec:x}") if codec is not None else "no valid header"
    raise EncodingError(f"expected multicodec {name}, found {found}", value=shown)


def _read_varint(data: bytes) -> int | None:
    """Read the unsigned varint (multiformats unsigned-varint, at most 9 bytes) at the start."""
    value = 0
    for position, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * position)
        if not byte & 0x80:
            return value
    return None
