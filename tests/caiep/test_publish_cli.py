"""``caiep publish`` of a did:web instance: the DID document and the achievement are the bytes the
app serves at the same paths, and publishing again into its own folder needs no --force."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cli_support import HOLDER, WEB_DID, init_issuer

from caiep.app import AppConfig, create_app
from caiep.settings import database_url

if TYPE_CHECKING:
    from conftest import CLI


def test_a_did_web_copy_holds_what_the_app_serves(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str
) -> None:
    init_issuer(cli)
    issued = cli("issue", *HOLDER, "--out", str(tmp_path / "jane.json"))
    assert issued.code == 0, issued.err
    out = tmp_path / "site"
    first = cli("publish", "--out", str(out))
    assert first.code == 0, first.err
    assert (
        "published 1 credential, 1 status list, the achievement, the badge and the DID document" in first.out
    )
    app = create_app(AppConfig(home=home, database_url=database_url(home)))
    try:
        client = app.test_client()
        credential = json.loads((tmp_path / "jane.json").read_text(encoding="utf-8"))
        uuid = credential["id"].rsplit("/", 1)[1]
        files = {path: path for path in (".well-known/did.json", "status/1", f"credentials/{uuid}")}
        files |= {"achievements/caiep": "achievements/caiep/index.html"}
        files |= {
            f"achievements/caiep/badge.{kind}": f"achievements/caiep/badge.{kind}" for kind in ("png", "svg")
        }
        for route, path in files.items():
            served = client.get("/" + route, headers={"Accept": "application/vc+ld+json"})
            assert served.status_code == 200
            assert (out / path).read_bytes() == served.data, path
    finally:
        app.extensions["caiep.registry"].dispose()
    assert json.loads((out / ".well-known" / "did.json").read_text(encoding="utf-8"))["id"] == WEB_DID
    assert (out / "status" / "1").stat().st_mode & 0o777 == 0o644
    again = cli("publish", "--out", str(out))  # its own folder: no --force needed
    assert again.code == 0, again.err
    marker = json.loads((out / ".caiep-publish.json").read_text(encoding="utf-8"))
    assert sorted(marker["files"]) == sorted(files.values())
    assert not list(out.rglob(".*.tmp"))  # no temporary file left behind


def test_a_copy_with_the_achievement_as_a_file_gets_its_folder(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str
) -> None:
    # Copies published before the badge held the achievement as a file where its folder now goes.
    init_issuer(cli)
    out = tmp_path / "site"
    (out / "achievements").mkdir(parents=True)
    (out / "achievements" / "caiep").write_text("{}", encoding="utf-8")
    (out / ".caiep-publish.json").write_text(json.dumps({"files": ["achievements/caiep"]}), encoding="utf-8")
    run = cli("publish", "--out", str(out))
    assert run.code == 0, run.err
    folder = out / "achievements" / "caiep"
    assert json.loads((folder / "index.html").read_text(encoding="utf-8"))["image"]["id"].endswith(
        "/badge.png"
    )
    assert (folder / "badge.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "badge.svg").read_text(encoding="utf-8").startswith("<svg ")


def test_a_file_no_publish_wrote_is_never_removed(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str
) -> None:
    init_issuer(cli)
    out = tmp_path / "site"
    (out / "achievements").mkdir(parents=True)
    (out / "achievements" / "caiep").write_text("mine", encoding="utf-8")
    run = cli("publish", "--out", str(out), "--force")
    assert run.code == 2
    assert "is a file where the achievement's folder goes" in run.err
    assert (out / "achievements" / "caiep").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in out.rglob("*")) == ["achievements", "caiep"]  # nothing written
