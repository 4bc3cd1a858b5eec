"""State changes made with the lifecycle building blocks (as the charter commands compose them),
for tests of what the pages, the API and the peers then say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from caiep.issuer import lifecycle, statuslists, versions
from caiep.issuer.charter import VALIDITY_YEARS, add_years
from caiep.issuer.jobs import IssuedCredential, Signer
from caiep.issuer.registry import Registry


def new_version(
    registry: Registry, signer: Signer, issued: IssuedCredential, name: str, when: datetime, kind: str
) -> str:
    """A renewal or reinstatement signed at ``when`` under the same id (valid five years from
    ``when``), served from now on, as the charter commands make it but without their rules of
    when one is allowed; its served document. The body (``name`` included) is the served copy's.
    Every list is then re-signed at the present, as the daily ``status publish`` does."""
    del name
    with registry.write() as connection:
        charter = lifecycle.find_charter(connection, issued.credential_id, lock=True)
        made = versions.new_version(
            connection, charter, signer, kind=kind, valid_from=when,
            valid_until=add_years(when.astimezone(UTC).replace(microsecond=0), VALIDITY_YEARS), now=when,
        )  # fmt: skip
    resign_all(registry, signer)
    return made.served


def change_state(
    registry: Registry, signer: Signer, issued: IssuedCredential, state: str, reason: str, now: datetime
) -> None:
    """Revoke or suspend: the bit of every unexpired copy, then the recorded state and reason."""
    with registry.write() as connection:
        entries = lifecycle.copies_in_circulation(connection, issued.credential_id, unexpired_at=now)
        statuslists.set_bits(connection, entries, signer.list_signer(), now=now)
        lifecycle.set_state(connection, issued.credential_id, state, now=now, public_reason=reason)


def resign_all(registry: Registry, signer: Signer) -> None:
    """Re-sign every list now (a list first signed in the past would have expired)."""
    registry.republish_status_lists(signer.list_signer(), now=datetime.now(UTC), older_than=timedelta(0))


def three_standings(
    home: Path, database_url: str, passphrase: str, now: datetime
) -> dict[str, IssuedCredential]:
    """Three charters of the instance at ``home``, changed while its app may run: one revoked, one
    suspended, one renewed (its older document kept); by those names."""
    from caiep.issuer.charter import CharterAward
    from caiep.issuer.jobs import issue_one
    from caiep.issuer.registry import open_registry
    from caiep.wiring import Instance

    signer = Instance(home).signer(passphrase)
    registry = open_registry(database_url)
    try:

        def award(name: str, when: datetime) -> IssuedCredential:
            made = CharterAward(
                name, f"{name.split()[0].lower()}@example.org", (when - timedelta(days=20)).date(), ""
            )
            return issue_one(registry, signer, made, now=when)

        revoked = award("Rita Revoked", now - timedelta(days=5))
        suspended = award("Sol Suspended", now - timedelta(days=5))
        renewed = award("Rene Renewed", now - timedelta(days=4 * 365))
        new_version(registry, signer, renewed, "Rene Renewed", now - timedelta(days=1), "renewal")
        change_state(registry, signer, revoked, "revoked", "Charter withdrawn after a hearing", now)
        change_state(registry, signer, suspended, "suspended", "Under review", now)
    finally:
        registry.dispose()
    return {"revoked": revoked, "suspended": suspended, "renewed": renewed}
