"""A signed verification receipt as one printable page (PDF), for a file or an auditor's binder.

The page is a readable copy of the receipt: who made the check (the verification service and its
DID), when, what was checked (a credential's id and digest, or a register query) and what was
found, each check's outcome, and the receipt's id and proof. The signed JSON receipt itself is
embedded in the PDF (``receipt.json``), so the file can be checked on its own: take it out and
run ``caiep verify`` on it; the page says so, and that the page alone proves nothing.

It is drawn from the receipt's JSON alone (this module knows nothing of verification), with the
certificate's WeasyPrint writer, fonts and the same rule: nothing is fetched but ``data:`` URLs.
At most :data:`MAX_ROWS` answers are listed; a larger bulk check says how many more the JSON holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

from caiep.wallet_export.certificate import pdf_writer
from caiep.wallet_export.fonts import SANS_FAMILIES, family_stack, installed_fonts

#: The signed JSON receipt travels inside the PDF as this embedded file: the page is its readable
#: copy, the attachment the record itself (``pdfdetach -saveall`` or any PDF reader takes it out).
ATTACHMENT_NAME: Final = "receipt.json"
#: Answers (and charter numbers asked) listed on the page, which stays one page; the rest are in the JSON.
MAX_ROWS: Final = 10
CHECK_TITLES: Final = {
    "structure": "Open Badges 3.0 structure",
    "contexts": "Vocabulary (JSON-LD contexts)",
    "proof": "Issuer's signature",
    "validity": "Validity period",
    "status": "Revocation and suspension",
}
KIND_TITLES: Final = {
    "CredentialCheck": "Check of a credential",
    "RegisterLookup": "Lookup in the public register",
    "RegisterBulkCheck": "Bulk check of charter numbers",
}


def render_receipt_pdf(receipt: Mapping[str, Any]) -> bytes:
    """The one-page PDF of ``receipt`` (as :class:`~caiep.verifier.receipts.ReceiptIssuer` makes it),
    with the signed receipt embedded as ``receipt.json``."""
    fonts = installed_fonts()
    html = receipt_html(receipt, sans=family_stack(SANS_FAMILIES, "sans-serif", fonts))
    signed = json.dumps(receipt, indent=2, ensure_ascii=False).encode("utf-8")
    return pdf_writer.write(html, fonts, attachments=[(ATTACHMENT_NAME, signed)])


def receipt_html(receipt: Mapping[str, Any], *, sans: str = "sans-serif") -> str:
    """The page's HTML document."""
    e = escape
    subject: Mapping[str, Any] = receipt.get("credentialSubject") or {}
    issuer: Mapping[str, Any] = receipt.get("issuer") or {}
    [proof] = receipt.get("proof") or [{}]
    kind = str(subject.get("type", ""))
    body = _credential_check(subject) if kind == "CredentialCheck" else _register(subject)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Signed record of a check: {e(KIND_TITLES.get(kind, kind))}</title>
