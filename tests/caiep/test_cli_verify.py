"""``caiep verify``: exit codes 0/1/2, text and JSON reports, standard input, ``--now``, and the
instance's own did.json read first when a home is named (local trust).

The tests call ``caiep.cli.main`` in process (see conftest.py); no test reaches a network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cli_support import HOLDER, WEB_DID, init_issuer
from conftest_registry import Site, did_web_site_fixture  # noqa: F401 - registers the did_web_site fixture

from caiep.verifier.fetch import MappingFetcher

if TYPE_CHECKING:
    from conftest import CLI


@pytest.fixture
def offline_did_web(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """``caiep verify`` reaches no network: only the instance's own did.json can vouch for its key.

    The fetcher behind the instance's documents serves nothing; records the flag it was made with.
    """
    asked: list[str | None] = []

    def make_fetcher(*, allow_http_base: str | None) -> MappingFetcher:
        asked.append(allow_http_base)
        return MappingFetcher({})

    monkeypatch.setattr("caiep.trust.make_fetcher", make_fetcher)
    return asked


@pytest.fixture
def issued(cli: CLI, home: Path, passphrase: str) -> dict[str, Path]:
    """A did:web instance with one credential in each format."""
    init_issuer(cli, "web")
    paths = {"ldp": home / "jane.credential.json", "jwt": home / "jane.credential.jwt"}
    for fmt, path in paths.items():
        assert cli("issue", *HOLDER, "--format", fmt, "--out", str(path)).code == 0
    return paths


@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
def test_verify_valid_exits_0(
    cli: CLI, issued: dict[str, Path], offline_did_web: list[str | None], fmt: str
) -> None:
    run = cli("verify", str(issued[fmt]), "--json")

    assert run.code == 0, run.out
    report = json.loads(run.out)
    assert (report["verified"], report["status"], report["format"]) == (True, "valid", fmt)
    assert [c["name"] for c in report["checks"]] == ["structure", "contexts", "proof", "validity", "status"]
    assert offline_did_web == [None]  # no --allow-http-base given, none passed on


def test_verify_text_report(cli: CLI, issued: dict[str, Path], offline_did_web: list[str | None]) -> None:
    run = cli("verify", str(issued["ldp"]))
    assert run.code == 0
    assert run.out.startswith("VALID\n")
    assert "held by Jane Doe, CAiEP" in run.out
    assert WEB_DID in run.out


def test_verify_from_stdin(cli: CLI, issued: dict[str, Path], offline_did_web: list[str | None]) -> None:
    run = cli("verify", "-", "--json", stdin=issued["jwt"].read_bytes())
    assert run.code == 0
    assert json.loads(run.out)["status"] == "valid"


def test_verify_tampered_exits_1(
    cli: CLI, issued: dict[str, Path], home: Path, offline_did_web: list[str | None]
) -> None:
    credential = json.loads(issued["ldp"].read_text(encoding="utf-8"))
    credential["credentialSubject"]["name"] = "Mallory"
    forged = home / "forged.json"
    forged.write_text(json.dumps(credential), encoding="utf-8")

    run = cli("verify", str(forged), "--json")

    assert run.code == 1
    report = json.loads(run.out)
    assert (report["verified"], report["status"]) == (False, "invalid")
    assert {c["name"]: c["outcome"] for c in report["checks"]}["proof"] == "invalid"
    text = cli("verify", str(forged))
    assert text.code == 1
    assert text.out.startswith("INVALID\n")


def test_verify_undecidable_exits_2(
    cli: CLI, issued: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No instance named and the issuer's DID document cannot be fetched: neither valid nor invalid."""
    monkeypatch.setattr("caiep.trust.make_fetcher", lambda *, allow_http_base: MappingFetcher({}))

    run = cli("verify", str(issued["ldp"]), "--json", home_dir=None)

    assert run.code == 2
    report = json.loads(run.out)
    assert (report["verified"], report["status"], report["outcome"]) == (
        False,
        "cannot_be_verified",
        "unknown",
    )
    assert "localIssuerDocument" not in report
    text = cli("verify", str(issued["ldp"]), home_dir=None)
    assert (text.code, text.out.splitlines()[0]) == (2, "CANNOT BE VERIFIED")
    assert "did.json" not in text.out


# --- local trust: an unpublished did:web issuer verifies its own credentials -----------------


@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
def test_verify_with_home_reads_the_instance_did_document(
    cli: CLI, issued: dict[str, Path], home: Path, did_web_site: Site, fmt: str
) -> None:
    """Nothing is published on the (loopback) web; the instance's did.json vouches for the key."""
    base = did_web_site.base

    text = cli("verify", str(issued[fmt]), "--allow-http-base", base)
    report = json.loads(cli("verify", str(issued[fmt]), "--json", "--allow-http-base", base).out)

    assert text.code == 0, text.out
    assert text.out.startswith("VALID\n")
    assert "issuer key read from this instance's did.json (not from the web)" in text.out
    assert (report["verified"], report["status"]) == (True, "valid")
    assert report["localIssuerDocument"] == {"path": str(home / "did.json"), "used": True}
    assert did_web_site.requested == []


