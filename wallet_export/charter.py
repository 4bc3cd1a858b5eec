"""A charter credential as the holder's exports see it, and the rule that guards them.

Exports (the JSON and VC-JWT files, baked badges, the printable certificate, LinkedIn's "Add to
profile") read copies that were signed when the version was issued: this feature holds no key.
:class:`ExportedCharter` carries what they show, composed by the entry points from the registry
(``caiep.exporting``), so this package never imports the issuer.

A withdrawn charter (revoked or suspended) and a lapsed one can still be downloaded as the exact
stored JSON or VC-JWT (any verifier then reads its status), but nothing that looks like a fresh
award is made of it: no baked badge, no certificate, no LinkedIn entry (:func:`require_current`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from caiep.errors import InputError

#: The post-nominal a charter holder uses after their name.
POST_NOMINAL = "CAiEP"

#: The forms a version is stored in, by the names exports use: ``json`` is the credential with
#: its Data Integrity proof (stored as ``ldp``), ``jwt`` its VC-JWT (VC-JOSE) form.
FORMS: Mapping[str, str] = {"json": "ldp", "jwt": "jwt"}


class NotCurrent(InputError):
    """The charter is not current (revoked, suspended or lapsed): no badge, certificate or
    LinkedIn entry is made of it. ``state`` is its charter state."""

    code = "charter_not_current"

    def __init__(self, url: str, state: str, what: str) -> None:
        super().__init__(f"{url} is {state}: a {what} is made only of a current charter")
        self.url = url
        self.state = state


@dataclass(frozen=True)
class ExportedCharter:
    """What the exports of one charter credential show.

    ``state`` is ``current``, ``lapsed``, ``suspended`` or ``revoked``; ``awarded`` is the first
    award (every version's ``awardedDate``), ``valid_until`` the current version's end;
    ``forms`` maps ``ldp``/``jwt`` to the exact stored text of the current version.
    """

    credential_id: str  # the uuid
    url: str  # the credential's id, where the exact document is hosted
    page_url: str  # the public verification page: what the QR code and LinkedIn point at
    charter_number: str
    holder_name: str
    charter_name: str
    issuer_name: str
    state: str
    awarded: datetime
    valid_from: datetime
    valid_until: datetime
    forms: Mapping[str, str]
    served_form: str = "json"  # the form the credential's URL serves: json or jwt

    @property
    def holder_with_post_nominal(self) -> str:
        """ "Jane Doe, CAiEP": the name as a charter holder writes it."""
        return f"{self.holder_name}, {POST_NOMINAL}"

    def stored(self, form: str) -> str:
        """The exact stored text of ``form`` (``json`` or ``jwt``); :class:`InputError` for an
        unknown form or one this version was never stored in."""
        try:
            stored_as = FORMS[form]
        except KeyError:
            raise InputError(f"unknown form {form!r}; expected json or jwt", location="form") from None
        document = self.forms.get(stored_as)
        if document is None:
            raise InputError(
                f"{self.url} has no stored {'VC-JWT' if form == 'jwt' else 'JSON'} copy; "
                "the issuer adds it with `caiep credentials backfill`"
            )
        return document


def require_current(charter: ExportedCharter, what: str) -> None:
    """Refuse to make ``what`` (a baked badge, a certificate, a LinkedIn entry) of a charter
    that is not current: a withdrawn or lapsed charter must not be freshly printed or shared."""
    if charter.state != "current":
        raise NotCurrent(charter.url, charter.state, what)


def file_stem(charter: ExportedCharter) -> str:
    """The base of download file names: ``caiep-CAIEP-000042`` (ASCII, no personal name)."""
    return f"caiep-{charter.charter_number}"
