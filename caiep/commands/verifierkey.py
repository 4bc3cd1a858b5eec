"""``caiep verifier-key show|rotate``: the verification service's own key, which signs receipts.

That key is not the issuer's: it signs the service's statements about checks it made (receipts),
never a charter. The web app serves its DID document at ``/verifier/did.json`` (read at start:
restart the app after a rotation). A rotation keeps every older key in that document, so the
receipts they signed keep verifying.
"""

from __future__ import annotations

import click

from caiep.commands.common import EXIT_OK, Invocation, pass_invocation


@click.group("verifier-key")
def verifier_key() -> None:
    """The verification service's own key (signs receipts, never charters)."""


@verifier_key.command("show")
@pass_invocation
def show(invocation: Invocation) -> int:
    """The verification service's DID and its keys, current one last."""
    from caiep.verifier.receipts import verifier_did
    from caiep.verifierkey import open_verifier_keys

    configuration = invocation.configuration()
    store = open_verifier_keys(configuration)
    print(verifier_did(configuration.identity().issuer_url))
    for record in store.records():
        state = f"retired {record.retired:%Y-%m-%d}" if record.retired else "current"
        print(f"{record.key_id}  created {record.created:%Y-%m-%d}  {state}")
    return EXIT_OK


@verifier_key.command("rotate")
@pass_invocation
def rotate(invocation: Invocation) -> int:
    """A new receipt-signing key; older ones stay in the verifier's DID document."""
    from datetime import UTC, datetime

    from caiep.issuer.audit import AuditEntry
    from caiep.verifier.receipts import verifier_did
    from caiep.verifierkey import open_verifier_keys, rotate_verifier_key

    configuration = invocation.configuration()
    instance = invocation.instance()
    previous = open_verifier_keys(configuration).current()
    now = datetime.now(UTC)
    did = verifier_did(instance.settings.issuer_url)
    with instance.registry() as registry:  # opened first: a rotation is never left out of the audit log
        record = rotate_verifier_key(configuration, now=now)
        registry.append_audit(
            [AuditEntry("verifier_key.rotated", did, {"new": record.key_id, "retired": previous.key_id})],
            now=now,
        )
    print(f"new receipt-signing key {record.key_id}; {previous.key_id} retired but still in {did}")
    print("restart the web app to sign with it and to serve the new DID document")
    return EXIT_OK
