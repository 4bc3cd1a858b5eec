"""Request bodies over the 1 MiB cap are refused with 413 whatever their transfer encoding.

A chunked body carries no Content-Length, so a cap checked against the header alone lets it
through; cutting it at the cap instead would verify the first MiB and ignore the rest. The
regression: a valid credential, whitespace up to the cap, then garbage, must never verify.
"""

from __future__ import annotations

import http.client
import io
import json
import urllib.parse
from typing import Any

from hostile_documents import Live, Site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caiep.verifier.inputs import MAX_BYTES

API = "/api/v1/verify"


def _padded(credential: bytes, size: int, tail: bytes = b"") -> bytes:
    """``credential``, spaces, then ``tail``: exactly ``size`` bytes."""
    return credential + b" " * (size - len(credential) - len(tail)) + tail


def _post_chunked(live: Live, body: bytes, *, path: str = API) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(live.host, live.port, timeout=60)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        for start in range(0, len(body), 65_536):
            piece = body[start : start + 65_536]
            try:
                connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered early and closed: read what it said
        else:
            connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_chunked_body_over_the_cap_is_refused_by_gunicorn(site: Site, live: Live) -> None:
    body = _padded(site.credential, MAX_BYTES + 64, b"garbage")
    status, answer = _post_chunked(live, body)
    assert status == 413, answer[:300]
    assert json.loads(answer)["error"]["code"] == "too_large"


def test_a_chunked_body_at_the_cap_is_read_whole_by_gunicorn(site: Site, live: Live) -> None:
    status, answer = _post_chunked(live, _padded(site.credential, MAX_BYTES))
    assert status == 200, answer[:300]
    assert json.loads(answer)["verified"] is True
    # One garbage byte at the very end is seen: the body is never cut short.
    status, answer = _post_chunked(live, _padded(site.credential, MAX_BYTES, b"x"))
    assert status == 400
    assert json.loads(answer)["error"]["code"] == "invalid_input"


def test_a_streamed_body_over_the_cap_is_refused_in_process(site: Site) -> None:
    body = _padded(site.credential, MAX_BYTES + 1, b"garbage")
    response = site.client.post(
        API,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_a_streamed_body_under_the_cap_verifies(site: Site) -> None:
    response = site.client.post(
        API,
        input_stream=io.BytesIO(_padded(site.credential, 4096)),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200
    assert response.get_json()["verified"] is True


def test_a_declared_length_over_the_cap_is_refused_on_both_routes(site: Site) -> None:
    body = _padded(site.credential, MAX_BYTES + 1)
    assert site.client.post(API, data=body, content_type="application/json").status_code == 413
    form = site.client.post("/verify", data={"credential": body.decode("utf-8")})
    assert form.status_code == 413


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    offset=st.integers(min_value=0, max_value=4096),
    inside=st.booleans(),
    streamed=st.booleans(),
    route=st.sampled_from(["api", "form"]),
)
def test_a_body_just_under_the_cap_is_answered_and_just_over_refused(
    site: Site, offset: int, inside: bool, streamed: bool, route: str
) -> None:
    """Hypothesis over the byte cap: at most MAX_BYTES is verified, one byte more is 413, never a 5xx."""
    size = MAX_BYTES - offset if inside else MAX_BYTES + 1 + offset
    if route == "api":
        body = _padded(site.credential, size)
        options: dict[str, Any] = {"content_type": "application/json"}
    else:
        # The form's own encoding adds "credential=" and escapes: pad the encoded body to size.
        encoded = b"credential=" + urllib.parse.quote_from_bytes(site.credential).encode("ascii")
        body = encoded + b"+" * (size - len(encoded))
        options = {"content_type": "application/x-www-form-urlencoded"}
    if streamed:
        options.update(input_stream=io.BytesIO(body), environ_overrides={"wsgi.input_terminated": True})
    else:
        options["data"] = body
    response = site.client.post(API if route == "api" else "/verify", **options)
    assert response.status_code < 500
    if not inside:
        assert response.status_code == 413
        return
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    if route == "api":
        assert response.get_json()["verified"] is True
    else:
        assert "Valid" in response.get_data(as_text=True)
