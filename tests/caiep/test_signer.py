"""``caiep signer`` as it runs beside the web app: a real subprocess on its Unix socket, asked by
the web's client (:mod:`caiep.signerclient`). It signs wallet-bound copies that verify, refuses
what the protocol does not allow (and stores nothing then), answers no one but its own user and
the configured web user, and its absence is a temporary error."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cli_support import HOLDER, init_issuer
from signer_support import running_signer, start_signer

from caiep.errors import ConfigurationError
from caiep.keys.did import did_key_for
from caiep.keys.ed25519 import SigningKey
from caiep.signerclient import (
    MAX_REQUEST_BYTES,
    SignerRefused,
    SignerUnavailable,
    exchange,
    request_wallet_copy,
)
from caiep.signerservice import SignerService, allowed_uids, peer_uid
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify
from caiep.wiring import Instance
from support import instance_fetcher

PASSPHRASE = "correct horse battery staple 42"  # the ``passphrase`` fixture's (tests/caiep/conftest.py)
ENV = {"CAIEP_KEY_PASSPHRASE": PASSPHRASE}
if TYPE_CHECKING:
    from conftest import CLI

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def issued(cli: CLI, home: Path, passphrase: str) -> str:
    """A did:key instance (its credentials verify offline) with one credential; its uuid."""
    init_issuer(cli, "key")
    run = cli("issue", *HOLDER)
    assert run.code == 0, run.err
    return str(json.loads(run.out)["id"]).rsplit("/", 1)[1]


@pytest.fixture
def wallet_did(other_key: SigningKey) -> str:
    return did_key_for(other_key.public_key)


def _request(credential_id: str, subject: str, /, **changes: Any) -> bytes:
    request = {"op": "wallet_copy", "credential_id": credential_id, "subject": subject, "form": "ldp"}
    request["channel"] = "openid4vci"
    return json.dumps({**request, **changes}).encode() + b"\n"


def _answer(path: Path, line: bytes) -> dict[str, Any]:
    return dict(json.loads(exchange(path, line, timeout=20)))


def _stored(home: Path) -> list[tuple[str, str | None, str | None]]:
    with Instance(home).registry() as registry, registry.read() as connection:
        rows = connection.exec_driver_sql(
            "SELECT format, bound_to, channel FROM credential_copies ORDER BY id"
        ).all()
    return [(str(f), b, c) for f, b, c in rows]


def test_the_signer_signs_wallet_copies_that_verify(home: Path, issued: str, wallet_did: str) -> None:
    with running_signer(home, ENV) as signer:
        assert stat.S_IMODE(os.stat(signer.socket).st_mode) == 0o600
        copies = {
            form: request_wallet_copy(
                signer.socket, credential_id=issued, subject=wallet_did, form=form, channel="lcw", timeout=30
            )
            for form in ("ldp", "jwt")
        }
        output = signer.output()
    assert {form: copy.format for form, copy in copies.items()} == {"ldp": "ldp", "jwt": "jwt"}
    document = json.loads(copies["ldp"].document)
    assert document["credentialSubject"]["id"] == wallet_did
    for presented in (document, copies["jwt"].document.strip()):
        result = verify(presented, now=datetime.now(UTC), fetcher=instance_fetcher(home))
        assert result.outcome is Outcome.VALID, result.checks
    assert _stored(home)[-2:] == [("ldp", wallet_did, "lcw"), ("jwt", wallet_did, "lcw")]
    assert signer.process.returncode == 0
    assert "wallet_copy ldp lcw: ok" in output
    assert wallet_did not in output  # the log names neither the holder's wallet
    assert issued not in output  # nor the charter
    assert not signer.socket.exists()  # removed when it stopped


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"extra": "x"}, "unknown request members: extra"),
        ({"op": "sign_anything"}, "op must be"),
        ({"form": "pdf"}, "form must be one of"),
        ({"channel": "email"}, "channel must be one of"),
        ({"credential_id": "CAIEP-000001"}, "credential_id must be"),
        ({"subject": "did:web:wallet.example"}, "subject: the wallet DID must be"),
        ({"subject": ["did:key:z6Mk"]}, "subject:"),
        ({"proof": {"type": "DataIntegrityProof"}}, "unknown request members: proof"),
    ],
)
def test_a_request_with_another_member_or_value_is_refused(
    home: Path, issued: str, wallet_did: str, change: dict[str, Any], says: str
) -> None:
    before = _stored(home)
    with running_signer(home, ENV) as signer:
        answer = _answer(signer.socket, _request(issued, wallet_did, **change))
    assert answer["ok"] is False
    assert answer["error"] == "bad_request"
    assert says in answer["message"]
    assert _stored(home) == before


def test_malformed_missing_and_overlong_requests_are_refused(
    home: Path, issued: str, wallet_did: str
) -> None:
    before = _stored(home)
    duplicate = _request(issued, wallet_did)[:-2] + b', "form": "jwt"}\n'
    missing = json.dumps({"op": "wallet_copy", "credential_id": issued}).encode() + b"\n"
    overlong = _request(issued, wallet_did, subject="did:key:z" + "1" * MAX_REQUEST_BYTES)
    unended = b"{" + b" " * (MAX_REQUEST_BYTES + 10)
    with running_signer(home, ENV) as signer:
        for line, says in (
            (b"not json\n", "not one JSON object"),
            (b"[1, 2]\n", "not one JSON object"),
            (duplicate, "not one JSON object"),
            (missing, "missing request members: channel, form, subject"),
            (overlong, f"longer than {MAX_REQUEST_BYTES} bytes"),
            (unended, f"longer than {MAX_REQUEST_BYTES} bytes"),
        ):
            answer = _answer(signer.socket, line)
            assert (answer["ok"], answer["error"]) == (False, "bad_request"), line[:40]
            assert says in answer["message"]
        with pytest.raises(SignerRefused) as unknown:
            request_wallet_copy(
                signer.socket, credential_id=UNKNOWN, subject=wallet_did, form="ldp", channel="lcw"
            )
    assert unknown.value.error == "unknown_credential"
    assert _stored(home) == before


@pytest.mark.parametrize("command", ["revoke", "suspend"])
def test_a_revoked_or_suspended_charter_is_refused(
    cli: CLI, home: Path, issued: str, wallet_did: str, command: str
) -> None:
    assert cli(command, issued, "--reason", "Under review").code == 0
    before = _stored(home)
    with running_signer(home, ENV) as signer, pytest.raises(SignerRefused) as refused:
        request_wallet_copy(
            signer.socket, credential_id=issued, subject=wallet_did, form="jwt", channel="lcw"
        )
    assert refused.value.error == "not_current"
    assert ("revoked" if command == "revoke" else "suspended") in refused.value.message
    assert _stored(home) == before


def test_without_a_signer_the_client_answers_a_temporary_error(
    home: Path, issued: str, wallet_did: str, tmp_path: Path
) -> None:
    def ask(path: Path) -> Any:
        return request_wallet_copy(path, credential_id=issued, subject=wallet_did, form="ldp", channel="lcw")

    with pytest.raises(SignerUnavailable, match="not running"):
        ask(home / "signer.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(home / "signer.sock"))  # left by a signer that died: bound, nobody listening
    stale.close()
    with pytest.raises(SignerUnavailable, match="not accepting"):
        ask(home / "signer.sock")
    with running_signer(home, ENV) as signer:
        assert ask(signer.socket).format == "ldp"  # the stale socket was replaced
        second = subprocess.run(
            [str(signer.process.args[0]), "--home", str(home), "signer"],  # type: ignore[index]
            env={**os.environ, **ENV},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert "already listening" in second.stderr
        assert ask(signer.socket).format == "ldp"  # the first one still serves
    not_a_socket = tmp_path / "plain-file"
    not_a_socket.write_text("")
    with pytest.raises(RuntimeError, match="is not a socket"):
        start_signer(home, ENV, socket_path=not_a_socket)


def test_the_signer_needs_the_passphrase(home: Path, issued: str) -> None:
    with pytest.raises(RuntimeError, match="no key passphrase"):
        start_signer(home, {})
    with pytest.raises(RuntimeError, match="passphrase"):
        start_signer(home, {"CAIEP_KEY_PASSPHRASE": "not the passphrase at all"})
    assert not (home / "signer.sock").exists()


def _ask_over_a_socketpair(allowed: frozenset[int], line: bytes) -> dict[str, Any]:
    """What the service answers a peer at the other end of a real socketpair, whose uid the
    kernel gives (SO_PEERCRED), when ``allowed`` are the users that may ask."""
    asked: list[Any] = []
    logged: list[str] = []
    service = SignerService(asked.append, allowed, log=logged.append)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        assert peer_uid(ours) == os.geteuid() == peer_uid(theirs)
        theirs.sendall(line)
        service.handle(ours)
        answer = json.loads(theirs.makefile("rb").readline())
    if answer.get("error") == "forbidden":
        assert asked == []
        assert logged == [f"refused a connection from uid {os.geteuid()}: not the signer's or the web user's"]
    return dict(answer)


def test_a_peer_of_another_user_is_refused_before_its_request_is_read(wallet_did: str) -> None:
    line = _request(UNKNOWN, wallet_did)
    refused = _ask_over_a_socketpair(frozenset({os.geteuid() + 1}), line)
    assert refused == {"ok": False, "error": "forbidden", "message": "this user may not ask the signer"}
    bad = _ask_over_a_socketpair(frozenset({os.geteuid()}), b"[]\n")  # the same user is heard
    assert bad["error"] == "bad_request"


def test_the_allowed_users_are_the_signers_and_the_configured_web_user() -> None:
    import pwd

    assert allowed_uids(None) == {os.geteuid()}
    nobody = pwd.getpwnam("nobody").pw_uid
    assert allowed_uids("nobody") == {os.geteuid(), nobody}
    with pytest.raises(ConfigurationError, match="no user 'caiep-no-such-user'"):
        allowed_uids("caiep-no-such-user")


_CLIENT = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "try:\n"
    "    s.connect(sys.argv[1])\n"
    "except OSError as e:\n"
    "    print('connect:', e.errno); sys.exit(0)\n"
    "s.sendall(sys.argv[2].encode() + b'\\n')\n"
    "print(s.makefile().readline(), end='')\n"
)


@pytest.mark.skipif(os.geteuid() != 0, reason="running a client as another user needs root")
def test_another_user_is_refused_unless_it_is_the_web_user(
    home: Path, issued: str, wallet_did: str, request: pytest.FixtureRequest
) -> None:
    """A real client running as ``nobody``: the 0600 socket keeps it out; a socket opened to all
    still refuses it (SO_PEERCRED); with ``signer_web_user=nobody`` it gets its copy."""
    import pwd

    # Outside pytest's own temporary tree, which other pytest runs keep at 0700 (root's only).
    shared = Path(tempfile.mkdtemp(prefix="caiep-signer-"))
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    os.chmod(shared, 0o755)  # nobody may reach the socket
    path = shared / "signer.sock"
    line = _request(issued, wallet_did).decode().strip()

    def as_nobody() -> str:
        run = subprocess.run(
            ["/usr/bin/python3", "-c", _CLIENT, str(path), line],
            user="nobody",
            group=pwd.getpwnam("nobody").pw_gid,
            extra_groups=[],
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return run.stdout

    with running_signer(home, ENV, socket_path=path):
        assert as_nobody() == "connect: 13\n"  # EACCES: the socket is 0600
        os.chmod(path, 0o666)
        assert json.loads(as_nobody())["error"] == "forbidden"
    with running_signer(home, {**ENV, "CAIEP_SIGNER_WEB_USER": "nobody"}, socket_path=path):
        status = os.stat(path)
        assert (stat.S_IMODE(status.st_mode), status.st_gid) == (0o660, pwd.getpwnam("nobody").pw_gid)
        answer = json.loads(as_nobody())
    assert answer["ok"] is True, answer
    assert json.loads(answer["document"])["credentialSubject"]["id"] == wallet_did


def test_the_web_app_is_made_without_the_passphrase_and_never_reads_it(
    home: Path, issued: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``create_app()`` as gunicorn calls it: with no passphrase it serves; given one (here a value
    the settings reader would refuse, so any read of it would stop the app) it warns and still
    never reads it."""
    from caiep.app import create_app

    monkeypatch.setenv("CAIEP_HOME", str(home))
    monkeypatch.delenv("CAIEP_KEY_PASSPHRASE", raising=False)
    app = create_app(log_requests=False)
    assert app.test_client().get(f"/c/{issued}").status_code == 200
    monkeypatch.setenv("CAIEP_KEY_PASSPHRASE", "   ")
    with caplog.at_level("WARNING"):
        again = create_app(log_requests=False)
    assert again.test_client().get(f"/c/{issued}").status_code == 200
    assert any(
        "CAIEP_KEY_PASSPHRASE is set in the web app's environment" in r.getMessage() for r in caplog.records
    )
    from caiep.settings import read_configuration

    with pytest.raises(ConfigurationError, match="CAIEP_KEY_PASSPHRASE"):
        read_configuration(home)  # what a read of it would have done
