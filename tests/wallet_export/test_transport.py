"""The SMTP and .eml transports against a real SMTP server (aiosmtpd) on loopback.

Each test starts the server it needs (tests/lib/smtp_server.py): STARTTLS or implicit TLS with a
throwaway CA trusted through the CA file, a certificate for another host name, no STARTTLS,
AUTH accounts and scripted replies. What the server recorded is the evidence.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtp_server import Certificate, Script, SmtpServer, SmtpServerProcess, TestAuthority

from caiep.errors import ConfigurationError
from caiep.wallet_export.transport import (
    EmlTransport,
    RecipientRefused,
    SmtpConfigurationError,
    SmtpTransport,
    TemporaryFailure,
    Transport,
    open_transport,
    smtp_address,
)

SENDER = "registry@caiep.example"
PASSWORD = "s3cret pass phrase"


def _message(number: int, recipient: str = "jane@example.org") -> bytes:
    return (
        f"From: CAiEP <{SENDER}>\r\nTo: <{recipient}>\r\nSubject: test {number}\r\n"
        f"Message-ID: <event-{number}@caiep.example>\r\n\r\nBody {number}\r\n.leading dot\r\n"
    ).encode()


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> TestAuthority:
    return TestAuthority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def localhost_certificate(authority: TestAuthority) -> Certificate:
    return authority.issue(("localhost", "127.0.0.1"))


@pytest.fixture
def starttls_server(localhost_certificate: Certificate) -> Iterator[SmtpServer]:
    with SmtpServer(tls="starttls", certificate=localhost_certificate) as server:
        yield server


_opened: list[Transport] = []


@pytest.fixture(autouse=True)
def _close_transports() -> Iterator[None]:
    """Every transport a test opened is closed after it, whatever the test left open."""
    yield
    while _opened:
        _opened.pop().close()


def _open(url: str, authority: TestAuthority, tmp_path: Path, password: str | None = None) -> Transport:
    transport = open_transport(
        url,
        outbox_dir=tmp_path / "outbox",
        ca_file=authority.ca_file,
        password=password,
        local_hostname="test",
    )
    _opened.append(transport)
    return transport


def test_starttls_with_the_private_ca_delivers_over_one_connection(
    starttls_server: SmtpServer, authority: TestAuthority, tmp_path: Path
) -> None:
    transport = _open(starttls_server.url(), authority, tmp_path)
    try:
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        transport.send(_message(2, "bob@example.org"), sender=SENDER, recipient="bob@example.org")
    finally:
        transport.close()

    received = starttls_server.received
    assert [(m.sender, m.recipients, m.message_id, m.tls) for m in received] == [
        (SENDER, ("jane@example.org",), "<event-1@caiep.example>", True),
        (SENDER, ("bob@example.org",), "<event-2@caiep.example>", True),
    ]
    # The bytes arrive exactly, the leading dot un-stuffed by the server.
    assert received[0].data.replace(b"\r\n", b"\n") == _message(1).replace(b"\r\n", b"\n")
    assert [c[0] for c in starttls_server.commands] == [
        "STARTTLS",
        "MAIL",
        "RCPT",
        "DATA",
        "MAIL",
        "RCPT",
        "DATA",
    ]


def test_the_system_cas_do_not_trust_a_private_ca(starttls_server: SmtpServer, tmp_path: Path) -> None:
    transport = open_transport(starttls_server.url(), outbox_dir=tmp_path, ca_file=None, password=None)

    with pytest.raises(SmtpConfigurationError, match=r"certificate of smtp://localhost:.* was refused"):
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    assert starttls_server.received == []


def test_a_certificate_for_another_host_name_is_refused(authority: TestAuthority, tmp_path: Path) -> None:
    elsewhere = authority.issue(("mail.elsewhere.example",))
    with SmtpServer(tls="starttls", certificate=elsewhere) as server:
        transport = _open(server.url(), authority, tmp_path)

        with pytest.raises(ConfigurationError, match=r"Hostname mismatch.*CAIEP_SMTP_CA_FILE"):
            transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        assert server.received == []
        assert [c[0] for c in server.commands] == ["STARTTLS"]  # no MAIL after the failed handshake


def test_smtp_url_refuses_a_server_without_starttls(authority: TestAuthority, tmp_path: Path) -> None:
    with SmtpServer(tls="none") as server:
        transport = _open(server.url("smtp"), authority, tmp_path)

        with pytest.raises(SmtpConfigurationError, match="does not offer STARTTLS") as raised:
            transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        assert raised.value.smtp_code is None
        assert server.received == []
        assert server.commands == []


def test_a_5xx_to_starttls_is_a_configuration_fault(
    localhost_certificate: Certificate, tmp_path: Path
) -> None:
    script = Script(starttls_replies=["554 5.7.0 TLS not allowed for you"])
    with SmtpServer(tls="starttls", certificate=localhost_certificate, script=script) as server:
        transport = open_transport(server.url(), outbox_dir=tmp_path, ca_file=None, password=None)

        with pytest.raises(SmtpConfigurationError, match="refused STARTTLS: 554") as raised:
            transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        assert raised.value.smtp_code == 554
        assert server.received == []


def test_smtps_is_tls_from_the_first_byte(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    with SmtpServer(tls="implicit", certificate=localhost_certificate) as server:
        transport = _open(server.url(), authority, tmp_path)
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        transport.close()

        assert server.url().startswith("smtps://")
        assert [(m.message_id, m.tls) for m in server.received] == [("<event-1@caiep.example>", True)]


def test_smtps_to_a_plain_server_is_a_configuration_fault(authority: TestAuthority, tmp_path: Path) -> None:
    with SmtpServer(tls="none") as server:
        transport = _open(server.url("smtps"), authority, tmp_path)

        with pytest.raises(SmtpConfigurationError, match="no TLS session"):
            transport.send(_message(1), sender=SENDER, recipient="jane@example.org")


def test_auth_with_the_password_and_a_percent_encoded_user(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    script = Script(users={"registry@caiep.example": PASSWORD})
    with SmtpServer(tls="starttls", certificate=localhost_certificate, script=script) as server:
        transport = _open(server.url(user="registry%40caiep.example"), authority, tmp_path, PASSWORD)
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        transport.close()

        assert [(m.user, m.message_id) for m in server.received] == [
            ("registry@caiep.example", "<event-1@caiep.example>")
        ]


def test_a_535_to_auth_stops_the_run_and_never_shows_the_password(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    script = Script(users={"registry": PASSWORD})
    with SmtpServer(tls="starttls", certificate=localhost_certificate, script=script) as server:
        transport = _open(server.url(user="registry"), authority, tmp_path, "wrong password")

        with pytest.raises(SmtpConfigurationError) as raised:
            transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        assert raised.value.smtp_code == 535
        assert "refused the login of 'registry': 535" in str(raised.value)
        assert "CAIEP_SMTP_PASSWORD" in str(raised.value)
        assert "wrong password" not in str(raised.value) + repr(transport)
        assert server.received == []
        assert "MAIL" not in [c[0] for c in server.commands]


def test_451_then_250_is_a_temporary_failure_then_delivered(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    script = Script(rcpt_replies={"jane@example.org": ["451 4.3.0 Mailbox busy, try later"]})
    with SmtpServer(tls="starttls", certificate=localhost_certificate, script=script) as server:
        transport = _open(server.url(), authority, tmp_path)

        with pytest.raises(TemporaryFailure) as raised:
            transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        assert (raised.value.smtp_code, raised.value.reply) == (451, "4.3.0 Mailbox busy, try later")
        assert server.received == []

        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")  # the retry
        transport.close()
        assert [m.message_id for m in server.received] == ["<event-1@caiep.example>"]


def test_550_to_rcpt_is_a_refused_recipient_and_the_next_message_still_goes(
    starttls_server: SmtpServer, authority: TestAuthority, tmp_path: Path
) -> None:
    starttls_server.script.rejected["nobody@example.org"] = "550 5.1.1 <nobody@example.org>: no such user"
    transport = _open(starttls_server.url(), authority, tmp_path)

    with pytest.raises(RecipientRefused) as raised:
        transport.send(_message(1, "nobody@example.org"), sender=SENDER, recipient="nobody@example.org")
    transport.send(_message(2), sender=SENDER, recipient="jane@example.org")
    transport.close()

    refused = raised.value
    assert (refused.recipient, refused.smtp_code, refused.stage) == ("nobody@example.org", 550, "RCPT TO")
    assert refused.reply == "5.1.1 <nobody@example.org>: no such user"
    assert [m.message_id for m in starttls_server.received] == ["<event-2@caiep.example>"]


def test_a_5xx_to_mail_from_is_a_configuration_fault(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    script = Script(mail_replies=["553 5.7.1 Sender address rejected: not owned by user"])
    with SmtpServer(tls="starttls", certificate=localhost_certificate, script=script) as server:
        transport = _open(server.url(), authority, tmp_path)

        with pytest.raises(SmtpConfigurationError, match="CAIEP_MAIL_FROM") as raised:
            transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        assert raised.value.smtp_code == 553


def test_a_4xx_or_5xx_to_the_message_itself(
    starttls_server: SmtpServer, authority: TestAuthority, tmp_path: Path
) -> None:
    starttls_server.script.data_replies.extend(
        ["452 4.3.1 Insufficient system storage", "554 5.6.0 Message refused"]
    )
    transport = _open(starttls_server.url(), authority, tmp_path)

    with pytest.raises(TemporaryFailure, match="452"):
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    with pytest.raises(RecipientRefused) as raised:
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    assert (raised.value.smtp_code, raised.value.stage) == (554, "DATA")
    transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    assert [m.message_id for m in starttls_server.received] == ["<event-1@caiep.example>"]


@pytest.mark.parametrize("stage", ["MAIL", "RCPT", "DATA"])
def test_a_dropped_connection_is_temporary_and_the_next_send_reconnects(
    starttls_server: SmtpServer, authority: TestAuthority, tmp_path: Path, stage: str
) -> None:
    starttls_server.script.drops.append(stage)
    transport = _open(starttls_server.url(), authority, tmp_path)

    with pytest.raises(TemporaryFailure):
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    assert starttls_server.received == []
    transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    transport.close()
    assert [m.message_id for m in starttls_server.received] == ["<event-1@caiep.example>"]
    assert [c[0] for c in starttls_server.commands].count("STARTTLS") == 2


def test_a_server_that_closed_an_idle_connection_is_reconnected(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    with SmtpServer(tls="starttls", certificate=localhost_certificate) as server:
        transport = _open(server.url(), authority, tmp_path)
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
        assert isinstance(transport, SmtpTransport)
        assert transport._smtp is not None
        transport._smtp.sock.shutdown(socket.SHUT_RDWR)  # as if the server had timed us out

        transport.send(_message(2), sender=SENDER, recipient="jane@example.org")
        transport.close()
        assert [m.message_id for m in server.received] == [
            "<event-1@caiep.example>",
            "<event-2@caiep.example>",
        ]


def test_nothing_listening_is_temporary(authority: TestAuthority, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = _open(f"smtp://localhost:{port}", authority, tmp_path)

    with pytest.raises(TemporaryFailure, match=f"cannot reach smtp://localhost:{port}"):
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")


def test_a_server_in_another_process_records_to_a_directory(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    with SmtpServerProcess(tmp_path / "received", certificate=localhost_certificate) as server:
        transport = _open(server.url(), authority, tmp_path)
        transport.send(_message(7), sender=SENDER, recipient="jane@example.org")
        transport.close()
        assert [(m.message_id, m.recipients) for m in server.received] == [
            ("<event-7@caiep.example>", ("jane@example.org",))
        ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("smtp//host:587", "must start with smtp://"),
        ("http://mail.example:587", "must start with smtp://"),
        ("smtp://mail.example:port", "port that is not a number"),
        ("smtp://mail.example:70000", "port that is not a number"),
        ("smtp://", "has no host name"),
        ("smtp://user:hunter2@mail.example:587", "must not carry a password"),
        ("smtp://mail.example:587/inbox", "no path, query or fragment"),
        ("smtp://mail .example", "spaces"),
        ("smtp+insecure://mail.example:25", "loopback address only"),
    ],
)
def test_an_unusable_url_names_the_setting(url: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=f"^CAIEP_SMTP_URL: .*{reason}") as raised:
        open_transport(url, outbox_dir=tmp_path, ca_file=None, password=None)
    assert "hunter2" not in str(raised.value)


def test_what_a_url_says() -> None:
    assert smtp_address("smtp://me%40example.org@mail.example") == smtp_address(
        "smtp://me%40example.org@mail.example:587"
    )
    address = smtp_address("SMTPS://me%40example.org@Mail.Example")
    assert (address.scheme, address.host, address.port, address.user) == (
        "smtps",
        "mail.example",
        465,
        "me@example.org",
    )
    assert smtp_address("smtp+insecure://[::1]:2525").shown == "smtp+insecure://[::1]:2525"


def test_a_user_needs_a_password_and_a_password_a_user(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="names the user 'me' but no password"):
        open_transport("smtp://me@mail.example", outbox_dir=tmp_path, ca_file=None, password=None)
    with pytest.raises(ConfigurationError, match="names no user"):
        open_transport("smtp://mail.example", outbox_dir=tmp_path, ca_file=None, password="x")


def test_a_ca_file_that_is_missing_or_not_pem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"CAIEP_SMTP_CA_FILE: .* does not exist"):
        open_transport("smtp://mail.example", outbox_dir=tmp_path, ca_file=tmp_path / "no.pem", password=None)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="not a readable PEM file"):
        open_transport("smtp://mail.example", outbox_dir=tmp_path, ca_file=garbage, password=None)


def test_no_url_writes_one_private_eml_file_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    transport = open_transport(None, outbox_dir=outbox, ca_file=None, password=None)
    assert isinstance(transport, EmlTransport)

    transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    transport.send(_message(2), sender=SENDER, recipient="bob@example.org")
    transport.send(_message(2), sender=SENDER, recipient="bob@example.org")  # a re-send: same file

    files = sorted(p.name for p in outbox.iterdir())
    assert files == ["event-1@caiep.example.eml", "event-2@caiep.example.eml"]  # no temporary left
    assert (outbox / files[0]).read_bytes() == _message(1)
    assert {stat.S_IMODE(os.stat(outbox / name).st_mode) for name in files} == {0o600}
    assert stat.S_IMODE(os.stat(outbox).st_mode) == 0o700


def test_a_failed_eml_write_leaves_nothing_behind(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "event-1@caiep.example.eml").mkdir()  # the target cannot be replaced
    transport = open_transport(None, outbox_dir=outbox, ca_file=None, password=None)

    with pytest.raises(ConfigurationError, match="cannot write"):
        transport.send(_message(1), sender=SENDER, recipient="jane@example.org")
    assert [p.name for p in outbox.iterdir()] == ["event-1@caiep.example.eml"]


def test_a_non_ascii_mailbox_needs_smtputf8(
    localhost_certificate: Certificate, authority: TestAuthority, tmp_path: Path
) -> None:
    message = _message(1, "zoë@example.org")
    with SmtpServer(tls="starttls", certificate=localhost_certificate) as plain:
        transport = _open(plain.url(), authority, tmp_path)
        with pytest.raises(RecipientRefused, match="needs SMTPUTF8") as raised:
            transport.send(message, sender=SENDER, recipient="zoë@example.org")
        assert raised.value.smtp_code == 553
        assert plain.commands == [("STARTTLS", "", "220 Ready to start TLS")]  # nothing of it was sent

    with SmtpServer(tls="starttls", certificate=localhost_certificate, smtputf8=True) as modern:
        transport = _open(modern.url(), authority, tmp_path)
        transport.send(message, sender=SENDER, recipient="zoë@example.org")
        assert [m.recipients for m in modern.received] == [("zoë@example.org",)]
