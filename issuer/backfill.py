"""``caiep credentials backfill``: the missing form of each credential issued before both were stored.

Since each version is issued as a pair (:mod:`caiep.issuer.versions`), exports read the stored
forms and never sign. A charter credential issued before has only its served copy: this signs
its other form once (the VC-JWT of a JSON copy, or the JSON copy of a VC-JWT), over the same
body (same id, dates, subject, evidence and ``credentialStatus``, so the same status index and
the same revocation bit), by the current key, and stores it beside the served copy with
``served`` false, logged in the audit chain like every issued copy.

Only the served copy of each current version is completed: exports read that version, and a
superseded version's missing form was never issued, so it is not made now. Batches run in
their own transactions; a copy that gained its form is never selected again, so running it
twice signs nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from caiep.issuer.copies import NewCopy, add_copies, copies_lacking_a_form, lacking_a_form
from caiep.issuer.issuance import other_form, sign_credential
from caiep.issuer.registry import Registry
from caiep.issuer.signer import Signer
from caiep.issuer.versions import body_of


@dataclass
class BackfillProgress:
    """How far a backfill is: forms signed so far out of those missing when it started."""

    total: int
    signed: int = 0


def count_missing_forms(registry: Registry) -> int:
    """How many served copies lack their other form (what a backfill would sign; ``--dry-run``)."""
    with registry.read() as connection:
        query = select(func.count()).select_from(lacking_a_form().subquery())
        return int(connection.execute(query).scalar_one())


def backfill_forms(
    registry: Registry,
    signer: Signer,
    *,
    now: datetime,
    batch_size: int = 500,
    on_progress: Callable[[BackfillProgress], None] | None = None,
) -> int:
    """Sign and store the other form of every served copy stored without it, ``batch_size`` a
    transaction; the number of forms signed (0 when every credential has both)."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    progress = BackfillProgress(total=count_missing_forms(registry))
    after = 0
    while True:
        with registry.write() as connection:
            batch = copies_lacking_a_form(connection, batch_size, after=after)
            if not batch:
                return progress.signed
            made = []
            for copy_id, copy in batch:
                form = other_form(copy.format)
                signed = sign_credential(
                    body_of(copy.format, copy.document),
                    signer.key,
                    verification_method=signer.verification_method,
                    now=now,
                    format=form,
                )
                made.append(
                    NewCopy(
                        copy.credential_id, copy.version, copy.url, copy.holder_id, form,
                        signed.serialize(), signer.key_id, copy.status, served=False,
                    )
                )  # fmt: skip
                after = copy_id
            add_copies(connection, made, now=now, job_id=None, subject="credentials.backfill")
        progress.signed += len(made)
        progress.total = max(progress.total, progress.signed)
        if on_progress is not None:
            on_progress(progress)
