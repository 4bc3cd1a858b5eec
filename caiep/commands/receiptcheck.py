"""``caiep verify`` of a signed verification receipt: what it proves, and whether it is about a file.

A receipt is the verification service's statement that it checked something at ``checkedAt``;
it is verified against that service's DID document (``did:web:<host>:verifier``): from the
instance's own key store when it is this instance's service, else fetched from its host, after
the receipt's shape has been checked (nothing is fetched for a document that cannot be one).
``--against FILE`` compares the SHA-256 of FILE's exact bytes with the receipt's
``checkedDigest``: a mismatch means FILE is not what was checked (exit 1).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from caiep.commands.common import EXIT_INVALID, EXIT_OK, EXIT_UNDECIDED

KIND_TEXT = {
    "credential": "a check of one credential",
    "lookup": "a lookup in the public register",
    "bulk": "a bulk check of charter numbers",
}
MEANING = (
    "It proves that this check was made at that time, with that outcome; "
    "it does not say that any charter is current now."
)


def verify_receipt_file(
    receipt: dict[str, Any],
    *,
    home: Path | None,
    fetcher: Any,
    against: Path | None,
    as_json: bool,
    pdf: Path | None = None,
) -> int:
    """Verify ``receipt``, print what it proves, and the exit code (0 valid, 1 not, 2 undecided)."""
    from caiep.errors import CaiepError, ResolutionError
    from caiep.keys.did import did_web_document_url
    from caiep.verifier.receipts import ReceiptInvalid, service_of, verify_receipt

    report: dict[str, Any] = {"receipt": True, "verified": False}
    try:
        service = service_of(receipt)  # before anything is fetched
        document = _did_document(receipt["issuer"]["id"], service, home, fetcher, did_web_document_url)
        verified = verify_receipt(receipt, document)
    except ReceiptInvalid as exc:
        text = f"INVALID receipt: {exc.message}"
        return _answer(report | {"error": exc.message}, as_json, text, EXIT_INVALID)
    except (ResolutionError, CaiepError) as exc:
        message = f"cannot verify the receipt: its service's DID document cannot be read ({exc.code})"
        return _answer(report | {"error": message}, as_json, message, EXIT_UNDECIDED)
    subject = verified.subject
    report |= {
        "verified": True,
        "kind": verified.kind,
        "signer": verified.signer,
        "service": verified.service_url,
        "checkedAt": verified.checked_at,
        "verdict": subject.get("verdict"),
        "checkedCredential": subject.get("checkedCredential"),
        "checkedDigest": subject.get("checkedDigest"),
        "answers": len(subject.get("answers", [])) if verified.kind != "credential" else None,
    }
    lines = [
        f"VALID receipt, signed by {verified.signer} (the verification service of {verified.service_url})",
        f"  {KIND_TEXT[verified.kind]}, made {verified.checked_at}",
    ]
    if verified.kind == "credential":
        lines.append(f"  verdict: {subject.get('verdict')}")
        lines.append(f"  credential: {subject.get('checkedCredential', '(no id)')}")
        lines.append(f"  digest of the bytes checked: {subject.get('checkedDigest')}")
    else:
        lines.append(f"  asked: {json.dumps(subject.get('query'), ensure_ascii=False)}")
        lines.append(f"  answers given: {len(subject.get('answers', []))}")
    lines.append(f"  {MEANING}")
    code = EXIT_OK
    if against is not None:
        digest = "sha256:" + hashlib.sha256(against.read_bytes()).hexdigest()
        matches = digest == subject.get("checkedDigest")
        report["against"] = {"file": str(against), "digest": digest, "matches": matches}
        if matches:
            lines.append(f"  {against}: its digest matches: this receipt is about these exact bytes")
        else:
            lines.append(f"  MISMATCH: {against} ({digest}) is not the document this receipt checked")
            code = EXIT_INVALID
    if pdf is not None:
        from caiep.atomicfile import write_atomic
        from caiep.wallet_export.receipt_pdf import render_receipt_pdf

        write_atomic(pdf, render_receipt_pdf(receipt))
        report["pdf"] = str(pdf)
        lines.append(f"  printable copy written to {pdf} (the signed record is embedded in it)")
    return _answer(report, as_json, "\n".join(lines), code)


def _did_document(did: str, service: str, home: Path | None, fetcher: Any, url_of: Any) -> Any:
    """The verifier's DID document: this instance's own, else fetched by did:web."""
    if home is not None:
        from caiep.settings import read_configuration
        from caiep.verifier.receipts import verifier_did
        from caiep.verifierkey import has_verifier_key, verifier_did_document

        configuration = read_configuration(home)
        if verifier_did(configuration.identity().issuer_url) == did and has_verifier_key(home):
            return verifier_did_document(configuration)
    return fetcher.get_json(url_of(did))


def _answer(report: dict[str, Any], as_json: bool, text: str, code: int) -> int:
    from caiep.verifier.report import printable

    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:  # each line made printable: a receipt's values are a stranger's text
        stream = sys.stdout if report["verified"] else sys.stderr
        print("\n".join(printable(line) for line in text.split("\n")), file=stream)
    return code
