"""The words of a holder's e-mail, per event, and their two renderings: plain text and HTML.

:func:`body_for` decides what to say (:class:`Body`: subject, heading, paragraphs, the charter's
details, the links); :func:`render_text` and :func:`render_html` lay the same content out, so
the two parts of a message never disagree. The HTML is for people first: one column, real
headings, a description list for the details, links whose text says where they go, no images,
no tables, inline styles (mail clients drop style sheets), colours of 7:1 contrast or more on
white (WCAG 2.2 1.4.6), text that reflows on a phone, names isolated with ``<bdi>`` so a
right-to-left name does not reorder the sentence around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from caiep.wallet_export.charter import POST_NOMINAL

if TYPE_CHECKING:
    from caiep.wallet_export.messages import Notice

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_STATES = {"current": "Current", "suspended": "Suspended", "revoked": "Revoked", "lapsed": "Lapsed"}
# Navy on white is 13.9:1, the grey 9.7:1 (WCAG relative luminance); links underlined.
_INK, _NAVY, _GREY, _RULE = "#1a1a1a", "#0b2a4a", "#474747", "#c8ced6"
_FONT = "-apple-system,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif"


@dataclass(frozen=True)
class Body:
    """What one message says, before layout. ``paragraphs`` are plain sentences (the HTML
    escapes them); ``details`` are (term, value) pairs; the name is ``holder``."""

    subject: str
    heading: str
    greeting: str
    paragraphs: tuple[str, ...]
    details: tuple[tuple[str, str], ...]
    holder_link: str
    page_url: str
    issuer_name: str


def day(moment: datetime) -> str:
    """``5 December 2026``: day, month name, year, the same for every reader."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def body_for(notice: Notice, *, holder_link: str) -> Body:
    """What to say for ``notice``'s event."""
    charter, name, until = notice.charter_name, notice.holder_display, day(notice.valid_until)
    event = notice.event
    paragraphs: tuple[str, ...]
    if event == "award":
        subject = f"Your {charter} is awarded"
        paragraphs = (
            f"Congratulations. {notice.issuer_name} has awarded you the {charter}. "
            f"You may now write your name as {name}.",
            f"Your charter is valid until {until}; we will remind you before then to renew it.",
        )
    elif event == "renewal":
        subject = f"Your {charter} is renewed"
        paragraphs = (
            f"{notice.issuer_name} has renewed your {charter}. It is now valid until {until}.",
            "The files on your private page are the renewed ones; replace any copy you shared before.",
        )
    elif event == "reinstatement":
        subject = f"Your {charter} is reinstated"
        paragraphs = (
            f"{notice.issuer_name} has reinstated your {charter}: it is current again, valid until "
            f"{until}, and you may again write your name as {name}.",
        )
    elif event == "suspension":
        subject = f"Your {charter} is suspended"
        paragraphs = (
            f"{notice.issuer_name} has suspended your {charter}. Anyone who checks it now sees that "
            "it is suspended.",
            f"While it is suspended, please do not use the post-nominal {POST_NOMINAL} after your name.",
        )
    elif event == "revocation":
        subject = f"Your {charter} is revoked"
        paragraphs = (
            f"{notice.issuer_name} has revoked your {charter}. Anyone who checks it now sees that it "
            "is revoked.",
            f"Please no longer use the post-nominal {POST_NOMINAL} after your name.",
        )
    else:  # reminder-90, reminder-30
        subject = f"Your {charter} expires in {notice.days_left} days"
        paragraphs = (
            f"Your {charter} is valid until {until}, {notice.days_left} days from now.",
            f"Renew it before then to keep writing your name as {name}; "
            f"{notice.issuer_name} will tell you how.",
        )
    details = [
        ("Holder", notice.holder_display),
        ("Charter", charter),
        ("Charter number", notice.charter_number),
        ("State", _STATES.get(notice.state, notice.state.capitalize())),
        ("Awarded", day(notice.awarded)),
        ("Valid from", day(notice.valid_from)),
        ("Valid until", until),
    ]
    if notice.public_reason and notice.state in ("suspended", "revoked"):
        details.append(("Reason", notice.public_reason))
    return Body(
        subject=subject,
        heading=subject,
        greeting=f"Dear {notice.holder_name},",
        paragraphs=paragraphs,
        details=tuple(details),
        holder_link=holder_link,
        page_url=notice.page_url,
        issuer_name=notice.issuer_name,
    )


