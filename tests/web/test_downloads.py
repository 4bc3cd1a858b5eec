"""The holder's downloads on the public page: each answers with the stored copy (or the badge and
certificate made of it), as a download; a charter that is not current gets no badge or
certificate (410), while its stored JSON and VC-JWT stay available."""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from charter_site import NOW, Charters, change_state, issue_at, open_site

from caiep.baking import extract_credential


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("downloads") / "home")


def _stored(site: Charters, credential_id: str) -> dict[str, str]:
    with site.registry.read() as connection:
        from sqlalchemy import text

        rows = connection.execute(
            text("SELECT format, document FROM credential_copies WHERE credential_id = :id"),
            {"id": credential_id},
        ).all()
    return {str(f): str(d) for f, d in rows}


def _links(page: str) -> dict[str, tuple[str, str]]:
    """label -> (href, type) of the page's Download section."""
    section = page.split('id="download"', 1)[1].split("</section>", 1)[0]
    found = re.findall(r'<a href="([^"]+)" type="([^"]+)" download>([^<]+)</a>', section)
    return {label: (href.replace("&amp;", "&"), kind) for href, kind, label in found}


def test_a_current_charter_page_shows_the_badge_and_every_download(site: Charters, tmp_path: Path) -> None:
    issued = issue_at(site, "Dana Download", NOW - timedelta(days=2))
    uuid = issued.credential_id
    page = site.client.get(f"/c/{uuid}").get_data(as_text=True)
    assert '<img class="badge" src="/achievements/caiep/badge.png"' in page
    links = _links(page)
    assert set(links) == {
        "Certificate to print (PDF, A4)",
        "Certificate to print (PDF, US Letter)",
        "Badge with the credential inside (PNG)",
        "Badge with the credential inside (SVG)",
        "Credential (JSON)",
        "Credential (VC-JWT)",
    }
    stored = _stored(site, uuid)
    [number] = set(re.findall(r"CAIEP-\d{6}", page))
    for label, (href, media_type) in links.items():
        response = site.client.get(href)
        assert response.status_code == 200, (label, response.get_data(as_text=True)[:300])
        assert response.mimetype == media_type, label
        disposition = response.headers["Content-Disposition"]
        assert re.fullmatch(
            r'attachment; filename="caiep-CAIEP-\d{6}[-a-z]*\.(json|jwt|png|svg|pdf)"', disposition
        )
        if number:
            assert number in disposition
    assert site.client.get(f"/c/{uuid}/credential.json").data == stored["ldp"].encode()
    assert site.client.get(f"/c/{uuid}/credential.jwt").data == stored["jwt"].encode()
    assert extract_credential(site.client.get(f"/c/{uuid}/badge.png").data) == stored["ldp"]
    assert extract_credential(site.client.get(f"/c/{uuid}/badge.svg?form=jwt").data) == stored["jwt"]
    for paper, size in (("a4", r"595\.\d+ x 841\.\d+"), ("letter", "612 x 792")):
        pdf = tmp_path / f"{paper}.pdf"
        pdf.write_bytes(site.client.get(f"/c/{uuid}/certificate.pdf?paper={paper}").data)
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(rf"Page size:\s+{size} pts", info), info


@pytest.mark.parametrize("state", ["revoked", "suspended"])
def test_a_withdrawn_charter_gets_no_badge_or_certificate(site: Charters, state: str) -> None:
    issued = issue_at(site, f"Wes Withdrawn {state}", NOW - timedelta(days=2))
    uuid = issued.credential_id
    change_state(site, issued, state, "decision of the board")

    page = site.client.get(f"/c/{uuid}").get_data(as_text=True)
    assert 'id="download"' not in page
    assert 'class="badge"' not in page
    for path in (
        "badge.png",
        "badge.svg",
        "badge.png?form=jwt",
        "certificate.pdf",
        "certificate.pdf?paper=letter",
    ):
        gone = site.client.get(f"/c/{uuid}/{path}", headers={"Accept": "text/html"})
        assert gone.status_code == 410, path
        text = gone.get_data(as_text=True)
        assert f"This charter is {state}: no badge or certificate is made of it." in text
        assert gone.headers["Cache-Control"] == "no-store"
    assert site.client.get(f"/c/{uuid}/credential.json").status_code == 200


def test_a_lapsed_charter_gets_no_certificate(site: Charters) -> None:
    issued = issue_at(site, "Lou Lapsed", NOW - timedelta(days=6 * 366))
    gone = site.client.get(f"/c/{issued.credential_id}/certificate.pdf")
    assert gone.status_code == 410
    assert "This charter is lapsed" in gone.get_data(as_text=True)


def test_bad_choices_and_unknown_ids_are_refused(site: Charters) -> None:
    issued = issue_at(site, "Bea Bad", NOW - timedelta(days=2))
    uuid = issued.credential_id
    unknown = "00000000-0000-4000-8000-000000000000"

    paper = site.client.get(f"/c/{uuid}/certificate.pdf?paper=legal")
    form = site.client.get(f"/c/{uuid}/badge.png?form=xml")
    missing = site.client.get(f"/c/{unknown}/certificate.pdf")
    other = site.client.get(f"/c/{uuid}/badge.gif")

    assert paper.status_code == 400
    assert "?paper= takes a4 or letter, not 'legal'" in html.unescape(paper.get_data(as_text=True))
    assert form.status_code == 400
    assert "?form= takes json or jwt" in form.get_data(as_text=True)
    assert missing.status_code == 404
    assert other.status_code == 404
