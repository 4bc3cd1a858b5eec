"""The holder's private page ``/h/<token>`` through Flask's test client, with its links made by
``caiep holder link`` (the real command, in process): what it shows for each charter state, its
headers, the one 404 for every token that opens nothing, and an access log without the token."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from charter_site import NOW, Charters, change_state, issue_at, new_version, open_site
from sqlalchemy import event, text

from caiep.cli import main
from caiep.issuer.jobs import IssuedCredential

ISSUER_URL = "https://credentials.caiep.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("holder") / "home")


def holder_link(
    site: Charters, wanted: str, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[str, str]:
    """``caiep holder link WANTED [FLAGS]``: (the token of the printed link, standard error)."""
    capsys.readouterr()
    code = main(["--home", str(site.home), "holder", "link", wanted, "--actor", "registrar", *flags])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    link = captured.out.strip()
    assert re.fullmatch(rf"{re.escape(ISSUER_URL)}/h/[A-Za-z0-9_-]{{43}}", link), link
    return link.rsplit("/", 1)[1], captured.err


def page_of(site: Charters, token: str) -> str:
    response = site.client.get(f"/h/{token}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def sections(page: str) -> list[str]:
    """The charters' sections of the page, in order."""
    return re.findall(r'<section class="charter".*?</section>', page, flags=re.S)


def links(fragment: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a [^>]*href="([^"]+)"', fragment)]


