"""PNG badges: bake a credential into an ``iTXt`` chunk and read it back (OB 3.0 #png-baking).

One chunk walker serves both directions: every chunk up to ``IEND`` is read and its CRC
checked (PNG §5.3), so a truncated or damaged file is refused rather than half read. Baking
edits the file at the byte level: the credential chunk goes just before ``IEND``, any
credential chunk already there is dropped, and every other byte (anything after ``IEND``
included) is kept as is. Reading refuses an image with two credential chunks as ambiguous.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from caiep.baking.spec import (
    MAX_CHUNK_BYTES,
    MAX_IMAGE_BYTES,
    OB2_PNG_KEYWORD,
    OB3_PNG_KEYWORD,
    PNG_SIGNATURE,
    credential_bytes,
    only_credential,
)
from caiep.errors import InputError

# PNG §5.4: a chunk type is four ASCII letters.
_CHUNK_TYPE = re.compile(rb"[A-Za-z]{4}\Z")


@dataclass(frozen=True)
class Chunk:
    """One PNG chunk (PNG §5.3): its type, its data, where it starts and its place in the file."""

    type: bytes
    data: bytes
    offset: int
    index: int

    @property
    def end(self) -> int:
        """The offset just past the chunk's CRC."""
        return self.offset + 12 + len(self.data)

    @property
    def where(self) -> str:
        """The chunk's place, for error locations: "chunk 3 (iTXt) at byte 120"."""
        return f"chunk {self.index} ({self.type.decode('ascii')}) at byte {self.offset}"

    @property
    def is_credential(self) -> bool:
        """True for an ``iTXt`` chunk with the OB 3.0 keyword."""
        return self.type == b"iTXt" and self.data.split(b"\0", 1)[0] == OB3_PNG_KEYWORD


def png_chunks(data: bytes, source: str | None = None) -> Iterator[Chunk]:
    """Every chunk after the signature up to and including IEND, each CRC-checked (PNG §5.3, §5.6).

    The caller has checked the signature. Bytes after IEND are not part of the datastream and
    are never read. Raises :class:`InputError` (with ``source`` and the chunk's place) for a
    truncated file, a bad chunk type, length or CRC, or a first chunk other than IHDR.
    """
    offset = len(PNG_SIGNATURE)
    index = 0
    while True:
        if offset == len(data):
            raise InputError("truncated PNG: the file ends before the IEND chunk", source=source)
        if offset + 8 > len(data):
            raise InputError(
                "truncated PNG: the file ends inside a chunk header", source=source, location=f"byte {offset}"
            )
        length, chunk_type = struct.unpack_from(">I4s", data, offset)
        if not _CHUNK_TYPE.match(chunk_type):
            raise InputError(
                f"corrupt PNG: {chunk_type!r} is not a chunk type", source=source, location=f"byte {offset}"
            )
        name = chunk_type.decode("ascii")
        where = f"chunk {index} ({name}) at byte {offset}"
        if length > MAX_CHUNK_BYTES:
            # Also covers lengths above 2**31 - 1, which PNG §5.3 forbids outright.
            raise InputError(
                f"the {name} chunk claims {length} bytes, more than the {MAX_CHUNK_BYTES} accepted",
                source=source,
                location=where,
            )
        end = offset + 12 + length
        if end > len(data):
            raise InputError(
                f"truncated PNG: the {name} chunk's length ({length} bytes) runs past the end of the file",
                source=source,
                location=where,
            )
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, offset + 8 + length)
        if zlib.crc32(body, zlib.crc32(chunk_type)) != crc:
            raise InputError(f"corrupt PNG: the {name} chunk fails its CRC", source=source, location=where)
        if index == 0 and chunk_type != b"IHDR":
            raise InputError(f"corrupt PNG: {name} comes before IHDR", source=source, location=where)
        yield Chunk(chunk_type, body, offset, index)
        if chunk_type == b"IEND":
            return
        offset = end
        index += 1


