"""A real SMTP server for the tests (aiosmtpd on a loopback port), with TLS and scripted replies.

Use :class:`SmtpServer` in the test's own process (a thread runs its event loop) or
:class:`SmtpServerProcess` when the test kills the sender with ``kill -9`` and wants the server to
outlive anything that happens in the test process. Both record every accepted message
(:class:`Received`: envelope, exact bytes, Message-ID), in memory and, given ``record_dir``, as
one ``NNNNNN.eml`` + ``NNNNNN.json`` pair per message written atomically (the JSON last).

TLS (RFC 3207 STARTTLS, or implicit TLS as on port 465, RFC 8314) uses certificates from
:class:`TestAuthority` (tests/lib/tls_certificates.py), a throwaway CA: its ``ca_file`` is what
``CAIEP_SMTP_CA_FILE`` points at; ``issue(("localhost", "127.0.0.1"))`` makes the server's
certificate, and a certificate for another name shows that the host name is checked.

:class:`Script` says how the server answers: accounts for AUTH (a wrong password gets ``535``),
recipients always refused (``550``), replies given once each in order (``451`` then the normal
``250``), and connection drops at a stage of the transaction. Every command the server sees is
logged in ``commands`` (``("RCPT", "jane@example.org", "250 OK")``) so a test can count attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from tls_certificates import Certificate, TestAuthority

__all__ = [
    "DROP_STAGES", "Certificate", "Received", "Script", "SmtpServer", "SmtpServerProcess", "TestAuthority",
    "message_id_of", "read_records",
]  # fmt: skip

HOST = "127.0.0.1"
#: Stages at which :attr:`Script.drops` can cut the connection. ``DATA`` cuts after the message
#: arrived and before it is accepted (not recorded); ``ACCEPTED`` records the message and cuts
#: before the ``250`` reaches the client (the sender cannot know it was delivered).
DROP_STAGES = ("MAIL", "RCPT", "DATA", "ACCEPTED")
_OK = "250 OK"


@dataclass
class Script:
    """How the server answers. Lists are consumed one reply (or drop) at a time, in order; once a
    list is empty the server answers normally. Addresses compare case-insensitively.

    - ``users``: AUTH accounts (user → password); when any is given, AUTH is required before
      MAIL and a wrong password is answered ``535 5.7.8``.
    - ``rejected``: recipients refused at every RCPT TO with the given reply (``550 5.1.1 …``).
    - ``rcpt_replies``: per recipient, replies to its next RCPT TOs (``["451 4.3.0 busy"]``).
    - ``mail_replies`` / ``data_replies`` / ``starttls_replies``: the next replies to MAIL FROM,
      to the end of DATA (the message is then not recorded) and to STARTTLS.
    - ``drops``: the stages (:data:`DROP_STAGES`) at which the next transactions are cut.
    """

    users: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    mail_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    starttls_replies: list[str] = field(default_factory=list)
    drops: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = set(self.drops) - set(DROP_STAGES)
        if unknown:
            raise ValueError(f"unknown drop stages {sorted(unknown)}; known: {DROP_STAGES}")
        self.rejected = {address.lower(): reply for address, reply in self.rejected.items()}
        self.rcpt_replies = {address.lower(): list(replies) for address, replies in self.rcpt_replies.items()}

    def take_drop(self, stage: str) -> bool:
        """True (and consumed) when the next scripted drop is at ``stage``."""
        if self.drops and self.drops[0] == stage:
            self.drops.pop(0)
            return True
        return False


@dataclass(frozen=True)
class Received:
    """One accepted message: envelope sender and recipients, the exact bytes, its Message-ID."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    message_id: str | None
    tls: bool
    user: str | None