PRIVATE_LINK_TEXT = "Open your charter page"
PRIVATE_LINK_NOTE = (
    "Your charter page is yours alone: there you download your credential, badge and certificate "
    "and add the charter to LinkedIn. Anyone with this link can open it, so please do not forward "
    "this e-mail."
)
PUBLIC_LINK_NOTE = "Anyone, such as an employer, can check your charter on its public page:"
FOOTER = (
    "{issuer} sent this message because it holds your charter record. "
    "It is sent automatically; replies are not read."
)
# Inline styles, one per kind of element.
_BODY = (
    f"margin:0;padding:0;background:#ffffff;color:{_INK};font-family:{_FONT};font-size:16px;line-height:1.5"
)
_MAIN = "max-width:36em;margin:0 auto;padding:24px 16px"
_SMALL = f"margin:0;color:{_GREY};font-size:14px"
_H1 = f"margin:0 0 24px;color:{_NAVY};font-size:24px;line-height:1.25"
_H2 = f"margin:0 0 8px;color:{_NAVY};font-size:18px"
_P = "margin:0 0 16px"
_BUTTON = (
    f"display:inline-block;padding:12px 20px;background:{_NAVY};color:#ffffff;"
    "font-weight:bold;text-decoration:underline;border-radius:4px"
)
_LINK = f"color:{_NAVY};word-break:break-all"
_RULER = f"border:0;border-top:1px solid {_RULE};margin:32px 0 16px"


def render_text(body: Body) -> str:
    """The text/plain part: short lines, every link in full on its own line."""
    lines = [body.heading, "", body.greeting, ""]
    for paragraph in body.paragraphs:
        lines += [paragraph.strip(), ""]
    lines += [f"{PRIVATE_LINK_TEXT}:", body.holder_link, "", PRIVATE_LINK_NOTE, ""]
    width = max(len(term) for term, _ in body.details)
    lines += [f"{term + ':':<{width + 1}} {value}" for term, value in body.details]
    lines += ["", PUBLIC_LINK_NOTE, body.page_url, "", "-- ", FOOTER.format(issuer=body.issuer_name)]
    return "\n".join(lines) + "\n"


def render_html(body: Body) -> str:
    """The text/html part: a complete, accessible document with inline styles and no images."""

    def e(text: str) -> str:
        return escape(text, quote=True)

    holder = e(body.details[0][1])
    name = e(body.greeting.removeprefix("Dear ").removesuffix(","))
    paragraphs = "\n".join(
        f'<p style="{_P}">{_with_name(e(text), holder)}</p>' for text in body.paragraphs if text.strip()
    )
    # One line per detail, "Term: value" (a div may group a dt and its dd, HTML §4.4.9).
    details = "\n".join(
        f'<div style="margin:0 0 4px"><dt style="display:inline;font-weight:bold">{e(term)}:</dt> '
        f'<dd style="display:inline;margin:0">{value}</dd></div>'
        for term, value in ((t, f"<bdi>{holder}</bdi>" if t == "Holder" else e(v)) for t, v in body.details)
    )
    page = e(body.page_url)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{e(body.subject)}</title>
</head>
<body style="{_BODY}">
<main style="{_MAIN}">
<p style="{_SMALL};margin-bottom:8px">{e(body.issuer_name)}</p>
<h1 style="{_H1}">{e(body.heading)}</h1>
<p style="{_P}">Dear <bdi>{name}</bdi>,</p>
{paragraphs}
<p style="margin:24px 0 8px"><a href="{e(body.holder_link)}" style="{_BUTTON}">{PRIVATE_LINK_TEXT}</a></p>
<p style="{_SMALL};margin-bottom:24px">{e(PRIVATE_LINK_NOTE)}</p>
<h2 style="{_H2}">Your charter</h2>
<dl style="margin:0 0 24px">
{details}
</dl>
<h2 style="{_H2}">Its public page</h2>
<p style="{_P}">{e(PUBLIC_LINK_NOTE)}<br><a href="{page}" style="{_LINK}">{page}</a></p>
<hr style="{_RULER}">
<p style="{_SMALL}">{e(FOOTER.format(issuer=body.issuer_name))}</p>
</main>
</body>
</html>
"""


def _with_name(escaped_text: str, escaped_holder: str) -> str:
    """Isolate the holder's name (with its post-nominal) inside a sentence for bidi text."""
    return (
        escaped_text.replace(escaped_holder, f"<bdi>{escaped_holder}</bdi>")
        if escaped_holder
        else escaped_text
    )
