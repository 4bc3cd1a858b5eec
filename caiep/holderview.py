"""The composition of the holder's private page: the registry's holder, as the page shows them.

The features never import each other, so what the registry reads for a token
(:class:`~caiep.issuer.holders.Holder`) becomes the page's
(:class:`~caiep.wallet_export.holder_web.HolderPage`) here, with the downloads and LinkedIn's
"Add to profile" URL of the exports (only for a current charter) and the public addresses.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from caiep.addresses import ServiceAddresses, page_path, qr_path
from caiep.exporting import exported_charter
from caiep.issuer import holders, holdertokens, register
from caiep.issuer.register import RegisterPolicy
from caiep.wallet_export.downloads import download_links
from caiep.wallet_export.holder_web import Download, HolderCharter, HolderPage, Version
from caiep.wallet_export.linkedin import add_to_profile_url

if TYPE_CHECKING:
    from caiep.issuer.registry import Registry


def holder_page(
    registry: Registry,
    token: str,
    *,
    issuer_url: str,
    linkedin_organization_id: str | None,
    now: datetime,
    policy: RegisterPolicy | None = None,
) -> HolderPage | None:
    """The page ``token`` opens, read afresh from the registry; None for a token that opens none."""
    policy = policy or RegisterPolicy()
    with registry.read() as connection:
        holder = holders.holder_by_token(connection, token, now=now)
        chosen = None if holder is None else register.holder_choice(connection, holder.holder_id)
    if holder is None:
        return None
    return HolderPage(
        holder_name=holder.name,
        charters=tuple(_charter(held, issuer_url, linkedin_organization_id) for held in holder.charters),
        register_listing=chosen or policy.default_listing,
        register_by_default=chosen is None,
        register_decision_years=policy.decision_years,
    )


def choose_listing(registry: Registry, token: str, listing: str, *, now: datetime) -> bool:
    """Record the register listing the holder of ``token`` chose (an audit entry by ``holder``);
    False, with nothing changed, for a token that opens no page."""
    with registry.write() as connection:
        holder_id = holdertokens.resolve(connection, token)
        if holder_id is None:
            return False
        register.set_holder_listing(connection, holder_id, listing, actor="holder", via="holder", now=now)
    return True


def _charter(held: holders.HeldCharter, issuer_url: str, organization_id: str | None) -> HolderCharter:
    copies = held.copies
    exported = exported_charter(copies, issuer_url)
    current = copies.state == "current"
    downloads = (
        tuple(
            Download(label, href, media_type)
            for label, href, media_type in download_links(copies.credential_id, frozenset(copies.forms))
        )
        if current
        else ()
    )
    return HolderCharter(
        credential_id=copies.credential_id,
        charter_name=exported.charter_name,
        charter_number=copies.charter_number,
        state=copies.state,
        state_since=held.state_since,
        public_reason=copies.public_reason,
        awarded=copies.awarded_at,
        current=Version(copies.version, held.current_kind, copies.valid_from, copies.valid_until),
        earlier=tuple(Version(v.version, v.kind, v.valid_from, v.valid_until) for v in held.earlier),
        page=page_path(copies.credential_id),
        page_url=ServiceAddresses(issuer_url).page(copies.credential_id),
        qr=qr_path(copies.credential_id, "png"),
        downloads=downloads,
        linkedin=add_to_profile_url(exported, organization_id=organization_id) if current else None,
    )
