"""The public addresses of the credential service: the one place they are spelled.

A credential's id is ``<base>/credentials/<uuid>``; the page its QR code opens is
``<base>/c/<uuid>``; status list ``n`` is ``<base>/status/<n>``; the DID document of a did:web
issuer is ``<base>/.well-known/did.json``;
and so on. The issuer writes these URLs into credentials, the verifier and the export
blueprints serve them, the CLI prints them: all of them build them here, so a route and the
URLs pointing at it cannot drift apart, and no feature needs to know another's endpoints.

The ``*_ROUTE`` constants are the Flask rule strings the blueprints register; the ``*_path``
functions the same paths for one credential (what a redirect sends); :class:`ServiceAddresses`
the absolute URLs under one issuer's base URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_ID = "<uuid:credential_id>"  # the Flask converter the blueprints register


def credential_path(credential_uuid: str) -> str:
    """The path of the hosted credential (its id without the base): ``/credentials/<uuid>``."""
    return f"/credentials/{credential_uuid}"


def page_path(credential_uuid: str) -> str:
    """The path of the credential's verification page, what its QR code opens: ``/c/<uuid>``."""
    return f"/c/{credential_uuid}"


def qr_path(credential_uuid: str, image: str) -> str:
    """The path of the QR code image of the page; ``image`` is ``"png"`` or ``"svg"``."""
    if image not in ("png", "svg"):
        raise ValueError(f"a QR image is png or svg, not {image!r}")
    return f"{page_path(credential_uuid)}/qr.{image}"


def badge_path(image: str) -> str:
    """The path of the charter badge, ``/achievements/caiep/badge.<image>`` (``"png"`` or ``"svg"``)."""
    if image not in ("png", "svg"):
        raise ValueError(f"the badge image is png or svg, not {image!r}")
    return f"{ACHIEVEMENT_ROUTE}/badge.{image}"


def holder_page_path(token: str) -> str:
    """The path of a holder's private page, ``/h/<token>`` (the token is a secret: never log it)."""
    return f"/h/{token}"


def exchange_path(exchange_id: str) -> str:
    """The path of a wallet's VC-API exchange, ``/exchanges/<id>`` (the id is a secret: never log it)."""
    return f"/exchanges/{exchange_id}"


def status_path(credential_uuid: str) -> str:
    """The path of the JSON status of one credential: ``/api/v1/credentials/<uuid>/status``."""
    return f"/api/v1/credentials/{credential_uuid}/status"


def status_list_path(number: int) -> str:
    """The path of the issuer's Bitstring Status List credential number ``number``: ``/status/<n>``."""
    return f"/status/{number}"


# The Flask rules: the same paths, with the uuid converter in place of an id.
CREDENTIAL_ROUTE: Final = credential_path(_ID)
PAGE_ROUTE: Final = page_path(_ID)
QR_PNG_ROUTE: Final = qr_path(_ID, "png")
QR_SVG_ROUTE: Final = qr_path(_ID, "svg")
STATUS_ROUTE: Final = status_path(_ID)
# The holder's downloads, linked from the page under "Download".
CREDENTIAL_JSON_ROUTE: Final = f"{PAGE_ROUTE}/credential.json"
CREDENTIAL_JWT_ROUTE: Final = f"{PAGE_ROUTE}/credential.jwt"
BAKED_PNG_ROUTE: Final = f"{PAGE_ROUTE}/badge.png"
BAKED_SVG_ROUTE: Final = f"{PAGE_ROUTE}/badge.svg"
CERTIFICATE_ROUTE: Final = f"{PAGE_ROUTE}/certificate.pdf"
RECEIPT_JSON_ROUTE: Final = f"{PAGE_ROUTE}/receipt.json"  # a signed record of a check made now
RECEIPT_PDF_ROUTE: Final = f"{PAGE_ROUTE}/receipt.pdf"
# A credential checked on /verify, sent back by its page and checked again: its signed record.
VERIFY_RECEIPT_JSON_ROUTE: Final = "/verify/receipt.json"
VERIFY_RECEIPT_PDF_ROUTE: Final = "/verify/receipt.pdf"
VERIFIER_DID_ROUTE: Final = "/verifier/did.json"  # the verification service's own DID document
ACHIEVEMENT_ROUTE: Final = "/achievements/caiep"
BADGE_PNG_ROUTE: Final = badge_path("png")  # named in every credential: it can never move
BADGE_SVG_ROUTE: Final = badge_path("svg")
DID_DOCUMENT_ROUTE: Final = "/.well-known/did.json"
STATUS_LIST_ROUTE: Final = "/status/<int:number>"
# The holder's private page: the token is a path segment, logged only as this template.
HOLDER_PAGE_ROUTE: Final = holder_page_path("<token>")
# The Learner Credential Wallet: the holder page's POST that opens an exchange, and the exchange.
HOLDER_LCW_ROUTE: Final = holder_page_path("<token>") + "/lcw"
EXCHANGE_ROUTE: Final = exchange_path("<exchange_id>")


@dataclass(frozen=True)
class ServiceAddresses:
    """The absolute URLs of one issuer's service, under ``base_url`` (https, no trailing '/').

    Use it wherever a URL of the service is written: credential ids, achievement ids, links
    printed for the operator. A trailing '/' on the base is dropped.
    """

    base_url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def credential(self, credential_uuid: str) -> str:
        """The credential's stable public id, where the exact signed document is served."""
        return self.base_url + credential_path(credential_uuid)

    def page(self, credential_uuid: str) -> str:
        """The credential's verification page (what its QR code encodes)."""
        return self.base_url + page_path(credential_uuid)

    def qr(self, credential_uuid: str, image: str = "png") -> str:
        """The QR code image of the credential's page (``"png"`` or ``"svg"``)."""
        return self.base_url + qr_path(credential_uuid, image)

    def exchange(self, exchange_id: str) -> str:
        """The URL of a wallet's VC-API exchange (what the Learner Credential Wallet POSTs to)."""
        return self.base_url + exchange_path(exchange_id)

    def status(self, credential_uuid: str) -> str:
        """The JSON status of the credential, verified at request time."""
        return self.base_url + status_path(credential_uuid)

    def status_list(self, number: int) -> str:
        """The ``statusListCredential`` URL of list ``number``: ``<base>/status/<number>``."""
        return self.base_url + status_list_path(number)

    def status_list_number(self, url: str) -> int | None:
        """The number of our status list at ``url``, or None when ``url`` is not one of ours."""
        prefix = self.base_url + "/status/"
        tail = url[len(prefix) :] if url.startswith(prefix) else ""
        if not tail.isascii() or not tail.isdigit() or tail.startswith("0") or len(tail) > 9:
            return None
        return int(tail)

    def achievement(self) -> str:
        """Where the charter's Achievement definition is published (its id)."""
        return self.base_url + ACHIEVEMENT_ROUTE

    def badge(self, image: str = "png") -> str:
        """The charter badge image (``"png"`` or ``"svg"``), the achievement's ``image.id``."""
        return self.base_url + badge_path(image)

    def holder_page(self, token: str) -> str:
        """A holder's private page: the link the holder's messages and ``caiep holder link`` give."""
        return self.base_url + holder_page_path(token)

    def did_document(self) -> str:
        """Where a did:web issuer publishes its DID document."""
        return self.base_url + DID_DOCUMENT_ROUTE
