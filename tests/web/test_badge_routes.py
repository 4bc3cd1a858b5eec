"""The charter badge over HTTP: the fixed URLs every credential names, their content types, a
week's public cache with a strong ETag answered 304; and the verification upload, which unbakes,
refusing an image that carries two credentials.

Rendering is checked in Chromium by test_badge_browser.py.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from flask import Flask

from caiep.app import AppConfig, create_app
from caiep.wallet_export.badge import badge_png, badge_svg
from caiep.wallet_export.baked import baked_png, baked_svg
from support import unlimited_rates

if TYPE_CHECKING:
    from conftest import Issued

WEEK = "public, max-age=604800"


@pytest.fixture(scope="module")
def app(issued: Issued) -> Iterator[Flask]:
    app = create_app(
        AppConfig(home=issued.home, database_url=issued.database_url, rate_limits=unlimited_rates())
    )
    yield app
    app.extensions["caiep.registry"].dispose()


@pytest.mark.parametrize(
    ("path", "mimetype", "body"),
    [
        ("/achievements/caiep/badge.png", "image/png", badge_png),
        ("/achievements/caiep/badge.svg", "image/svg+xml", lambda: badge_svg().encode("utf-8")),
    ],
)
def test_the_badge_is_served_with_a_long_cache_and_an_etag(
    app: Flask, path: str, mimetype: str, body: object
) -> None:
    client = app.test_client()
    first = client.get(path)
    assert first.status_code == 200
    assert first.mimetype == mimetype
    assert first.data == body()  # type: ignore[operator]
    assert first.headers["Cache-Control"] == WEEK
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)  # strong: the SHA-256 of the bytes
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert (again.headers["ETag"], again.headers["Cache-Control"]) == (etag, WEEK)
    other = client.get(path, headers={"If-None-Match": '"0000"'})
    assert other.status_code == 200
    assert other.data == first.data


def test_every_worker_serves_the_same_etag(issued: Issued, app: Flask) -> None:
    second = create_app(
        AppConfig(home=issued.home, database_url=issued.database_url, rate_limits=unlimited_rates())
    )
    try:
        for path in ("/achievements/caiep/badge.png", "/achievements/caiep/badge.svg"):
            assert (
                app.test_client().get(path).headers["ETag"] == second.test_client().get(path).headers["ETag"]
            )
    finally:
        second.extensions["caiep.registry"].dispose()


def test_the_achievement_names_the_badge_the_service_serves(app: Flask) -> None:
    client = app.test_client()
    achievement = client.get("/achievements/caiep").get_json(force=True)
    image = urlsplit(achievement["image"]["id"])
    assert image.path == "/achievements/caiep/badge.png"
    served = client.get(image.path)
    assert (served.status_code, served.mimetype) == (200, "image/png")


def _two_credentials(png: bytes, text: str) -> bytes:
    data = b"openbadgecredential\x00\x00\x00\x00\x00" + text.encode("utf-8")
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    end = png.rindex(b"IEND") - 4
    return png[:end] + chunk + png[end:]


def test_the_upload_verifies_our_baked_badges(app: Flask, issued: Issued) -> None:
    document = issued.documents[issued.valid]
    for name, image in (
        ("badge.png", baked_png(document)),
        ("badge.svg", baked_svg(document).encode("utf-8")),
    ):
        answer = app.test_client().post(
            "/api/v1/verify", data={"file": (io.BytesIO(image), name)}, content_type="multipart/form-data"
        )
        assert answer.get_json()["verified"] is True, name


@pytest.mark.parametrize("image", ["png", "svg"])
def test_the_upload_refuses_an_image_with_two_credentials(app: Flask, issued: Issued, image: str) -> None:
    document = issued.documents[issued.valid]
    if image == "png":
        data = _two_credentials(baked_png(document), document)
    else:
        svg = baked_svg(document)
        data = svg.replace(
            "</svg>", "<openbadges:credential><![CDATA[{}]]></openbadges:credential></svg>"
        ).encode()
    upload = {"file": (io.BytesIO(data), f"two.{image}")}
    api = app.test_client().post("/api/v1/verify", data=upload, content_type="multipart/form-data")
    assert api.status_code == 400
    message = api.get_json()["error"]["message"]
    assert "holds 2 baked credentials" in message
    assert "ambiguous" in message
    form = app.test_client().post(
        "/verify", data={"file": (io.BytesIO(data), f"two.{image}")}, content_type="multipart/form-data"
    )
    assert form.status_code == 400
    assert "holds 2 baked credentials" in form.get_data(as_text=True)