class _Handler:
    """aiosmtpd hooks that follow a :class:`Script` and record what is accepted."""

    def __init__(self, script: Script, record_dir: Path | None) -> None:
        self.script = script
        self.record_dir = record_dir
        self.received: list[Received] = []
        self.commands: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)

    def log(self, command: str, argument: str, reply: str) -> str:
        with self.lock:
            self.commands.append((command, argument, reply))
        return reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.script.take_drop("MAIL"):
            return _cut(server, self.log("MAIL", address, "(connection cut)"))
        if self.script.mail_replies:
            return self.log("MAIL", address, self.script.mail_replies.pop(0))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return self.log("MAIL", address, _OK)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        key = address.lower()
        if self.script.take_drop("RCPT"):
            return _cut(server, self.log("RCPT", address, "(connection cut)"))
        if key in self.script.rejected:
            return self.log("RCPT", address, self.script.rejected[key])
        queued = self.script.rcpt_replies.get(key)
        if queued:
            return self.log("RCPT", address, queued.pop(0))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return self.log("RCPT", address, _OK)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipients = ",".join(envelope.rcpt_tos)
        if self.script.take_drop("DATA"):
            return _cut(server, self.log("DATA", recipients, "(connection cut)"))
        if self.script.data_replies:
            return self.log("DATA", recipients, self.script.data_replies.pop(0))
        data = envelope.original_content or b""
        user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        message = Received(
            sender=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
            data=data,
            message_id=message_id_of(data),
            tls=session.ssl is not None or _is_tls(server),
            user=user,
        )
        self.record(message)
        if self.script.take_drop("ACCEPTED"):
            return _cut(server, self.log("DATA", recipients, "(accepted, then connection cut)"))
        return self.log("DATA", recipients, "250 2.0.0 Message accepted for delivery")

    def record(self, message: Received) -> None:
        with self.lock:
            self.received.append(message)
            number = len(self.received)
        if self.record_dir is None:
            return
        stem = self.record_dir / f"{number:06d}"
        _write_atomic(stem.with_suffix(".eml"), message.data)
        envelope = {k: v for k, v in asdict(message).items() if k != "data"}
        _write_atomic(stem.with_suffix(".json"), json.dumps(envelope).encode())

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            self.log("AUTH", mechanism, "535 5.7.8 Authentication credentials invalid")
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        if self.script.users.get(user) == password:
            self.log("AUTH", user, "235 2.7.0 Authentication successful")
            return AuthResult(success=True, auth_data=auth_data)
        self.log("AUTH", user, "535 5.7.8 Authentication credentials invalid")
        return AuthResult(success=False, handled=False)


def _is_tls(server: SMTP) -> bool:
    """True on an implicit TLS connection (aiosmtpd sets ``session.ssl`` after STARTTLS only)."""
    return server.transport is not None and server.transport.get_extra_info("ssl_object") is not None


def _cut(server: SMTP, reply: str) -> str:
    """Abort the connection at once; the reply aiosmtpd then pushes goes nowhere."""
    assert server.transport is not None
    server.transport.abort()
    original = getattr(server, "_original_transport", None)  # the TCP transport under STARTTLS
    if original is not None:
        original.abort()
    return reply


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def message_id_of(data: bytes) -> str | None:
    """The Message-ID header of a message's bytes, as written (angle brackets included)."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(data)
    value = headers.get("Message-ID")
    return None if value is None else str(value).strip()


class _ScriptedSMTP(SMTP):
    """aiosmtpd's server, with scripted replies to STARTTLS."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._scripted = handler

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self._scripted.script.starttls_replies:
            await self.push(self._scripted.log("STARTTLS", "", self._scripted.script.starttls_replies.pop(0)))
            return
        self._scripted.log("STARTTLS", "", "220 Ready to start TLS")
        await super().smtp_STARTTLS(arg)


