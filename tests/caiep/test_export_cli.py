"""``caiep export``: the holder's files, read from the stored copies, and its refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest_registry import (
    _imported,
    _init,
    _listed,
    _signed,
    _url,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
    query,
)

if TYPE_CHECKING:
    from conftest import CLI


def _cohort(cli: CLI) -> list[dict[str, Any]]:
    _init(cli)
    _imported(cli)
    _signed(cli)
    return _listed(cli)


def _stored(home: Path, uuid: str) -> dict[str, str]:
    rows = query(
        _url(home),
        "SELECT format, document FROM credential_copies WHERE credential_id = :id ORDER BY id",
        id=uuid,
    )
    return {str(f): str(d) for f, d in rows}


def test_json_and_jwt_are_the_exact_stored_copies_and_verify(
    cli: CLI, home: Path, passphrase: str, tmp_path: Path
) -> None:
    [record, *_] = _cohort(cli)
    out_json, out_jwt = tmp_path / "c.json", tmp_path / "c.jwt"

    run = cli("export", record["charterNumber"], "--json", str(out_json), "--jwt", str(out_jwt))

    assert run.code == 0, run.err
    stored = _stored(home, record["uuid"])
    assert out_json.read_bytes() == stored["ldp"].encode("utf-8")
    assert out_jwt.read_bytes() == stored["jwt"].encode("ascii")
    for path in (out_json, out_jwt):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the holder's name is in it
        checked = cli("verify", str(path), "--json")
        assert checked.code == 0, checked.out
        assert json.loads(checked.out)["status"] == "valid"


def test_the_id_is_the_url_the_uuid_or_the_charter_number(cli: CLI, passphrase: str, tmp_path: Path) -> None:
    [record, *_] = _cohort(cli)
    made = []
    for n, wanted in enumerate((record["id"], record["uuid"], record["charterNumber"])):
        out = tmp_path / f"{n}.json"
        assert cli("export", wanted, "--json", str(out)).code == 0
        made.append(out.read_bytes())
    assert made[0] == made[1] == made[2]


def test_linkedin_prints_the_add_to_profile_url(cli: CLI, passphrase: str) -> None:
    [record, *_] = _cohort(cli)

    run = cli("export", record["uuid"], "--linkedin")

    assert run.code == 0, run.err
    [line] = run.out.splitlines()
    parts = urlsplit(line)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    fields = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
    assert fields["startTask"] == "CERTIFICATION_NAME"
    assert fields["name"] == "CAiEP® Charter"
    assert fields["organizationName"] == "CAiEP Certification Board"
    assert fields["certId"] == record["charterNumber"]
    assert fields["certUrl"] == record["id"].replace("/credentials/", "/c/")
    assert (fields["expirationYear"], fields["expirationMonth"]) == (
        record["validUntil"][:4],
        str(int(record["validUntil"][5:7])),
    )


def test_linkedin_organization_id_setting_replaces_the_name(
    cli: CLI, passphrase: str, monkeypatch: Any
) -> None:
    [record, *_] = _cohort(cli)
    monkeypatch.setenv("CAIEP_LINKEDIN_ORGANIZATION_ID", "1337")

    run = cli("export", record["uuid"], "--linkedin")

    fields = parse_qs(urlsplit(run.out.strip()).query)
    assert fields["organizationId"] == ["1337"]
    assert "organizationName" not in fields


def test_a_missing_folder_stops_before_anything_is_written(cli: CLI, passphrase: str, tmp_path: Path) -> None:
    [record, *_] = _cohort(cli)
    good = tmp_path / "good.json"

    run = cli("export", record["uuid"], "--json", str(good), "--jwt", str(tmp_path / "missing" / "c.jwt"))

    assert run.code == 2
    assert f"the folder {tmp_path / 'missing'} does not exist" in run.err
    assert not good.exists()


def test_unknown_id_and_nothing_asked_are_refused(cli: CLI, passphrase: str, tmp_path: Path) -> None:
    _cohort(cli)
    out = tmp_path / "x.json"

    unknown = cli("export", "CAIEP-999999", "--json", str(out))
    nothing = cli("export", "CAIEP-000001")
    bad_qr = cli("export", "CAIEP-000001", "--qr", str(tmp_path / "code.gif"))

    assert unknown.code == 2
    assert "no charter credential 'CAIEP-999999'" in unknown.err
    assert nothing.code == 2
    assert "nothing to export" in nothing.err
    assert bad_qr.code == 2
    assert "--qr writes a .png or .svg file" in bad_qr.err
    assert not out.exists()
    assert not (tmp_path / "code.gif").exists()


def test_a_revoked_charter_keeps_its_stored_copies_but_gets_no_linkedin_entry(
    cli: CLI, passphrase: str, tmp_path: Path
) -> None:
    [record, *_] = _cohort(cli)
    assert cli("revoke", record["uuid"], "--reason", "withdrawn by the board").code == 0
    out = tmp_path / "c.json"

    refused = cli("export", record["uuid"], "--json", str(out), "--linkedin")
    stored = cli("export", record["uuid"], "--json", str(out))

    assert refused.code == 2
    assert "is revoked: a LinkedIn certification is made only of a current charter" in refused.err
    assert stored.code == 0
    assert out.exists()


def test_cohort_files_by_charter_number_from_a_listing(cli: CLI, passphrase: str, tmp_path: Path) -> None:
    records = _cohort(cli)
    listing = cli("credentials", "list", "--csv")
    cohort = tmp_path / "cohort.csv"
    cohort.write_text(listing.out, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()

    run = cli(
        "export", "--from", str(cohort), "--out-dir", str(out), "--include", "json", "--include", "qr-svg"
    )

    assert run.code == 0, run.err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"caiep-{r['charterNumber']}{suffix}" for r in records for suffix in (".json", "-qr.svg")
    )


def test_cohort_with_an_unknown_line_writes_nothing(cli: CLI, passphrase: str, tmp_path: Path) -> None:
    [record, *_] = _cohort(cli)
    cohort = tmp_path / "cohort.txt"
    cohort.write_text(f"# spring cohort\n{record['charterNumber']}\n\nCAIEP-999999\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()

    run = cli("export", "--from", str(cohort), "--out-dir", str(out))

    assert run.code == 2
    assert f"{cohort}:line 4: no charter credential 'CAIEP-999999'" in run.err
    assert list(out.iterdir()) == []


def test_every_file_of_one_charter_in_one_call(cli: CLI, home: Path, passphrase: str, tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    from caiep.baking import extract_credential

    [record, *_] = _cohort(cli)
    paths = {name: tmp_path / name for name in ("b.png", "b.svg", "c.pdf", "q.png", "q.svg")}

    run = cli(
        "export", record["uuid"], "--baked-png", str(paths["b.png"]), "--baked-svg", str(paths["b.svg"]),
        "--form", "jwt", "--pdf", str(paths["c.pdf"]), "--paper", "letter", "--qr", str(paths["q.png"]),
    )  # fmt: skip
    svg_run = cli("export", record["uuid"], "--qr", str(paths["q.svg"]))

    assert run.code == 0, run.err
    assert svg_run.code == 0, svg_run.err
    stored = _stored(home, record["uuid"])
    assert extract_credential(paths["b.png"].read_bytes()) == stored["jwt"]
    assert extract_credential(paths["b.svg"].read_bytes()) == stored["jwt"]
    assert paths["c.pdf"].read_bytes().startswith(b"%PDF-")
    page = record["id"].replace("/credentials/", "/c/")
    with Image.open(paths["q.png"]) as image:
        assert round(image.info["dpi"][0]) == 300
        assert image.width >= 296  # 2.5 cm at 300 dpi
        assert [code.text for code in zxingcpp.read_barcodes(image)] == [page]
    assert paths["q.svg"].read_text(encoding="utf-8").startswith("<")
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_suspended_charter_gets_no_certificate_and_nothing_is_written(
    cli: CLI, passphrase: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [record, *_] = _cohort(cli)
    assert cli("suspend", record["uuid"], "--reason", "under review").code == 0
    json_out, pdf_out = tmp_path / "c.json", tmp_path / "c.pdf"

    refused = cli("export", record["uuid"], "--json", str(json_out), "--pdf", str(pdf_out))
    with pytest.raises(SystemExit) as paper:
        cli("export", record["uuid"], "--pdf", str(pdf_out), "--paper", "legal")

    assert refused.code == 2
    assert "is suspended: a certificate is made only of a current charter" in refused.err
    assert not json_out.exists()
    assert not pdf_out.exists()
    assert paper.value.code == 2  # click's usage error, before anything is read
    assert "'legal' is not one of 'a4', 'letter'" in capsys.readouterr().err
