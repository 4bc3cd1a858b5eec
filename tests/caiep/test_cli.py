"""The ``caiep`` command: init, issue, did; exit codes; nothing secret ever printed or written.

``caiep verify`` has its own module, test_cli_verify.py.

Most tests call ``caiep.cli.main`` in process (see conftest.py). One test runs the installed
console script in subprocesses, end to end, verifying a did:web credential against a real
HTTP server on 127.0.0.1 through ``--allow-http-base``.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cli_support import HOLDER, ISSUER_URL, WEB_DID, init_issuer
from conftest_registry import Site, did_web_site_fixture  # noqa: F401 - registers the did_web_site fixture

from caiep.keys.base64url import b64url_encode
from caiep.keys.did import did_web_document_url, resolve_did_key
from caiep.keys.multikey import encode_secret_key
from caiep.keys.store import KeyStore
from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.result import Verdict
from caiep.verifier.verify import verify
from support import instance_fetcher

if TYPE_CHECKING:
    from conftest import CLI


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _did_web_fetcher(home: Path) -> MappingFetcher:
    """What the issuer publishes, served offline at the URL did:web maps its DID to."""
    document = json.loads((home / "did.json").read_text(encoding="utf-8"))
    return MappingFetcher({did_web_document_url(document["id"]): document})


# --- init ------------------------------------------------------------------------------------


def test_init_did_web(cli: CLI, home: Path, passphrase: str) -> None:
    run = init_issuer(cli, "web")

    settings = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    assert settings == {
        "issuer_name": "CAiEP Certification Board",
        "issuer_url": ISSUER_URL,
        "did_method": "web",
        "issuer_id": WEB_DID,
    }
    document = json.loads((home / "did.json").read_text(encoding="utf-8"))
    (method,) = document["verificationMethod"]
    assert document["id"] == WEB_DID
    assert method["controller"] == WEB_DID
    assert method["type"] == "Multikey"
    assert document["assertionMethod"] == [method["id"]]
    assert WEB_DID in run.out
    assert f"{ISSUER_URL}/.well-known/did.json" in run.out

    keys = home / "keys"
    assert _mode(keys) == 0o700
    pems = list(keys.glob("*.pem"))
    assert [p.name for p in pems] == [f"{method['publicKeyMultibase']}.pem"]
    for private in (*pems, keys / "keys.json"):
        assert _mode(private) == 0o600, private
    assert pems[0].read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    signing_key = KeyStore.open(keys).load_signing_key(passphrase)
    assert signing_key.public_key.multibase == method["publicKeyMultibase"]


def test_init_did_key(cli: CLI, home: Path, passphrase: str) -> None:
    run = init_issuer(cli, "key")

    settings = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    did = settings["issuer_id"]
    assert settings["did_method"] == "key"
    assert did.startswith("did:key:z6Mk")
    assert json.loads((home / "did.json").read_text(encoding="utf-8")) == resolve_did_key(did)
    assert (
        KeyStore.open(home / "keys").load_signing_key(passphrase).public_key.multibase
        == did[len("did:key:") :]
    )
    assert _mode(home / "keys") == 0o700
    assert did in run.out
    assert "Publish" not in run.out  # nothing to publish for did:key


def test_second_init_refuses_and_changes_nothing(cli: CLI, home: Path, passphrase: str) -> None:
    init_issuer(cli, "web")
    before = {p.relative_to(home): p.read_bytes() for p in home.rglob("*") if p.is_file()}

    run = cli(
        "init", "--issuer-name", "Someone Else", "--issuer-url", "https://other.example", "--did", "key"
    )

    assert run.code == 2
    assert "already" in run.err
    after = {p.relative_to(home): p.read_bytes() for p in home.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize(
    "url",
    [
        "http://credentials.caiep.example",
        "ftp://credentials.caiep.example",
        "https://",
        "https://x.example/?a=1",
    ],
)
def test_init_refuses_a_non_https_issuer_url(cli: CLI, home: Path, passphrase: str, url: str) -> None:
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", url)

    assert run.code == 2
    assert "--issuer-url" in run.err
    assert not home.exists()


def test_init_without_passphrase_and_without_terminal(cli: CLI, home: Path) -> None:
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL)

    assert run.code == 2
    assert "CAIEP_KEY_PASSPHRASE" in run.err
    assert not (home / "settings.json").exists()
    assert not (home / "keys").exists()


def test_init_refuses_a_short_passphrase(cli: CLI, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIEP_KEY_PASSPHRASE", "eleven char")
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL)
    assert run.code == 2
    assert "12 characters" in run.err
    assert "eleven char" not in run.out + run.err


def test_commands_need_an_instance(cli: CLI, home: Path, passphrase: str) -> None:
    for args in (["did"], ["issue", *HOLDER]):
        run = cli(*args)
        assert run.code == 2
        assert "caiep init" in run.err


def test_home_from_environment(
    cli: CLI, tmp_path: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIEP_HOME", str(tmp_path / "from-env"))
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL, home_dir=None)
    assert run.code == 0
    assert (tmp_path / "from-env" / "settings.json").is_file()


# --- issue -----------------------------------------------------------------------------------


def test_issue_without_passphrase_names_the_variable(
    cli: CLI, home: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_issuer(cli, "key")
    monkeypatch.delenv("CAIEP_KEY_PASSPHRASE")
    run = cli("issue", *HOLDER)
    assert run.code == 2
    assert "CAIEP_KEY_PASSPHRASE" in run.err
    assert run.out == ""


def test_issue_with_a_wrong_passphrase_is_a_usage_error(
    cli: CLI, home: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_issuer(cli, "key")
    monkeypatch.setenv("CAIEP_KEY_PASSPHRASE", "not the passphrase at all")
    run = cli("issue", *HOLDER)
    assert run.code == 2  # 1 means "the credential is invalid"; nothing was verified here
    assert "passphrase" in run.err
    assert run.out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Jane", "--email", "not-an-address", "--exam-date", "2025-01-15"], "e-mail"),
        (["--name", "Jane", "--email", "jane@example.org", "--exam-date", "2999-01-01"], "future"),
    ],
)
def test_issue_refuses_bad_holder_data(
    cli: CLI, home: Path, passphrase: str, args: list[str], message: str
) -> None:
    init_issuer(cli, "key")
    run = cli("issue", *args)
    assert run.code == 2
    assert message in run.err
    assert run.out == ""


@pytest.mark.parametrize("method", ["key", "web"])
def test_issue_ldp_to_a_file(cli: CLI, home: Path, passphrase: str, method: str) -> None:
    init_issuer(cli, method)
    out = home / "jane.credential.json"

    run = cli("issue", *HOLDER, "--out", str(out))

    assert run.code == 0
    assert run.out == ""
    credential = json.loads(out.read_text(encoding="utf-8"))
    assert f"Wrote {credential['id']} to {out}" in run.err
    assert credential["credentialSubject"]["name"] == "Jane Doe"
    assert "jane.doe@example.org" not in out.read_text(encoding="utf-8")  # only its salted hash
    settings = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    assert credential["issuer"]["id"] == settings["issuer_id"]
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    fetcher = instance_fetcher(home, _did_web_fetcher(home) if method == "web" else None)
    assert verify(credential, now=datetime.now(UTC), fetcher=fetcher).verdict is Verdict.VALID
    # One BitstringStatusListEntry, for revocation, in a list served under the issuer's URL.
    status = credential["credentialStatus"]
    url = f"{settings['issuer_url']}/status/1"
    assert status == {
        "id": f"{url}#{status['statusListIndex']}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": status["statusListIndex"],
        "statusListCredential": url,
    }
    assert status["statusListIndex"].isdigit()


@pytest.mark.parametrize("method", ["key", "web"])
def test_issue_jwt_to_stdout(cli: CLI, home: Path, passphrase: str, method: str) -> None:
    init_issuer(cli, method)

    run = cli("issue", *HOLDER, "--format", "jwt")

    assert run.code == 0
    assert run.out.endswith("\n")
    assert run.out.count("\n") == 1
    token = run.out.strip()
    assert token.count(".") == 2
    fetcher = instance_fetcher(home, _did_web_fetcher(home) if method == "web" else None)
    result = verify(token, now=datetime.now(UTC), fetcher=fetcher)
    assert (result.format, result.verdict) == ("jwt", Verdict.VALID)


def test_issue_ldp_to_stdout_and_jwt_to_a_file(cli: CLI, home: Path, passphrase: str) -> None:
    init_issuer(cli, "key")

    ldp = cli("issue", *HOLDER, "--score", "82", "--pathway", "experience")
    jwt_file = home / "jane.jwt"
    jwt = cli("issue", *HOLDER, "--format", "jwt", "--out", str(jwt_file))

    assert ldp.code == jwt.code == 0
    credential = json.loads(ldp.out)
    assert credential["credentialSubject"]["result"][0]["value"] == "82"
    fetcher = instance_fetcher(home)
    assert verify(credential, now=datetime.now(UTC), fetcher=fetcher).verdict is Verdict.VALID
    assert jwt.out == ""
    jwt_result = verify(jwt_file.read_text(encoding="utf-8"), now=datetime.now(UTC), fetcher=fetcher)
    assert jwt_result.verdict is Verdict.VALID


# --- verify ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["web", "key"])
def test_did_prints_the_did_document(cli: CLI, home: Path, passphrase: str, method: str) -> None:
    init_issuer(cli, method)
    run = cli("did")
    assert run.code == 0
    assert json.loads(run.out) == json.loads((home / "did.json").read_text(encoding="utf-8"))
    assert "proof" not in run.out


# --- secrets never leave the key files -------------------------------------------------------


def _secret_forms(seed: bytes) -> list[bytes]:
    forms = [
        seed.hex(),
        seed.hex().upper(),
        b64url_encode(seed),
        base64.b64encode(seed).decode("ascii"),
        base64.b64encode(seed).decode("ascii").rstrip("="),
        encode_secret_key(seed),
        encode_secret_key(seed)[1:],  # the base58 body without the multibase prefix
    ]
    return [form.encode("ascii") for form in forms] + [seed]


@pytest.mark.parametrize("method", ["web", "key"])
def test_no_output_or_file_holds_the_passphrase_or_the_private_key(
    cli: CLI, home: Path, passphrase: str, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [init_issuer(cli, method)]
    fetcher = _did_web_fetcher(home) if method == "web" else MappingFetcher({})
    monkeypatch.setattr("caiep.trust.make_fetcher", lambda *, allow_http_base: fetcher)
    runs.append(cli("issue", *HOLDER, "--out", str(home / "jane.json")))
    runs.append(cli("issue", *HOLDER, "--format", "jwt", "--out", str(home / "jane.jwt")))
    runs.append(cli("issue", *HOLDER))
    runs.append(cli("issue", *HOLDER, "--format", "jwt"))
    runs.append(cli("verify", str(home / "jane.json"), "--json"))
    runs.append(cli("verify", str(home / "jane.jwt")))
    runs.append(cli("did"))
    monkeypatch.setenv("CAIEP_KEY_PASSPHRASE", "a wrong passphrase, long enough")
    runs.append(cli("issue", *HOLDER))
    assert [run.code for run in runs] == [0, 0, 0, 0, 0, 0, 0, 0, 2]

    seed = KeyStore.open(home / "keys").load_signing_key(passphrase).export_seed_unsafe()
    secrets = _secret_forms(seed)
    outputs = [
        (f"run {i} {stream}", text.encode("utf-8"))
        for i, run in enumerate(runs)
        for stream, text in (("stdout", run.out), ("stderr", run.err))
    ]
    files = [(str(path), path.read_bytes()) for path in home.rglob("*") if path.is_file()]
    assert len(files) >= 6  # settings, did.json, index, key, two credentials
    for where, data in outputs + files:
        assert passphrase.encode("utf-8") not in data, f"passphrase in {where}"
        if where.endswith(".pem"):
            continue  # the encrypted key: its ciphertext may contain any byte string
        for form in secrets:
            assert form not in data, f"private key ({form[:6]!r}…) in {where}"


# --- the installed console script, end to end ------------------------------------------------


def test_console_script_end_to_end_with_did_web_over_http(tmp_path: Path, did_web_site: Site) -> None:
    site, base, requested = did_web_site.root, did_web_site.base, did_web_site.requested
    script = Path(sys.executable).with_name("caiep")
    assert script.is_file(), f"the console script is not installed at {script}"
    home = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    env["CAIEP_KEY_PASSPHRASE"] = "a long and entirely fictional passphrase"

    def caiep(*args: str, instance: bool = True) -> subprocess.CompletedProcess[str]:
        named = ["--home", str(home)] if instance else []  # an employer verifies with no instance
        return subprocess.run(
            [str(script), *named, *args],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    init = caiep("init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL)
    assert init.returncode == 0, init.stderr
    (site / ".well-known" / "did.json").write_bytes((home / "did.json").read_bytes())
    issue = caiep("issue", *HOLDER, "--out", str(home / "jane.json"))
    assert issue.returncode == 0, issue.stderr
    did_web_site.publish_status_lists(home)  # its status list, as a static copy

    verified = caiep("verify", str(home / "jane.json"), "--json", "--allow-http-base", base, instance=False)

    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert (report["verified"], report["status"]) == (True, "valid")
    assert WEB_DID in {c["name"]: c["message"] for c in report["checks"]}["proof"]
    assert requested == ["/.well-known/did.json", "/status/1"]
    assert {c["name"]: c["code"] for c in report["checks"]}["status"] == "not_revoked"

    # the same credential, once its issuer's DID document is gone, cannot be verified
    (site / ".well-known" / "did.json").unlink()
    gone = caiep("verify", str(home / "jane.json"), "--json", "--allow-http-base", base, instance=False)
    assert gone.returncode == 2
    assert json.loads(gone.stdout)["status"] == "cannot_be_verified"
    for run in (init, issue, verified, gone):
        assert env["CAIEP_KEY_PASSPHRASE"] not in run.stdout + run.stderr


# --- the command declarations ----------------------------------------------------------------


def test_flag_choices_are_the_issuers() -> None:
    """The CLI declares pathways and formats without importing the issuer; they must stay equal."""
    from caiep.commands.common import FORMATS, PATHWAYS
    from caiep.issuer.charter import PATHWAYS as ISSUER_PATHWAYS
    from caiep.issuer.issuance import FORMATS as ISSUER_FORMATS

    assert sorted(PATHWAYS) == sorted(ISSUER_PATHWAYS)
    assert tuple(FORMATS) == tuple(ISSUER_FORMATS)


def test_help_lists_every_command(cli: CLI) -> None:
    run = cli("--help", home_dir=None)
    assert run.code == 0
    listed = {line.split()[0] for line in run.out.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {
        "init", "issue", "verify", "did", "serve", "signer", "results", "sign", "jobs", "credentials",
        "export", "holder", "revoke", "suspend", "reinstate", "renew", "mail", "status", "publish", "audit",
        "keys", "db", "config", "offer", "register", "apikey", "verifier-key",
    }  # fmt: skip


def test_unknown_command_is_a_usage_error(cli: CLI, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli("frobnicate")
    assert caught.value.code == 2
    assert "frobnicate" in capsys.readouterr().err


def test_exit_codes_of_errors_raised_on_purpose() -> None:
    """Unusable input, settings or keys exit 2; every other CaiepError (an invalid answer) exits 1."""
    import caiep.errors as errors
    from caiep.cli import exit_code_for

    unusable = (errors.InputError, errors.ConfigurationError, errors.KeyMaterialError)
    tree = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.CaiepError)]
    assert len(tree) >= 15
    for kind in tree:
        error = kind.__new__(kind)
        assert exit_code_for(error) == (2 if issubclass(kind, unusable) else 1), kind.__name__
    assert exit_code_for(errors.PassphraseError("wrong")) == 2


@pytest.mark.parametrize("args", [["--help"], ["verify", "--help"], ["credentials", "list", "--help"]])
def test_a_closed_pipe_ends_the_console_script_quietly(tmp_path: Path, args: list[str]) -> None:
    """``caiep … | head`` : the reader went away; that is a normal end (0), without a traceback."""
    script = Path(sys.executable).with_name("caiep")
    process = subprocess.Popen(
        [str(script), *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()  # before the command has started, let alone written
    error = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert b"Traceback" not in error