class SmtpServer:
    """An SMTP server on ``127.0.0.1`` (a free port) in a thread of this process.

    ``tls`` is ``"starttls"`` (offered after EHLO; needs ``certificate``), ``"implicit"`` (TLS
    from the first byte; needs ``certificate``) or ``"none"`` (no STARTTLS offered);
    ``smtputf8`` offers SMTPUTF8 (RFC 6531) for non-ASCII mailbox names. Use it as a
    context manager; :meth:`url` gives the URL a client is configured with.
    """

    def __init__(
        self,
        *,
        tls: str = "starttls",
        certificate: Certificate | None = None,
        script: Script | None = None,
        record_dir: Path | None = None,
        smtputf8: bool = False,
    ) -> None:
        if tls not in ("starttls", "implicit", "none"):
            raise ValueError(f"tls must be starttls, implicit or none, not {tls!r}")
        if tls != "none" and certificate is None:
            raise ValueError(f"tls={tls} needs a certificate")
        self.tls = tls
        self.certificate = certificate
        self.smtputf8 = smtputf8
        self.script = script or Script()
        self.handler = _Handler(self.script, record_dir)
        self.host = HOST
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smtp-server", daemon=True)
        self._server: asyncio.Server | None = None
        self._protocols: list[SMTP] = []

    @property
    def received(self) -> list[Received]:
        """Every message accepted so far, in order."""
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def commands(self) -> list[tuple[str, str, str]]:
        """Every MAIL, RCPT, DATA, AUTH and STARTTLS seen: (command, argument, reply)."""
        with self.handler.lock:
            return list(self.handler.commands)

    def url(self, scheme: str | None = None, *, user: str | None = None, host: str = "localhost") -> str:
        """The URL a client uses: ``smtp://`` for STARTTLS, ``smtps://`` for implicit TLS,
        ``smtp+insecure://`` without TLS, unless ``scheme`` says otherwise."""
        scheme = scheme or {"starttls": "smtp", "implicit": "smtps", "none": "smtp+insecure"}[self.tls]
        userinfo = f"{user}@" if user else ""
        return f"{scheme}://{userinfo}{host}:{self.port}"

    def _factory(self) -> SMTP:
        starttls = self.tls == "starttls"
        assert self.certificate is not None or not starttls
        protocol = _ScriptedSMTP(
            self.handler,
            hostname="mail.test.example",
            tls_context=self.certificate.server_context() if starttls and self.certificate else None,
            require_starttls=starttls,
            authenticator=self.handler.authenticate,
            auth_required=bool(self.script.users),
            auth_require_tls=self.tls != "none",
            enable_SMTPUTF8=self.smtputf8,
            loop=self._loop,
        )
        self._protocols.append(protocol)
        return protocol

    def start(self) -> SmtpServer:
        """Listen on a free loopback port (``port`` then holds it) and serve in a thread."""
        context = self.certificate.server_context() if self.tls == "implicit" and self.certificate else None
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(self._factory, self.host, 0, ssl=context), self._loop
        )
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop listening, close the connections and end the thread."""
        if self._server is not None:

            async def close(server: asyncio.Server) -> None:
                server.close()
                if hasattr(server, "close_clients"):
                    server.close_clients()
                await asyncio.wait_for(server.wait_closed(), 5)
                pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for protocol in self._protocols:  # aiosmtpd leaves some closed or failed ones open
                    for transport in (protocol.transport, getattr(protocol, "_original_transport", None)):
                        if transport is not None:
                            transport.abort()
                await asyncio.sleep(0)

            asyncio.run_coroutine_threadsafe(close(self._server), self._loop).result(timeout=10)
            self._server = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def read_records(record_dir: Path) -> list[Received]:
    """The messages a server recorded in ``record_dir``, in the order it accepted them."""
    messages = []
    for envelope_file in sorted(record_dir.glob("[0-9]*.json")):
        envelope = json.loads(envelope_file.read_text())
        messages.append(
            Received(
                sender=envelope["sender"],
                recipients=tuple(envelope["recipients"]),
                data=envelope_file.with_suffix(".eml").read_bytes(),
                message_id=envelope["message_id"],
                tls=envelope["tls"],
                user=envelope["user"],
            )
        )
    return messages


class SmtpServerProcess:
    """The same server in a child process that survives whatever the test does to the sender.

    The script is fixed when it starts; what it accepted is read back from ``record_dir``
    (:attr:`received`). Use it as a context manager; it is stopped with SIGTERM.
    """

    def __init__(
        self,
        record_dir: Path,
        *,
        tls: str = "starttls",
        certificate: Certificate | None = None,
        script: Script | None = None,
    ) -> None:
        self.record_dir = record_dir
        self.tls = tls
        self.port = 0
        self._arguments = {
            "tls": tls,
            "certificate": None
            if certificate is None
            else [str(certificate.cert_file), str(certificate.key_file), list(certificate.host_names)],
            "script": asdict(script or Script()),
            "record_dir": str(record_dir),
        }
        self._process: subprocess.Popen[str] | None = None

    def url(self, scheme: str | None = None, *, user: str | None = None, host: str = "localhost") -> str:
        """As :meth:`SmtpServer.url`."""
        scheme = scheme or {"starttls": "smtp", "implicit": "smtps", "none": "smtp+insecure"}[self.tls]
        return f"{scheme}://{f'{user}@' if user else ''}{host}:{self.port}"

    @property
    def received(self) -> list[Received]:
        """Every message the server accepted so far."""
        return read_records(self.record_dir)

    def start(self) -> SmtpServerProcess:
        """Start the child and wait until it listens."""
        self._process = subprocess.Popen(
            [sys.executable, __file__, json.dumps(self._arguments)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self._process.kill()
            raise RuntimeError(f"the SMTP server process did not start: {line!r}")
        self.port = int(line)
        return self

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 10 seconds)."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def __enter__(self) -> SmtpServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _serve(arguments: dict[str, Any]) -> None:
    certificate = None
    if arguments["certificate"]:
        cert_file, key_file, names = arguments["certificate"]
        certificate = Certificate(Path(cert_file), Path(key_file), tuple(names))
    server = SmtpServer(
        tls=arguments["tls"],
        certificate=certificate,
        script=Script(**arguments["script"]),
        record_dir=Path(arguments["record_dir"]),
    ).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(server.port, flush=True)
    while not stopped.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve SMTP for the tests (see the module docstring).")
    parser.add_argument("arguments", help="JSON: tls, certificate, script, record_dir")
    _serve(json.loads(parser.parse_args().arguments))
