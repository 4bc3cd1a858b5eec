"""The holder's e-mail, parsed back with the standard library's ``email`` parser as a client would.

Headers decode to the names given (non-Latin scripts included), both parts are there, UTF-8,
with the links and dates; the HTML has no image and nothing remote; the same inputs give the
same bytes; and the message travels unchanged through a real SMTP server.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import Parser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from smtp_server import SmtpServer, TestAuthority

from caiep.wallet_export.messages import EVENTS, Notice, compose, make_message_id, parse_sender
from caiep.wallet_export.transport import open_transport

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
HOLDER_LINK = "https://credentials.caiep.example/h/Zq3v9X1yQ0bVwq7e8rTt6yUu5iIoOpPaAsSdDfFgGhH"
PAGE_URL = "https://credentials.caiep.example/c/0b7c5c1e-4a55-4c8e-9a1c-3f7e2d9b6a10"
MESSAGE_ID = make_message_id("outbox:42", "credentials.caiep.example")
SENDER = "CAiEP Registry <registry@caiep.example>"


def notice(event: str = "award", **changes: object) -> Notice:
    values: dict[str, object] = {
        "event": event,
        "recipient": "jane.doe@example.org",
        "holder_name": "Jane Doe",
        "charter_name": "CAiEP® Charter",
        "charter_number": "CAIEP-000042",
        "state": "current",
        "awarded": datetime(2021, 12, 1, tzinfo=UTC),
        "valid_from": datetime(2026, 12, 1, tzinfo=UTC),
        "valid_until": datetime(2031, 12, 1, tzinfo=UTC),
        "public_reason": None,
        "page_url": PAGE_URL,
        "issuer_name": "CAiEP Certification Board",
        "days_left": None,
    }
    values.update(changes)
    return Notice(**values)  # type: ignore[arg-type]


def make(n: Notice | None = None, **arguments: object) -> bytes:
    """``compose`` with this file's link, sender, Message-ID and clock unless told otherwise."""
    values: dict[str, object] = {
        "holder_link": HOLDER_LINK, "sender": SENDER, "message_id": MESSAGE_ID, "now": NOW, **arguments
    }  # fmt: skip
    return compose(n or notice(), **values)  # type: ignore[arg-type]


def parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    # The parser keeps the wire's CRLF inside a decoded part; a client shows lines either way.
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Jane Doe", "jane.doe@example.org"),
        ("张伟", "zhang.wei@example.org"),
        ("Zoë Ångström-Łukasiewicz", "zoe@example.org"),
        ("Αλέξανδρος Παπαδόπουλος", "alex@example.org"),
        ("محمد الأحمد", "m.ahmad@example.org"),
        ('O\'Brien, "Pat" <admin>', "pat@example.org"),
    ],
)
def test_headers_decode_to_the_names_given(name: str, email: str) -> None:
    data = compose(
        notice(holder_name=name, recipient=email),
        holder_link=HOLDER_LINK,
        sender="Registre CAiEP® Genève <registry@caiep.example>",
        message_id=MESSAGE_ID,
        now=NOW,
    )

    assert data.isascii()  # RFC 2047 words in the headers, quoted-printable in the body
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))  # RFC 5322 §2.1.1
    message = parsed(data)
    to = message["To"].addresses[0]
    assert (to.display_name, to.addr_spec) == (name, email)
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Registre CAiEP® Genève", "registry@caiep.example")
    assert message["Subject"] == "Your CAiEP® Charter is awarded"
    assert message["Message-ID"] == MESSAGE_ID
    assert parsedate_to_datetime(message["Date"]) == NOW
    assert message["Auto-Submitted"] == "auto-generated"
    text, _html = parts(message)
    assert f"{name}, CAiEP" in text
    assert f"Dear {name}," in text
    assert message.defects == []
    assert all(part.defects == [] for part in message.walk())


def test_both_parts_carry_the_links_dates_and_details() -> None:
    message = parsed(make())

    assert message.get_content_type() == "multipart/alternative"
    types = [(part.get_content_type(), part.get_content_charset(), part["Content-Transfer-Encoding"])
             for part in message.iter_parts()]  # fmt: skip
    assert types == [("text/plain", "utf-8", "quoted-printable"), ("text/html", "utf-8", "quoted-printable")]
    text, html = parts(message)
    for part in (text, html):
        for expected in ("Jane Doe, CAiEP", "CAIEP-000042", "1 December 2021", "1 December 2026",
                         "1 December 2031", "CAiEP Certification Board", "is awarded"):  # fmt: skip
            assert expected in part
    assert f"\n{HOLDER_LINK}\n" in text
    assert f"\n{PAGE_URL}\n" in text
    links = [attrs["href"] for tag, attrs in tags(html) if tag == "a"]
    assert links == [HOLDER_LINK, PAGE_URL]


def test_the_html_is_plain_and_accessible_and_fetches_nothing() -> None:
    _, html = parts(parsed(make()))

    found = tags(html)
    names = [tag for tag, _ in found]
    assert ("html", {"lang": "en"}) in found
    assert names.count("h1") == 1
    assert "title" in names
    assert not {"img", "table", "script", "link", "iframe", "object", "style", "form"} & set(names)
    assert "<img" not in html.lower()
    assert "url(" not in html.lower()
    # Every attribute that could make a client fetch something: only the two links.
    remote = [
        (tag, key, value)
        for tag, attrs in found
        for key, value in attrs.items()
        if value and re.match(r"\s*(https?:)?//", value) and not (tag == "a" and key == "href")
    ]
    assert remote == []


