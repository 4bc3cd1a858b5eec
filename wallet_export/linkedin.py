"""LinkedIn's "Add to profile" URL for a certification (the de facto format; see the README).

``https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=…`` opens the signed-in
member's own profile with the certification filled in: its name, the issuing organisation (by
LinkedIn's numeric ``organizationId`` when the certification body has one, else by
``organizationName``), the month and year of issue and of expiry, the credential URL and the
credential id. Every value is percent-encoded, so names with ``&``, ``+``, ``#``, accents or any
script survive (a URL built without encoding breaks at the first ``&``).

LinkedIn keeps what the member saved: it never learns of a later revocation, suspension or
renewal. The credential URL is the public verification page, which is the live truth.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from caiep.errors import InputError
from caiep.wallet_export.charter import ExportedCharter, require_current

ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"
_ORGANIZATION_ID = re.compile(r"[0-9]{1,20}\Z")


def add_to_profile_url(charter: ExportedCharter, *, organization_id: str | None = None) -> str:
    """The "Add to profile" URL of a current charter; :class:`~caiep.wallet_export.charter.NotCurrent`
    for any other.

    Issued is the first award (a renewed charter keeps its first year); expiry the current
    version's ``validUntil``; ``certUrl`` the public page; ``certId`` the charter number.
    """
    require_current(charter, "LinkedIn certification")
    if organization_id is not None and not _ORGANIZATION_ID.match(organization_id):
        raise InputError(
            f"a LinkedIn organization id is LinkedIn's numeric company id, not {organization_id!r}",
            location="linkedin_organization_id",
        )
    organization = (
        ("organizationId", organization_id)
        if organization_id is not None
        else ("organizationName", charter.issuer_name)
    )
    parameters = [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", charter.charter_name),
        organization,
        ("issueYear", str(charter.awarded.year)),
        ("issueMonth", str(charter.awarded.month)),
        ("expirationYear", str(charter.valid_until.year)),
        ("expirationMonth", str(charter.valid_until.month)),
        ("certUrl", charter.page_url),
        ("certId", charter.charter_number),
    ]
    return f"{ADD_TO_PROFILE}?{urlencode(parameters, quote_via=quote, safe='')}"
