"""The signer process (``caiep signer``): the one process that holds the key, on a Unix socket.

It signs only wallet-bound copies (:mod:`caiep.issuer.walletcopies`) for the web app, which
never holds the key or its passphrase. The protocol is :mod:`caiep.signerclient`'s. Every
connection is checked before a byte is read: its peer (``SO_PEERCRED``, given by the kernel,
not by the peer) must run as the signer's own user or as ``signer_web_user``. The socket is
created mode 0600; with a ``signer_web_user`` other than the signer's user, 0660 and owned by
that user's primary group (the signer's user must belong to it), so that only the two may
connect at all.

A request line is read within :data:`READ_TIMEOUT` seconds and at most
:data:`~caiep.signerclient.MAX_REQUEST_BYTES` bytes; at most :data:`CONCURRENT` requests are
signed at once (further connections wait in the listen queue). A copy is committed before it
is answered, so no copy goes out unrecorded. SIGTERM or SIGINT stops accepting, lets the
requests under way finish, and removes the socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import socket
import stat
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caiep.errors import CaiepError, ConfigurationError, InputError
from caiep.issuer.issuance import FORMATS
from caiep.issuer.walletcopies import (
    CHANNELS,
    NotCurrent,
    UnknownCredential,
    WalletCopy,
    check_wallet_did,
    is_credential_uuid,
)
from caiep.signerclient import MAX_REQUEST_BYTES, REQUEST_FIELDS, WALLET_COPY

#: Seconds a peer has to send its request line.
READ_TIMEOUT = 5.0
#: Requests signed at the same time.
CONCURRENT = 4
#: The longest path a Unix socket address holds (sun_path, with its NUL).
MAX_SOCKET_PATH = 107
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


@dataclass(frozen=True)
class WalletCopyRequest:
    """One checked request: which credential, bound to which DID, in which form, by which channel."""

    credential_id: str
    subject: str
    form: str
    channel: str


class BadRequest(InputError):
    """A request line the protocol refuses (``bad_request``)."""

    code = "bad_request"


def parse_request(line: bytes) -> WalletCopyRequest:
    """The request of one line (without its newline); :class:`BadRequest` naming what is wrong."""
    from caiep.strictjson import loads_strict

    try:
        parsed = loads_strict(line, max_depth=2, source="request")
    except InputError as exc:
        raise BadRequest(f"the request is not one JSON object: {exc.message}") from None
    if not isinstance(parsed, dict):
        raise BadRequest("the request is not one JSON object")
    unknown = sorted(set(parsed) - REQUEST_FIELDS)
    if unknown:
        raise BadRequest(f"unknown request members: {', '.join(unknown)}")
    missing = sorted(REQUEST_FIELDS - set(parsed))
    if missing:
        raise BadRequest(f"missing request members: {', '.join(missing)}")
    if parsed["op"] != WALLET_COPY:
        raise BadRequest(f"op must be {WALLET_COPY!r}")
    if not is_credential_uuid(parsed["credential_id"]):
        raise BadRequest("credential_id must be a charter credential's lower-case uuid")
    if parsed["form"] not in FORMATS:
        raise BadRequest(f"form must be one of {', '.join(FORMATS)}")
    if parsed["channel"] not in CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}")
    try:
        subject = check_wallet_did(parsed["subject"])
    except InputError as exc:
        raise BadRequest(f"subject: {exc.message}") from None
    return WalletCopyRequest(parsed["credential_id"], subject, parsed["form"], parsed["channel"])


def peer_uid(connection: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket, as the kernel recorded it
    when it connected (``SO_PEERCRED``); the peer cannot choose it."""
    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    _, uid, _ = _PEERCRED.unpack(raw)
    return int(uid)


def allowed_uids(web_user: str | None) -> frozenset[int]:
    """The users who may ask: the signer's own, and ``web_user`` (a user name) when set."""
    uids = {os.geteuid()}
    if web_user:
        uids.add(web_account(web_user).pw_uid)
    return frozenset(uids)