def bake_png(image: bytes, credential_text: str) -> bytes:
    """``image`` with the credential in one uncompressed ``openbadgecredential`` iTXt chunk.

    OB 3.0 #png-baking: keyword ``openbadgecredential``, compression flag 0, method 0, empty
    language tag and translated keyword, then the UTF-8 text (JSON or compact JWS). The chunk
    goes just before IEND; any ``openbadgecredential`` chunk already there is dropped, so the
    result has exactly one. Every other byte, including anything after IEND, is kept as is.
    Raises :class:`InputError` for an image that is not an intact PNG, or unusable text.
    """
    text = credential_bytes(credential_text)
    if len(image) > MAX_IMAGE_BYTES:
        raise InputError(f"the image is larger than {MAX_IMAGE_BYTES} bytes")
    if not image.startswith(PNG_SIGNATURE):
        raise InputError("not a PNG image: the PNG signature is missing")
    # keyword NUL, compression flag 0, method 0, language tag "" NUL, translated keyword "" NUL, text
    data = OB3_PNG_KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + text
    if len(data) > MAX_CHUNK_BYTES:
        raise InputError(f"the credential is too large to bake: more than {MAX_CHUNK_BYTES} bytes")
    parts = [PNG_SIGNATURE]
    end = len(PNG_SIGNATURE)
    for chunk in png_chunks(image):
        if chunk.is_credential:
            continue
        if chunk.type == b"IEND":
            parts.append(struct.pack(">I4s", len(data), b"iTXt"))
            parts.append(data)
            parts.append(struct.pack(">I", zlib.crc32(data, zlib.crc32(b"iTXt"))))
        parts.append(image[chunk.offset : chunk.end])
        end = chunk.end
    parts.append(image[end:])
    baked = b"".join(parts)
    if len(baked) > MAX_IMAGE_BYTES:
        raise InputError(f"the baked image would be larger than {MAX_IMAGE_BYTES} bytes")
    return baked


def read_png(data: bytes, source: str | None = None) -> str:
    """The credential text baked into a PNG (OB 3.0 #png-extracting), exactly as baked.

    The whole datastream is walked even after the credential is found: the spec lets a
    reader stop there, but a file damaged further on is not one to vouch for, and a second
    credential chunk makes the image ambiguous. Raises :class:`InputError` for a damaged
    PNG, a compressed or malformed credential chunk, two credential chunks, an Open Badges
    2.0 badge, or no credential at all.
    """
    credentials: list[Chunk] = []
    legacy = False
    for chunk in png_chunks(data, source):
        if chunk.is_credential:
            credentials.append(chunk)
        elif chunk.type in (b"iTXt", b"tEXt") and chunk.data.split(b"\0", 1)[0] == OB2_PNG_KEYWORD:
            legacy = True
    return _itxt_text(only_credential(credentials, legacy=legacy, source=source), source)


def _itxt_text(chunk: Chunk, source: str | None) -> str:
    """The text of an ``openbadgecredential`` iTXt chunk (PNG §11.3.4.5, OB 3.0 #png-baking).

    Layout after the keyword's NUL: compression flag, compression method, language tag NUL,
    translated keyword NUL, then UTF-8 text up to the end of the chunk.
    """
    rest = chunk.data[len(OB3_PNG_KEYWORD) + 1 :]
    if len(rest) < 2:
        raise InputError("malformed iTXt chunk: it ends at the keyword", source=source, location=chunk.where)
    flag = rest[0]
    if flag == 1:
        raise InputError(
            "the openbadgecredential iTXt chunk is compressed; Open Badges 3.0 forbids compression",
            source=source,
            location=chunk.where,
        )
    if flag != 0:
        raise InputError(
            f"malformed iTXt chunk: compression flag {flag} is neither 0 nor 1",
            source=source,
            location=chunk.where,
        )
    fields = rest[2:].split(b"\0", 2)
    if len(fields) != 3:
        raise InputError(
            "malformed iTXt chunk: the language tag or translated keyword is not NUL-terminated",
            source=source,
            location=chunk.where,
        )
    try:
        text = fields[2].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            "the openbadgecredential iTXt text is not UTF-8", source=source, location=chunk.where
        ) from exc
    if not text.strip():
        raise InputError("the baked credential is empty", source=source, location=chunk.where)
    return text