@pytest.mark.parametrize("event", EVENTS)
def test_each_event_says_what_happened(event: str) -> None:
    changed = {
        "suspension": {"state": "suspended", "public_reason": "Under review by the ethics panel"},
        "revocation": {"state": "revoked", "public_reason": "Issued in error"},
        "reminder-90": {"days_left": 90},
        "reminder-30": {"days_left": 30},
    }.get(event, {})
    message = parsed(
        compose(
            notice(event, **changed), holder_link=HOLDER_LINK, sender=SENDER, message_id=MESSAGE_ID, now=NOW
        )
    )
    subject = message["Subject"]
    text, html = parts(message)

    expected_subject = {
        "award": "Your CAiEP® Charter is awarded",
        "renewal": "Your CAiEP® Charter is renewed",
        "reinstatement": "Your CAiEP® Charter is reinstated",
        "suspension": "Your CAiEP® Charter is suspended",
        "revocation": "Your CAiEP® Charter is revoked",
        "reminder-90": "Your CAiEP® Charter expires in 90 days",
        "reminder-30": "Your CAiEP® Charter expires in 30 days",
    }[event]
    assert subject == expected_subject
    assert text.startswith(expected_subject + "\n")
    assert f">{expected_subject}</h1>" in html
    if event in ("suspension", "revocation"):
        # The post-nominal belongs to current holders only; the public reason is shown.
        assert "Jane Doe, CAiEP" not in text + html
        assert {
            "suspension": "While it is suspended, please do not use the post-nominal CAiEP after your name.",
            "revocation": "Please no longer use the post-nominal CAiEP after your name.",
        }[event] in text
        assert "Reason:" in text
        assert changed["public_reason"] in text
        assert changed["public_reason"] in html
    else:
        assert "Jane Doe, CAiEP" in text
        assert "<bdi>Jane Doe, CAiEP</bdi>" in html
    assert HOLDER_LINK in text
    assert PAGE_URL in text


def test_the_same_inputs_give_the_same_bytes_and_the_boundary_is_unique() -> None:
    def make(**changes: object) -> bytes:
        return compose(
            notice(**changes), holder_link=HOLDER_LINK, sender=SENDER, message_id=MESSAGE_ID, now=NOW
        )

    assert make() == make()
    assert make() != make(holder_name="John Doe")
    boundary = parsed(make()).get_boundary()
    assert boundary is not None
    assert make().count(boundary.encode()) == 4


def test_message_ids_are_stable_per_event_and_reveal_nothing() -> None:
    first = make_message_id("award:holder-7:v1", "credentials.caiep.example")
    assert first == make_message_id("award:holder-7:v1", "Credentials.CAiEP.example")
    assert first != make_message_id("award:holder-7:v2", "credentials.caiep.example")
    assert re.fullmatch(r"<caiep\.[0-9a-f]{32}@credentials\.caiep\.example>", first)
    assert "holder" not in first
    with pytest.raises(ValueError, match="not a host name"):
        make_message_id("x", "bad host")


def test_sender_without_a_name_shows_the_issuer() -> None:
    message = parsed(
        compose(
            notice(), holder_link=HOLDER_LINK, sender="registry@caiep.example", message_id=MESSAGE_ID, now=NOW
        )
    )
    assert str(message["From"]) == "CAiEP Certification Board <registry@caiep.example>"


@pytest.mark.parametrize("value", ["", "not an address", "a@b.c, d@e.f", "@example.org", "jane@localhost"])
def test_a_sender_that_is_not_one_address_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="must be one e-mail address"):
        parse_sender(value)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event"):
        make(notice("graduation"))
    with pytest.raises(ValueError, match="not a Message-ID"):
        make(message_id="no-brackets@x")
    with pytest.raises(ValueError, match="time zone"):
        compose(
            notice(),
            holder_link=HOLDER_LINK,
            sender=SENDER,
            message_id=MESSAGE_ID,
            now=NOW.replace(tzinfo=None),
        )
    with pytest.raises(ValueError, match="needs days_left"):
        make(notice("reminder-30"))


def test_a_non_ascii_mailbox_travels_as_smtputf8() -> None:
    data = compose(
        notice(recipient="zoë@example.org", holder_name="Zoë"),
        holder_link=HOLDER_LINK,
        sender=SENDER,
        message_id=MESSAGE_ID,
        now=NOW,
    )
    # RFC 6532: the headers are UTF-8 as they stand, so the message is read as UTF-8 text.
    message = Parser(policy=policy.default).parsestr(data.decode("utf-8"))
    assert message["To"].addresses[0].addr_spec == "zoë@example.org"
    assert message["Subject"] == "Your CAiEP® Charter is awarded"
    assert b"To: Zo\xc3\xab <zo\xc3\xab@example.org>\r\n" in data


def test_the_message_travels_unchanged_through_a_real_smtp_server(tmp_path: Path) -> None:
    authority = TestAuthority(tmp_path / "ca")
    data = compose(
        notice(holder_name="张伟", recipient="zhang.wei@example.org"),
        holder_link=HOLDER_LINK,
        sender=SENDER,
        message_id=MESSAGE_ID,
        now=NOW,
    )
    with SmtpServer(tls="starttls", certificate=authority.issue()) as server:
        transport = open_transport(
            server.url(), outbox_dir=tmp_path, ca_file=authority.ca_file, password=None
        )
        try:
            transport.send(data, sender=parse_sender(SENDER).addr_spec, recipient="zhang.wei@example.org")
        finally:
            transport.close()
        [received] = server.received

    assert received.data == data
    assert (received.sender, received.recipients, received.message_id) == (
        "registry@caiep.example",
        ("zhang.wei@example.org",),
        MESSAGE_ID,
    )
    assert parsed(received.data)["To"].addresses[0].display_name == "张伟"