def web_account(web_user: str) -> pwd.struct_passwd:
    """The account of ``signer_web_user``; ConfigurationError when there is no such user."""
    try:
        return pwd.getpwnam(web_user)
    except KeyError:
        raise ConfigurationError(f"signer_web_user: there is no user {web_user!r} on this system") from None


def open_listener(path: Path, *, web_user: str | None = None) -> socket.socket:
    """Listen on a new Unix socket at ``path`` (mode 0600, or 0660 for the web user's group).

    A stale socket left by a signer that died is replaced; a signer still answering there, or
    a file that is not a socket, is a ConfigurationError and nothing is changed.
    """
    encoded = os.fsencode(path)
    if len(encoded) > MAX_SOCKET_PATH:
        raise ConfigurationError(
            f"the signer socket path {path} is longer than {MAX_SOCKET_PATH} bytes; choose a shorter one"
        )
    _remove_stale(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)  # the socket is born 0600: no moment where another user may connect
    try:
        listener.bind(encoded)
    except OSError as exc:
        listener.close()
        raise ConfigurationError(f"cannot create the signer socket {path} ({exc.strerror})") from None
    finally:
        os.umask(previous)
    try:
        _share_with_web_user(path, web_user)
        listener.listen(16)
    except BaseException:
        listener.close()
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return listener