<meta name="author" content="{e(str(issuer.get("name", "")))}">
<style>
@page {{ size: A4; margin: 15mm 16mm; }}
html {{ font-family: {sans}; font-size: 10pt; line-height: 1.4; color: #1b2330; }}
h1 {{ font-size: 17pt; margin: 0 0 2mm; }}
h2 {{ font-size: 11.5pt; margin: 6mm 0 2mm; }}
p.lead {{ margin: 0 0 4mm; color: #3d4a5c; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; vertical-align: top; padding: 1mm 2mm; border-bottom: 0.3pt solid #c5ccd6; }}
th {{ width: 38%; font-weight: 600; }}
table.rows {{ font-size: 8pt; }}
table.rows td:nth-child(2) {{ width: 24%; }}
table.rows th {{ width: auto; white-space: nowrap; }}
table.rows td:nth-child(1), table.rows td:nth-child(3), table.rows td:nth-child(4),
table.rows td:nth-child(5) {{ white-space: nowrap; }}
code {{ font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; overflow-wrap: anywhere; }}
.note code {{ white-space: nowrap; }}
.verdict {{ font-size: 13pt; font-weight: 700; }}
.note {{ margin-top: 6mm; padding: 0 3mm; border: 0.6pt solid #8a96a8; font-size: 9pt; }}
.note p {{ margin: 3mm 0; }}
</style>
</head>
<body>
<h1>Signed record of a check</h1>
<p class="lead">{e(KIND_TITLES.get(kind, kind))}, made by {e(str(issuer.get("name", "")))}
on {e(str(subject.get("checkedAt", "")))} (UTC).</p>
{body}
<h2>The record</h2>
<table>
<tr><th scope="row">Signed by</th><td><code>{e(str(issuer.get("id", "")))}</code></td></tr>
<tr><th scope="row">Key</th><td><code>{e(str(proof.get("verificationMethod", "")))}</code></td></tr>
<tr><th scope="row">Record id</th><td><code>{e(str(receipt.get("id", "")))}</code></td></tr>
<tr><th scope="row">Signature ({e(str(proof.get("cryptosuite", "")))})</th>
<td><code>{e(str(proof.get("proofValue", "")))}</code></td></tr>
</table>
<div class="note"><p>This page is a readable copy. The signed original is the JSON record (a W3C
Verifiable Credential) embedded in this PDF as <code>receipt.json</code>; check it with
<code>caiep verify</code> or any Data Integrity verifier.
It proves that this check was made at the time shown, with the outcome shown; it does not
say whether a charter is current now: check again for that.</p></div>
</body>
</html>
"""


def _credential_check(subject: Mapping[str, Any]) -> str:
    e = escape
    rows = "".join(
        f'<tr><th scope="row">{e(CHECK_TITLES.get(str(c.get("check")), str(c.get("check"))))}</th>'
        f"<td>{e(str(c.get('outcome', '')))}</td></tr>"
        for c in _objects(subject.get("checks"))
    )
    credential = subject.get("checkedCredential")
    shown = f"<code>{e(str(credential))}</code>" if credential else "(the document has no id)"
    return f"""<p class="verdict">Verdict: {e(str(subject.get("verdict", "")))}</p>
<table>
<tr><th scope="row">Credential checked</th><td>{shown}</td></tr>
<tr><th scope="row">Digest of the exact bytes checked</th>
<td><code>{e(str(subject.get("checkedDigest", "")))}</code></td></tr>
</table>
<h2>Checks</h2>
<table>{rows}</table>"""


_QUERY_TITLES: Final = {
    "fullName": "Full name",
    "charterNumber": "Charter number",
    "yearAwarded": "Year of award",
    "charterNumbers": "Charter numbers",
}
_COLUMNS: Final = (
    ("charterNumber", "Charter number"),
    ("name", "Name"),
    ("state", "State"),
    ("firstAwarded", "First awarded"),
    ("currentUntil", "Current until"),
    ("reason", "Reason"),
)


def _register(subject: Mapping[str, Any]) -> str:
    e = escape
    query: Mapping[str, Any] = subject.get("query") or {}
    asked = "".join(
        f'<tr><th scope="row">{e(_QUERY_TITLES.get(k, k))}</th><td>{e(_value(v))}</td></tr>'
        for k, v in query.items()
    )
    answers = _objects(subject.get("answers"))
    head = "".join(f'<th scope="col">{e(title)}</th>' for _, title in _COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{e(_answer_value(a, key))}</td>" for key, _ in _COLUMNS) + "</tr>"
        for a in answers[:MAX_ROWS]
    )
    more = len(answers) - MAX_ROWS
    extra = f"<p>and {more} more answers, in the JSON record.</p>" if more > 0 else ""
    found = f"{len(answers)} answer{'s' if len(answers) != 1 else ''}" if answers else "No one was found."
    return f"""<h2>Asked</h2>
<table>{asked}</table>
<h2>Answered: {e(found)}</h2>
{f'<table class="rows"><tr>{head}</tr>{rows}</table>' if answers else ""}
{extra}"""


def _answer_value(answer: Mapping[str, Any], key: str) -> str:
    if key == "state" and answer.get("found") is False:
        return "not found"
    return _value(answer.get(key, ""))


def _value(value: object) -> str:
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:MAX_ROWS])
        return shown + (f" and {len(value) - MAX_ROWS} more" if len(value) > MAX_ROWS else "")
    return "" if value is None else str(value)


def _objects(value: object) -> Sequence[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
