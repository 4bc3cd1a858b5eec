"""Whatever valid award we issue, in either format, our verifier accepts as it was issued."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from caiep.issuer.charter import PATHWAYS, CharterAward, IssuerProfile
from caiep.issuer.issuance import issue_charter
from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.verifier.result import Outcome
from caiep.verifier.verify import verify

KEY = SigningKey.from_seed(bytes(range(7, 39)))
ISSUER = did_key_for(KEY.public_key)
PROFILE = IssuerProfile(
    id=ISSUER,
    name="CAiEP Certification Board",
    url="https://credentials.caiep.example",
    base_url="https://credentials.caiep.example",
)
METHOD = verification_method_id(ISSUER, KEY.public_key)
# Printable text and the awkward characters canonicalisation must escape; no lone surrogates.
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    name=TEXT.filter(str.strip),
    local=st.from_regex(r"[a-z0-9._%+-]{1,20}", fullmatch=True),
    score=st.none() | st.integers(0, 100).map(str),
    version=st.none() | TEXT,
    pathway=st.none() | st.sampled_from(sorted(PATHWAYS)),
    days=st.integers(0, 3000),
    fmt=st.sampled_from(["ldp", "jwt"]),
)
def test_issue_then_verify_holds(name, local, score, version, pathway, days, fmt):
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days, seconds=days * 37)
    award = CharterAward(
        name=name,
        email=f"{local}@example.org",
        exam_date=now.date() - timedelta(days=3),
        charter_number="CAIEP-1",
        score=score,
        exam_version=version,
        pathway=pathway,
    )
    signed = issue_charter(PROFILE, award, KEY, verification_method=METHOD, now=now, format=fmt)
    result = verify(signed.token or signed.credential, now=now + timedelta(days=1))
    assert result.outcome is Outcome.VALID, result.to_json()
    assert result.credential["credentialSubject"]["name"] == name.strip()
    later = verify(signed.token or signed.credential, now=now + timedelta(days=5 * 366 + 1))
    assert later.verdict.value == "expired"
    assert date.fromisoformat(result.credential["validUntil"][:10]).year == now.year + 5
