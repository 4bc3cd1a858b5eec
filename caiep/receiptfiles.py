"""A signed receipt as a download: the JSON original, or its one-page PDF copy."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response

from caiep.wallet_export.receipt_pdf import render_receipt_pdf


def attachment(receipt: Mapping[str, Any], suffix: str) -> str:
    """The download's file name: the kind of check and its time."""
    subject = receipt.get("credentialSubject") or {}
    at = str(subject.get("checkedAt", "")).replace(":", "").replace("-", "")
    return f'attachment; filename="caiep-check-{at}.{suffix}"'


def receipt_response(receipt: Mapping[str, Any], form: str) -> Response:
    """A receipt as a download: the signed JSON, or its one-page PDF."""
    if form == "pdf":
        body: bytes | str = render_receipt_pdf(receipt)
        media_type = "application/pdf"
    else:
        body, media_type = json.dumps(receipt, indent=2, ensure_ascii=False) + "\n", "application/vc+ld+json"
    return Response(body, mimetype=media_type, headers={"Content-Disposition": attachment(receipt, form)})