def test_verify_with_home_from_the_environment(
    cli: CLI, issued: dict[str, Path], home: Path, did_web_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIEP_HOME", str(home))
    run = cli("verify", str(issued["ldp"]), "--json", "--allow-http-base", did_web_site.base, home_dir=None)
    assert run.code == 0, run.out
    assert json.loads(run.out)["localIssuerDocument"]["used"] is True


def test_verify_without_home_does_not_trust_the_instance(
    cli: CLI, issued: dict[str, Path], did_web_site: Site
) -> None:
    """The same credential, no instance named: its issuer's document is looked for on the web (absent)."""
    run = cli("verify", str(issued["ldp"]), "--json", "--allow-http-base", did_web_site.base, home_dir=None)

    assert run.code == 2
    report = json.loads(run.out)
    assert report["status"] == "cannot_be_verified"
    assert "localIssuerDocument" not in report
    assert did_web_site.requested == ["/.well-known/did.json"]


def test_verify_with_home_of_another_issuer_still_fetches(
    cli: CLI, issued: dict[str, Path], tmp_path: Path, did_web_site: Site, passphrase: str
) -> None:
    """An instance vouches only for its own DID: another instance's home changes nothing."""
    other = tmp_path / "other-home"
    made = cli("init", "--issuer-name", "Other", "--issuer-url", "https://other.example", home_dir=other)
    assert made.code == 0, made.err

    run = cli("verify", str(issued["ldp"]), "--json", "--allow-http-base", did_web_site.base, home_dir=other)

    assert run.code == 2
    assert json.loads(run.out)["localIssuerDocument"]["used"] is False


def test_verify_with_a_home_that_is_no_instance_says_so(
    cli: CLI, issued: dict[str, Path], tmp_path: Path, did_web_site: Site
) -> None:
    run = cli(
        "verify", str(issued["ldp"]), "--allow-http-base", did_web_site.base, home_dir=tmp_path / "nothing"
    )
    assert run.code == 2
    assert "not an instance directory" in run.err


@pytest.mark.parametrize(
    ("now", "status"), [("2100-01-01T00:00:00Z", "expired"), ("2001-01-01T00:00:00+01:00", "not_yet_valid")]
)
@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
def test_verify_now_outside_the_validity_window_exits_1(
    cli: CLI, issued: dict[str, Path], offline_did_web: list[str | None], fmt: str, now: str, status: str
) -> None:
    run = cli("verify", str(issued[fmt]), "--json", "--now", now)

    assert run.code == 1
    report = json.loads(run.out)
    assert report["status"] == status
    assert {c["name"]: c["code"] for c in report["checks"]}["validity"] == status


def test_verify_bad_now_flag(cli: CLI, issued: dict[str, Path]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli("verify", str(issued["ldp"]), "--now", "next tuesday")
    assert caught.value.code == 2


def test_verify_refuses_a_bad_http_base(cli: CLI, issued: dict[str, Path]) -> None:
    run = cli("verify", str(issued["ldp"]), "--allow-http-base", "ftp://127.0.0.1:21")
    assert run.code == 2
    assert "allow_http_base" in run.err


# --- did -------------------------------------------------------------------------------------


def test_a_fetched_did_document_with_a_repeated_key_cannot_be_verified(
    cli: CLI, issued: dict[str, Path], home: Path, did_web_site: Site
) -> None:
    """The fetched document goes through the one strict JSON reader: two readers keeping different
    copies of a repeated key would see two different key sets, so it is refused, not guessed."""
    published = did_web_site.root / ".well-known" / "did.json"
    document = (home / "did.json").read_text(encoding="utf-8")
    published.write_text(document, encoding="utf-8")
    did_web_site.publish_status_lists(home)
    verify = ["verify", str(issued["ldp"]), "--json", "--allow-http-base", did_web_site.base]
    assert cli(*verify, home_dir=None).code == 0  # as published, it vouches for the key

    start = document.index("{") + 1
    published.write_text(document[:start] + '"id": "did:web:attacker.example",' + document[start:])
    run = cli(*verify, home_dir=None)

    assert run.code == 2, run.out
    report = json.loads(run.out)
    assert report["status"] == "cannot_be_verified"
    [proof] = [check for check in report["checks"] if check["name"] == "proof"]
    assert proof["outcome"] == "unknown"
    assert "not JSON (duplicate key 'id' in a JSON object)" in proof["message"], proof
