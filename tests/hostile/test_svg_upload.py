"""An SVG upload that declares entities ("billion laughs") or an external one (XXE) is refused
with a 400 that says why, at once, and nothing is expanded or fetched."""

from __future__ import annotations

import time
from io import BytesIO
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Site

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    + "]>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
BODY = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
    "<openbadges:credential>{reference}</openbadges:credential></svg>"
)


@pytest.mark.parametrize(("prolog", "reference"), [(LAUGHS, "&lol9;"), (XXE, "&xxe;")], ids=["laughs", "xxe"])
@pytest.mark.parametrize("route", ["/api/v1/verify", "/verify"])
def test_an_svg_declaring_entities_is_refused_unexpanded(
    site: Site, prolog: str, reference: str, route: str
) -> None:
    upload = (prolog + BODY.format(reference=reference)).encode()
    started = time.perf_counter()
    response = site.client.post(
        route, data={"file": (BytesIO(upload), "badge.svg")}, content_type="multipart/form-data"
    )
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "refused (entity expansion, XXE)" in text
    assert "lollol" not in text
    assert "root:" not in text
    if route.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "invalid_input"
