"""The holder's private page, ``GET /h/<token>`` (a Flask blueprint): their charters, in one place.

Each message to a holder carries its own link, a random 256-bit token of which the registry keeps
only the hash; ``caiep holder link`` gives a fresh one. The page shows each charter's state and
current version, the downloads (only of a current charter), LinkedIn's "Add to profile", the QR
code of the public verification page and a link to it, and the earlier versions with their
dates. What it shows arrives from the entry points as a :class:`HolderPage` (the registry is
read there), so this package stays free of the issuer.

The page is private by address only: it says ``noindex`` in a header and a meta tag, is never
stored by a cache (``Cache-Control: no-store``), and sends no ``Referer`` to the sites it links
to. A token that is malformed, unknown or revoked gets the same 404 page, and the access log
names the route template (``/h/<token>``), never the token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from caiep.addresses import HOLDER_PAGE_ROUTE
from caiep.wallet_export.charter import POST_NOMINAL

#: The 404 of every token that opens no page: the same words, whatever the reason.
NOT_FOUND: Final = (
    "This link does not open a holder's page. It may have been replaced: ask the certification "
    "body for a new one."
)
#: Sent with the page and with its 404 (RFC 9309 leaves this to the X-Robots-Tag convention).
ROBOTS: Final = "noindex, nofollow"


@dataclass(frozen=True)
class Download:
    """One file of the exports: its label, path and media type."""

    label: str
    href: str
    media_type: str


@dataclass(frozen=True)
class Version:
    """A version of a charter: ``kind`` is ``award``, ``renewal`` or ``reinstatement``."""

    number: int
    kind: str
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True)
class HolderCharter:
    """One charter credential as the holder's page shows it.

    ``state`` is ``current``, ``lapsed``, ``suspended`` or ``revoked`` (since ``state_since``,
    with the public reason of a suspension or revocation); ``page`` and ``qr`` are the paths of
    its public page and of that page's QR code, ``page_url`` the absolute URL the QR code holds.
    ``downloads`` and ``linkedin`` are empty for a charter that is not current.
    """

    credential_id: str
    charter_name: str
    charter_number: str
    state: str
    state_since: datetime
    public_reason: str | None
    awarded: datetime
    current: Version
    earlier: tuple[Version, ...]
    page: str
    page_url: str
    qr: str
    downloads: tuple[Download, ...] = ()
    linkedin: str | None = None


@dataclass(frozen=True)
class HolderPage:
    """What ``/h/<token>`` shows: the holder and their charters, most recent first."""

    holder_name: str
    charters: tuple[HolderCharter, ...]
    #: the holder's place in the public register: ``listed`` or ``unlisted``
    register_listing: str = "listed"
    #: whether that is the certification body's default (the holder has not chosen)
    register_by_default: bool = True
    #: years a suspension or revocation stays in the register whatever the holder chose
    register_decision_years: int = 5

    @property
    def heading(self) -> str:
        """The holder's name, with the post-nominal while they hold a current charter."""
        if any(charter.state == "current" for charter in self.charters):
            return f"{self.holder_name}, {POST_NOMINAL}"
        return self.holder_name


#: How each kind of version is named on the page.
KINDS: Final = {"award": "Award", "renewal": "Renewal", "reinstatement": "Reinstatement"}


def day(moment: datetime) -> str:
    """A date as a person reads it: 26 November 2031 (UTC)."""
    return f"{moment.day} {moment:%B %Y}"


#: ``find(token)``: the page a token opens, or None (malformed, unknown or revoked: alike).
PageFinder = Callable[[str], HolderPage | None]
#: ``choose(token, listing)``: record the holder's register listing; False for a token that opens no page.
ListingChooser = Callable[[str, str], bool]
LISTINGS: Final = ("listed", "unlisted")


def render_page(page: HolderPage, **wallets: Any) -> str:
    """The holder page's HTML for the request's ``<token>``; ``wallets`` are what the wallet parts of
    the page show (by name). Every route that answers with the page (its GET, and the POSTs that
    open a wallet offer or exchange) renders it whole: the register choice is offered wherever
    the application records it."""
    return render_template(
        "wallet_export/holder.html",
        page=page,
        post_nominal=POST_NOMINAL,
        day=day,
        kinds=KINDS,
        token=(request.view_args or {}).get("token"),
        choose_listing="holder.register_choice" in current_app.view_functions,
        **wallets,
    )


def create_blueprint(find: PageFinder, choose: ListingChooser | None = None) -> Blueprint:
    """The holder page's routes, reading pages through ``find`` and recording the holder's
    register listing through ``choose``."""
    blueprint = Blueprint("holder", __name__, template_folder="templates")

    if choose is not None:

        @blueprint.post(HOLDER_PAGE_ROUTE + "/register")
        def register_choice(token: str) -> WerkzeugResponse:
            """POST /h/<token>/register (``listing=listed|unlisted``): the holder lists or unlists
            themselves in the public register, then sees their page again (303)."""
            listing = request.form.get("listing", "")
            if listing not in LISTINGS:
                abort(400, description="listing: listed or unlisted")
            if not choose(token, listing):
                abort(404, description=NOT_FOUND)
            return redirect(url_for("holder.holder_page", token=token, _anchor="register"), code=303)

    @blueprint.get(HOLDER_PAGE_ROUTE)
    def holder_page(token: str) -> Response:
        """GET /h/<token>: the holder's private page; the same 404 for any token that opens none."""
        page = find(token)
        if page is None:
            abort(404, description=NOT_FOUND)
        return Response(render_page(page), mimetype="text/html")

    return blueprint