def _remove_stale(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigurationError(f"{path} exists and is not a socket; remove it or choose another path")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(os.fsencode(path))
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # left by a signer that is gone
            return
        except OSError as exc:
            raise ConfigurationError(f"the socket {path} cannot be checked ({exc.strerror})") from None
    raise ConfigurationError(f"a signer is already listening on {path}")


def _share_with_web_user(path: Path, web_user: str | None) -> None:
    if not web_user:
        return
    account = web_account(web_user)
    if account.pw_uid == os.geteuid():
        return
    try:
        os.chown(path, -1, account.pw_gid)
    except PermissionError:
        raise ConfigurationError(
            f"signer_web_user {web_user}: the signer's user must belong to {web_user}'s group "
            f"(gid {account.pw_gid}) to let it connect; e.g. usermod -aG {web_user} "
            f"{pwd.getpwuid(os.geteuid()).pw_name}"
        ) from None
    os.chmod(path, 0o660)


#: Signs and stores one copy (in its own committed transaction); the command builds it.
SignCopy = Callable[[WalletCopyRequest], WalletCopy]


class SignerService:
    """Answers requests on a listening socket until :meth:`stop`; see the module docstring."""

    def __init__(
        self, sign: SignCopy, allowed: frozenset[int], *, log: Callable[[str], None] | None = None
    ) -> None:
        self._sign = sign
        self._allowed = allowed
        self._log = log or _to_stderr
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(CONCURRENT)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def stop(self) -> None:
        """Stop accepting; :meth:`serve` returns once the requests under way are answered."""
        self._stopping.set()

    def serve(self, listener: socket.socket) -> None:
        """Accept and answer connections until :meth:`stop`; then wait for those under way."""
        listener.settimeout(0.2)
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                self._slots.release()
                continue
            except OSError:
                self._slots.release()
                if self._stopping.is_set():
                    break
                raise
            thread = threading.Thread(target=self._run, args=(connection,), daemon=True)
            with self._lock:
                self._threads.add(thread)
            thread.start()
        with self._lock:
            running = list(self._threads)
        for thread in running:
            thread.join()

    def _run(self, connection: socket.socket) -> None:
        try:
            with connection:
                self.handle(connection)
        finally:
            self._slots.release()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def handle(self, connection: socket.socket) -> None:
        """Check the peer, read one request line, answer it."""
        started = time.monotonic()
        uid = peer_uid(connection)
        if uid not in self._allowed:
            self._log(f"refused a connection from uid {uid}: not the signer's or the web user's")
            _answer(connection, _refusal("forbidden", "this user may not ask the signer"))
            return
        try:
            line = _read_line(connection)
            if line is None:
                return  # connected and left without a word: a check that the signer listens
            request = parse_request(line)
        except BadRequest as exc:
            self._log(f"bad request: {exc.message}")
            _answer(connection, _refusal("bad_request", exc.message))
            return
        outcome, answer = self._answer_for(request)
        self._log(
            f"{WALLET_COPY} {request.form} {request.channel}: {outcome} ({time.monotonic() - started:.2f} s)"
        )
        _answer(connection, answer)

    def _answer_for(self, request: WalletCopyRequest) -> tuple[str, dict[str, Any]]:
        try:
            copy = self._sign(request)
        except NotCurrent as exc:
            return "not_current", _refusal("not_current", exc.message)
        except UnknownCredential as exc:
            return "unknown_credential", _refusal("unknown_credential", exc.message)
        except InputError as exc:
            return "bad_request", _refusal("bad_request", exc.message)
        except CaiepError as exc:
            self._log(f"cannot sign: {exc.code}")
            return "internal", _refusal("internal", "the signer could not make the copy")
        except Exception as exc:  # the signer keeps serving; the type is logged, never the request
            self._log(f"cannot sign: {type(exc).__name__}")
            return "internal", _refusal("internal", "the signer could not make the copy")
        return "ok", {"ok": True, "format": copy.format, "document": copy.document}


def _read_line(connection: socket.socket) -> bytes | None:
    """One request line within READ_TIMEOUT and MAX_REQUEST_BYTES (newline included); None when
    the peer closes the connection without sending anything."""
    deadline = time.monotonic() + READ_TIMEOUT
    received = bytearray()
    while b"\n" not in received:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BadRequest(f"no complete request line within {READ_TIMEOUT:g} s")
        connection.settimeout(remaining)
        try:
            chunk = connection.recv(MAX_REQUEST_BYTES + 1 - len(received))
        except TimeoutError:
            raise BadRequest(f"no complete request line within {READ_TIMEOUT:g} s") from None
        if not chunk:
            if not received:
                return None
            raise BadRequest("the connection ended before a complete request line")
        received += chunk
        if len(received) > MAX_REQUEST_BYTES and b"\n" not in received[:MAX_REQUEST_BYTES]:
            raise BadRequest(f"the request line is longer than {MAX_REQUEST_BYTES} bytes")
    end = received.index(b"\n")
    if end + 1 > MAX_REQUEST_BYTES:
        raise BadRequest(f"the request line is longer than {MAX_REQUEST_BYTES} bytes")
    return bytes(received[:end])


def _refusal(error: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "message": message}


#: After answering, what is still read and dropped (bytes, seconds) before closing: a request
#: refused before it was read whole must not turn the answer into a reset at the peer.
DRAIN = (65536, 1.0)


def _answer(connection: socket.socket, answer: dict[str, Any]) -> None:
    line = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    try:
        connection.settimeout(READ_TIMEOUT)
        connection.sendall(line)
        connection.shutdown(socket.SHUT_WR)
        _drain(connection)
    except OSError:
        pass  # the peer left; a copy it asked for is stored and logged, and revocable


def _drain(connection: socket.socket) -> None:
    """Read and drop what the peer still sends, up to DRAIN, until it closes: closing a Unix
    socket with unread data resets the connection, and the peer could lose the answer."""
    limit, seconds = DRAIN
    deadline = time.monotonic() + seconds
    dropped = 0
    while dropped < limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        connection.settimeout(remaining)
        chunk = connection.recv(limit - dropped)
        if not chunk:
            return
        dropped += len(chunk)


def _to_stderr(line: str) -> None:
    print(f"caiep signer: {line}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def stopping_on_signals(service: SignerService) -> Iterator[None]:
    """SIGTERM and SIGINT stop ``service`` (the previous handlers come back afterwards)."""
    previous = {
        number: signal.signal(number, lambda *_: service.stop()) for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