def test_a_current_charter_shows_its_downloads_linkedin_qr_and_public_page(
    site: Charters, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = issue_at(site, "Hana Holder", NOW - timedelta(days=3))
    token, _ = holder_link(site, issued.credential_id, capsys)
    response = site.client.get(f"/h/{token}")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    page = response.get_data(as_text=True)
    assert '<meta name="robots" content="noindex">' in page
    assert re.search(r"<h1[^>]*><bdi>Hana Holder</bdi>, CAiEP</h1>", page)
    [charter] = sections(page)
    uuid = issued.credential_id
    assert "<strong>Current</strong> until" in charter
    hrefs = links(charter)
    assert f"/c/{uuid}/certificate.pdf" in hrefs
    assert f"/c/{uuid}/credential.json" in hrefs
    assert f"/c/{uuid}/badge.png" in hrefs
    assert f"/c/{uuid}/c" not in hrefs
    assert f"/c/{uuid}" in hrefs  # the public page
    assert f'src="/c/{uuid}/qr.png"' in charter
    assert f"{ISSUER_URL}/c/{uuid}" in charter
    [linkedin] = [href for href in hrefs if href.startswith("https://www.linkedin.com/")]
    fields = dict(parse_qsl(urlsplit(linkedin).query))
    assert fields["certUrl"] == f"{ISSUER_URL}/c/{uuid}"
    assert fields["organizationName"] == "CAiEP Certification Board"
    assert "Earlier versions" not in charter
    for href in hrefs:  # every link of ours answers
        if href.startswith("/"):
            assert site.client.get(href).status_code == 200, href


def test_a_renewed_charter_lists_its_earlier_version_with_dates_and_no_downloads(
    site: Charters, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = issue_at(site, "Rae Renewing", NOW - timedelta(days=4 * 365))
    new_version(site, issued, "Rae Renewing", NOW - timedelta(days=2), "renewal")
    token, _ = holder_link(site, issued.credential_id, capsys)
    [charter] = sections(page_of(site, token))
    assert "Renewal (version 2)" in charter
    earlier = charter.split("Earlier versions", 1)[1]
    first_from = NOW - timedelta(days=4 * 365)
    assert f"Award (version 1): valid from {first_from.day} {first_from:%B %Y}" in earlier
    assert links(earlier) == []  # listed, never downloadable
    assert len([href for href in links(charter) if "/certificate.pdf" in href]) == 2  # A4 and Letter


@pytest.mark.parametrize(
    ("state", "word", "name"), [("revoked", "Revoked", "Rex"), ("suspended", "Suspended", "Sue")]
)
def test_a_withdrawn_charter_shows_its_reason_and_nothing_to_download(
    site: Charters, capsys: pytest.CaptureFixture[str], state: str, word: str, name: str
) -> None:
    issued = issue_at(site, f"{name} {word}", NOW - timedelta(days=3))
    change_state(site, issued, state, "Withdrawn after a hearing")
    token, _ = holder_link(site, issued.credential_id, capsys)
    response = site.client.get(f"/h/{token}")
    page = response.get_data(as_text=True)
    assert re.search(rf"<h1[^>]*><bdi>{name} {word}</bdi></h1>", page)  # no post-nominal
    [charter] = sections(page)
    assert f"<strong>{word}</strong>" in charter
    assert "Reason: <bdi>Withdrawn after a hearing</bdi>" in charter
    assert "Download" not in charter
    assert not [href for href in links(charter) if "linkedin" in href or href.count("/") > 2]
    assert f'src="/c/{issued.credential_id}/qr.png"' in charter  # the public page says why
    assert links(charter) == [f"/c/{issued.credential_id}"]


def test_a_lapsed_charter_has_no_downloads(site: Charters, capsys: pytest.CaptureFixture[str]) -> None:
    issued = issue_at(site, "Lee Lapsed", NOW - timedelta(days=6 * 366))
    token, _ = holder_link(site, issued.credential_id, capsys)
    [charter] = sections(page_of(site, token))
    assert "<strong>Lapsed</strong>" in charter
    assert links(charter) == [f"/c/{issued.credential_id}"]


def test_rotate_revokes_the_other_links_and_an_older_link_works_until_then(
    site: Charters, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = issue_at(site, "Otto Older", NOW - timedelta(days=3))
    first, _ = holder_link(site, issued.credential_id, capsys)
    second, _ = holder_link(site, f"CAIEP-{holder_id(site, issued):06d}", capsys)
    assert first != second
    assert "Otto Older" in page_of(site, first)  # an older message's link still works
    assert "Otto Older" in page_of(site, second)
    kept, said = holder_link(site, issued.url, capsys, "--rotate")
    assert said.strip() == f"revoked 2 other links of CAIEP-{holder_id(site, issued):06d}"
    assert site.client.get(f"/h/{first}").status_code == 404
    assert site.client.get(f"/h/{second}").status_code == 404
    assert "Otto Older" in page_of(site, kept)
    audit = rows(site, "SELECT action, subject, details, actor FROM audit_log WHERE action LIKE 'holder.%'")
    for token in (first, second, kept):
        assert all(token not in repr(row) for row in audit)
    mine = [row for row in audit if row[1] == f"CAIEP-{holder_id(site, issued):06d}"]
    assert [row[0] for row in mine] == ["holder.link_created"] * 3 + ["holder.links_revoked"]
    assert '"revoked":2' in mine[-1][2]
    assert {row[3] for row in mine} == {"registrar"}


def test_every_token_that_opens_nothing_gets_the_same_404(
    site: Charters, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = issue_at(site, "Nia Notfound", NOW - timedelta(days=3))
    revoked, _ = holder_link(site, issued.credential_id, capsys)
    holder_link(site, issued.credential_id, capsys, "--rotate")
    unknown = ("A" if revoked[0] != "A" else "B") + revoked[1:]
    answers = []
    for token in (revoked, unknown, "not-a-token", "A" * 44, "%C3%84" * 43):
        response = site.client.get(f"/h/{token}")
        headers = {k: response.headers.get(k) for k in ("Cache-Control", "X-Robots-Tag", "Referrer-Policy")}
        answers.append((response.status_code, response.get_data(as_text=True), headers))
    assert answers[0][0] == 404
    assert "does not open a holder's page" in html.unescape(answers[0][1])
    assert answers[0][2] == {
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
    }
    assert all(answer == answers[0] for answer in answers)
    assert revoked not in answers[0][1]


def test_unknown_revoked_and_malformed_tokens_do_the_same_work(
    site: Charters, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each answer costs one look-up of a hash, the same statement: their times cannot tell a
    revoked link from one that never existed, or from one mistyped (``bench/holder_page.py``
    prints the times)."""
    issued = issue_at(site, "Tim Timing", NOW - timedelta(days=3))
    revoked, _ = holder_link(site, issued.credential_id, capsys)
    holder_link(site, issued.credential_id, capsys, "--rotate")
    unknown = ("A" if revoked[0] != "A" else "B") + revoked[1:]
    engine = site.client.application.extensions["caiep.registry"].engine
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        seen = []
        for token in (revoked, unknown, "malformed", "A" * 44):
            statements.clear()
            assert site.client.get(f"/h/{token}").status_code == 404
            seen.append(list(statements))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [query] = [statement for statement in seen[0] if statement.startswith("SELECT")]
    assert "FROM holder_tokens" in query
    assert all(found == seen[0] for found in seen)


def test_the_access_log_names_the_route_never_the_token(
    site: Charters, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    issued = issue_at(site, "Lou Logged", NOW - timedelta(days=3))
    token, _ = holder_link(site, issued.credential_id, capsys)
    with caplog.at_level(logging.DEBUG):
        assert site.client.get(f"/h/{token}").status_code == 200
        assert site.client.get(f"/h/{token[::-1]}").status_code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "caiep.access"]
    assert lines[0].startswith("GET /h/<token> 200 ")
    assert lines[1].startswith("GET /h/<token> 404 ")
    everything = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records) + capsys.readouterr().err
    assert token not in everything
    assert token[::-1] not in everything


def test_holder_link_refuses_an_unknown_charter(site: Charters, capsys: pytest.CaptureFixture[str]) -> None:
    before = rows(site, "SELECT count(*) FROM holder_tokens")
    code = main(["--home", str(site.home), "holder", "link", "CAIEP-999999"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "no charter credential 'CAIEP-999999'" in captured.err
    assert rows(site, "SELECT count(*) FROM holder_tokens") == before


def holder_id(site: Charters, issued: IssuedCredential) -> int:
    return int(
        rows(site, f"SELECT holder_id FROM charter_credentials WHERE id = '{issued.credential_id}'")[0][0]
    )


def rows(site: Charters, sql: str) -> list[tuple[object, ...]]:
    with site.registry.read() as connection:
        return [tuple(row) for row in connection.execute(text(sql)).all()]


def test_the_route_and_the_links_are_spelled_in_one_place() -> None:
    from caiep.addresses import HOLDER_PAGE_ROUTE, ServiceAddresses, holder_page_path

    assert HOLDER_PAGE_ROUTE == "/h/<token>"
    assert holder_page_path("abc") == "/h/abc"
    assert ServiceAddresses(ISSUER_URL + "/").holder_page("abc") == f"{ISSUER_URL}/h/abc"


def test_the_page_counts_as_a_read_for_the_rate_limit(
    site: Charters, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three reads per 10 seconds: the fourth request for a page (found or not) is refused."""
    from caiep.app import AppConfig, create_app
    from caiep.ratelimit import RateLimitSettings, Window
    from caiep.settings import database_url

    issued = issue_at(site, "Rory Ratelimit", NOW - timedelta(days=3))
    token, _ = holder_link(site, issued.credential_id, capsys)
    limits = RateLimitSettings(verify=(Window(10**6, 60),), read=(Window(3, 10),))
    app = create_app(AppConfig(home=site.home, database_url=database_url(site.home), rate_limits=limits))
    try:
        client = app.test_client()
        statuses = [
            client.get(path).status_code for path in (f"/h/{token}", "/h/x", f"/h/{token}", f"/h/{token}")
        ]
    finally:
        app.extensions["caiep.registry"].dispose()
    assert statuses == [200, 404, 200, 429]


def test_add_to_linkedin_names_the_organization_id_when_it_is_set(
    site: Charters, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from caiep.app import AppConfig, create_app
    from caiep.settings import read_configuration
    from support import unlimited_rates

    issued = issue_at(site, "Lin Kedin", NOW - timedelta(days=3))
    token, _ = holder_link(site, issued.credential_id, capsys)
    monkeypatch.setenv("CAIEP_LINKEDIN_ORGANIZATION_ID", "2414183")
    config = AppConfig.from_configuration(read_configuration(site.home))
    assert config.linkedin_organization_id == "2414183"
    app = create_app(AppConfig(**{**config.__dict__, "rate_limits": unlimited_rates()}))
    try:
        page = app.test_client().get(f"/h/{token}").get_data(as_text=True)
    finally:
        app.extensions["caiep.registry"].dispose()
    [linkedin] = [href for href in links(page) if href.startswith("https://www.linkedin.com/")]
    fields = dict(parse_qsl(urlsplit(linkedin).query))
    assert fields["organizationId"] == "2414183"
    assert "organizationName" not in fields
