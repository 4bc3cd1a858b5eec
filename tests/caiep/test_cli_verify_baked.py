"""``caiep verify`` on baked badges: a PNG or SVG made from an issued credential verifies and says
it came from a baked image; an ambiguous, damaged, empty or Open Badges 2.0 image is refused
with exit 2, naming the file and what is wrong.

The credentials are issued with the CLI into a temporary instance (as in test_cli_verify.py);
the badges are baked with the product's own functions and read back by the command.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cli_support import HOLDER, init_issuer
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from caiep.verifier.fetch import MappingFetcher
from caiep.wallet_export.badge import badge_png
from caiep.wallet_export.baked import baked_png, baked_svg

if TYPE_CHECKING:
    from conftest import CLI


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network: the instance's did.json and registry are the only sources of trust."""
    monkeypatch.setattr("caiep.trust.make_fetcher", lambda *, allow_http_base: MappingFetcher({}))


@pytest.fixture
def stored(cli: CLI, home: Path, passphrase: str) -> dict[str, str]:
    """The stored text of one credential in each form, issued by the CLI into a did:web instance."""
    init_issuer(cli, "web")
    texts = {}
    for fmt in ("ldp", "jwt"):
        path = home / f"jane.{fmt}"
        assert cli("issue", *HOLDER, "--format", fmt, "--out", str(path)).code == 0
        texts[fmt] = path.read_text(encoding="utf-8")
    return texts


def _bake(tmp_path: Path, text: str, image: str) -> Path:
    path = tmp_path / f"badge.{image}"
    if image == "png":
        path.write_bytes(baked_png(text))
    else:
        path.write_text(baked_svg(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("image", ["png", "svg"])
@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
def test_a_baked_badge_verifies_and_says_where_the_credential_came_from(
    cli: CLI, stored: dict[str, str], offline: None, tmp_path: Path, fmt: str, image: str
) -> None:
    path = _bake(tmp_path, stored[fmt], image)
    run = cli("verify", str(path), "--json")
    assert run.code == 0, run.out + run.err
    report = json.loads(run.out)
    assert (report["verified"], report["status"], report["format"]) == (True, "valid", fmt)
    assert report["bakedImage"] == {"format": image, "file": str(path)}

    text = cli("verify", str(path))
    assert text.code == 0
    assert text.out.startswith("VALID\n")
    assert "held by Jane Doe, CAiEP" in text.out
    assert f"\n\n  credential read from the baked {image.upper()} badge {path}\n" in text.out


def test_a_baked_badge_on_standard_input_verifies(cli: CLI, stored: dict[str, str], offline: None) -> None:
    run = cli("verify", "-", "--json", stdin=baked_png(stored["jwt"]))
    assert run.code == 0, run.err
    assert json.loads(run.out)["bakedImage"] == {"format": "png", "file": "standard input"}


def test_a_tampered_baked_credential_is_invalid(
    cli: CLI, stored: dict[str, str], offline: None, tmp_path: Path
) -> None:
    tampered = stored["ldp"].replace("Jane Doe", "Jane Dough")
    run = cli("verify", str(_bake(tmp_path, tampered, "png")), "--json")
    assert run.code == 1
    assert json.loads(run.out)["verified"] is False


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _with_second_credential(png: bytes, text: str) -> bytes:
    """A PNG holding two openbadgecredential chunks (what our baking never writes)."""
    iend = png.rindex(b"IEND") - 4
    extra = _chunk(b"iTXt", b"openbadgecredential\x00\x00\x00\x00\x00" + text.encode("utf-8"))
    return png[:iend] + extra + png[iend:]


def _ob2_badge() -> bytes:
    info = PngInfo()
    info.add_itxt("openbadges", '{"type": "Assertion", "id": "https://example.org/assertions/1"}')
    buffer = io.BytesIO()
    Image.open(io.BytesIO(badge_png())).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _truncated(png: bytes) -> bytes:
    start = png.index(b"iTXtopenbadgecredential")
    return png[: start + 200]  # the file ends inside the credential chunk


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("two.png", lambda t: _with_second_credential(baked_png(t), t), "holds 2 baked credentials"),
        ("cut.png", lambda t: _truncated(baked_png(t)), "truncated PNG: the iTXt chunk's length"),
        ("plain.png", lambda t: badge_png(), "no Open Badges 3.0 credential is baked into this image"),
        ("ob2.png", lambda t: _ob2_badge(), "this is an Open Badges 2.0 badge"),
        (
            "two.svg",
            lambda t: baked_svg(t).replace("</svg>", f"<openbadges:credential verify='{t}'/></svg>").encode(),
            "holds 2 baked credentials",
        ),
        (
            "plain.svg",
            lambda t: b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "no Open Badges 3.0 credential",
        ),
    ],
)
def test_a_bad_image_is_refused_naming_the_file_and_the_fault(
    cli: CLI, stored: dict[str, str], offline: None, tmp_path: Path, name: str, make: object, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(make(stored["jwt"]))  # type: ignore[operator]
    for extra in ([], ["--json"]):
        run = cli("verify", str(path), *extra)
        assert run.code == 2, run.err
        assert run.out == ""
        assert run.err.startswith(f"caiep: {path}")
        assert message in run.err


def test_a_badge_image_may_be_larger_than_the_credential_cap(
    cli: CLI, stored: dict[str, str], offline: None, tmp_path: Path
) -> None:
    info = PngInfo()
    info.add_text("Comment", "x" * 2_000_000)  # a 2 MB ancillary chunk: the image is over 1 MiB
    buffer = io.BytesIO()
    Image.open(io.BytesIO(badge_png())).save(buffer, format="PNG", pnginfo=info)
    path = tmp_path / "large.png"
    path.write_bytes(baked_png(stored["ldp"], image=buffer.getvalue()))
    assert path.stat().st_size > 2_000_000
    run = cli("verify", str(path), "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["bakedImage"]["format"] == "png"
    big_json = tmp_path / "large.json"
    big_json.write_bytes(b"{" + b" " * 2_000_000 + b"}")
    refused = cli("verify", str(big_json))
    assert refused.code == 2
    assert refused.err == f"caiep: {big_json}: larger than 1048576 bytes (raise the cap with --max-bytes)\n"
