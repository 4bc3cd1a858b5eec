"""The registry's tables (SQLAlchemy Core). Alembic migrations in ``issuer/migrations`` create them.

What the certification body must be able to answer at any time: who holds which credential,
issued when, from which exam result, by which job, signed with which key; and an audit trail
that shows any edit or deletion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, stored and compared in UTC.

    PostgreSQL's ``timestamptz`` does this itself; SQLite keeps only the wall-clock digits, so
    a time given at another offset would be stored and compared as the wrong instant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """An aware time converted to UTC on its way to the database."""
        return value.astimezone(UTC) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """A stored time read back as an aware UTC time (SQLite returns it naive)."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


holders = Table(
    "holders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # normalised: trimmed, lower-case
    Column("name", String(400), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # the name as the public register compares it (issuer.register.name_key); written with the name
    Column("name_key", String(400)),
    Column("register_listing", String(8)),  # listed | unlisted; null: the certification body's default
)
Index("ix_holders_name_key", holders.c.name_key)

exam_results = Table(
    "exam_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("candidate_id", String(64), nullable=False),
    Column("exam_version", String(64), nullable=False),
    Column("exam_date", Date, nullable=False),
    Column("holder_id", ForeignKey("holders.id"), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("result", String(8), nullable=False),  # pass | fail
    Column("score", String(16)),
    Column("pathway", String(16), nullable=False),
    # pending (a pass without credential) | issued | failed (could not be signed; see job_items)
    # | not_eligible (a fail, kept for the record)
    Column("status", String(16), nullable=False),
    Column("source", String(512), nullable=False),  # file and line it was imported from
    Column("imported_at", UtcDateTime(), nullable=False),
    UniqueConstraint("candidate_id", "exam_version", "exam_date", name="uq_exam_results_exam"),
)
Index("ix_exam_results_pending", exam_results.c.status, exam_results.c.id)
Index("ix_exam_results_holder", exam_results.c.holder_id)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),  # signing
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    # running | finished | failed; a running job whose process died is listed as interrupted
    Column("status", String(16), nullable=False),
    Column("workers", Integer, nullable=False),
    Column("issued", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("report", Text),  # while running: the process that runs it (issuer.jobstatus); then the report
)

# The lifecycle model (README "Charter credentials, versions and copies"):
# a charter credential is one holder's charter, one id for life; a version is one (re)issuance of
# it (award, renewal, reinstatement), exactly one of them current; a copy is one signed document of
# a version, carrying the status list index it was given.
charter_credentials = Table(
    "charter_credentials",
    metadata,
    Column("id", String(36), primary_key=True),  # the uuid of https://<host>/credentials/<uuid>
    Column("url", String(512), nullable=False, unique=True),
    Column("holder_id", ForeignKey("holders.id"), nullable=False),
    Column("result_id", ForeignKey("exam_results.id"), unique=True),  # the award's; null for single issuance
    # current | suspended | revoked; "lapsed" is read from the current version's valid_until
    Column("state", String(16), nullable=False),
    Column("state_since", UtcDateTime(), nullable=False),
    Column("public_reason", Text),  # shown on the public page
    Column("internal_note", Text),  # never shown outside the registry
    Column("awarded_at", UtcDateTime(), nullable=False),  # the first award: every version's awardedDate
    Column("issued_at", UtcDateTime(), nullable=False),  # when the first version was recorded
)
Index("ix_charter_credentials_holder", charter_credentials.c.holder_id)
# Listings are newest first, ties by uuid, and page from a (issued_at, id) position.
Index("ix_charter_credentials_issued", charter_credentials.c.issued_at, charter_credentials.c.id)

credential_versions = Table(
    "credential_versions",
    metadata,
    Column("credential_id", ForeignKey("charter_credentials.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),  # 1 for the award, then 2, 3, ...
    Column("kind", String(16), nullable=False),  # award | renewal | reinstatement
    Column("version_state", String(16), nullable=False),  # current | superseded
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_until", UtcDateTime(), nullable=False),
    Column("result_id", ForeignKey("exam_results.id")),
    Column("job_id", ForeignKey("jobs.id")),
    Column("issued_at", UtcDateTime(), nullable=False),
)
# Exactly one version of a charter credential is current, and one copy of it is served: kept so by
# the functions that add versions and copies (issuer.lifecycle), in the transaction that adds
# them. (Partial unique indexes would say it too, at a cost every signed credential pays.)
Index("ix_credential_versions_valid_until", credential_versions.c.valid_until)

credential_copies = Table(
    "credential_copies",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("credential_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("format", String(8), nullable=False),  # ldp | jwt
    Column("document", Text, nullable=False),  # the exact signed JSON, or the compact JWS
    Column("sha256", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),  # the signing key's publicKeyMultibase
    # The BitstringStatusListEntry it carries (null: a copy issued before status lists).
    Column("status_list", ForeignKey("status_lists.number")),
    Column("status_index", Integer),
    # The copy the hosted URL serves: one per charter credential, of its current version.
    Column("served", Boolean, nullable=False),
    Column("job_id", ForeignKey("jobs.id")),
    Column("issued_at", UtcDateTime(), nullable=False),
    # A copy bound to a holder's wallet (issuer.walletcopies): the wallet's DID, its
    # credentialSubject.id, and the channel it went out by (openid4vci | lcw); null otherwise.
    Column("bound_to", String(2048)),
    Column("channel", String(16)),
    ForeignKeyConstraint(
        ["credential_id", "version"], ["credential_versions.credential_id", "credential_versions.version"]
    ),
)
Index("ix_credential_copies_version", credential_copies.c.credential_id, credential_copies.c.version)
# One row per Bitstring Status List: the revocation bits, which indexes are taken, and the signed
# BitstringStatusListCredential served at <issuer>/status/<number>. Allocating and re-signing lock
# the row (SELECT … FOR UPDATE); the newest list is the one indexes are drawn from.
status_lists = Table(
    "status_lists",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("size", Integer, nullable=False),  # entries (bits), at least 131,072
    Column("bits", LargeBinary, nullable=False),  # the bitstring: a set bit is revoked
    Column("allocated", LargeBinary, nullable=False),  # a set bit: the index is carried by a copy
    Column("used", Integer, nullable=False),  # allocated indexes
    Column("credential", Text),  # the exact signed list credential served; null until first used
    Column("sha256", String(64)),
    Column("key_id", String(64)),
    Column("signed_at", UtcDateTime()),
    Column("valid_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
)

job_items = Table(
    "job_items",
    metadata,
    Column("job_id", ForeignKey("jobs.id"), primary_key=True),
    Column("result_id", ForeignKey("exam_results.id"), primary_key=True),
    Column("outcome", String(16), nullable=False),  # issued | failed
    Column("credential_id", String(36)),
    Column("error", Text),
)

# Holder delivery (README "How a holder receives the charter"): one row per event for a holder,
# enqueued with the change it reports and sent later by ``caiep mail send``. ``state`` is
# pending | sent | bounced; ``composed`` holds the composed message (the only copy of the link's
# raw token) from composition until the server accepts it, then it is erased.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event", String(32), nullable=False),  # award | renewal | reinstatement | suspension | ...
    Column("holder_id", ForeignKey("holders.id"), nullable=False),
    Column("credential_id", String(36), nullable=False),
    Column("version", Integer),
    Column("dedupe_key", String(160), unique=True),  # e.g. one reminder per version and threshold
    Column("message_id", String(255), nullable=False, unique=True),  # stable per event: RFC 5322 Message-ID
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("composed", LargeBinary),
    Column("composed_at", UtcDateTime()),
    Column("last_error", Text),
    Column("sent_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_outbox_due", outbox.c.state, outbox.c.next_attempt_at)

# The private holder page's links: only each token's SHA-256 is kept, with the message that
# carried it; ``revoked_at`` is set by ``caiep holder link --rotate``.
holder_tokens = Table(
    "holder_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("holder_id", ForeignKey("holders.id"), nullable=False),
    Column("outbox_id", ForeignKey("outbox.id")),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)
Index("ix_holder_tokens_holder", holder_tokens.c.holder_id)

# Learner Credential Wallet exchanges (issuer/exchanges.py): the exchange id kept only hashed.
wallet_exchanges = Table(
    "wallet_exchanges",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("credential_id", ForeignKey("charter_credentials.id"), nullable=False),
    Column("challenge", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # open | claimed | used | closed
    Column("failures", Integer, nullable=False),
    Column("subject", String(512)),  # the wallet DID the copy was bound to
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("claimed_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
)
Index("ix_wallet_exchanges_credential", wallet_exchanges.c.credential_id)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),  # ISO 8601 UTC text: hashed exactly as stored
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row (id = 1): the last entry's sequence number and hash. Writers lock it to append, so
# concurrent jobs extend one chain instead of forking it.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", String(64), nullable=False),
)

# OpenID4VCI offers (issuer/offers.py): one row an offer, single use. Every secret (the offer
# URI's token, the pre-authorized code, the access token) is kept as its SHA-256 only, the PIN
# as a salted scrypt hash with a count of wrong attempts.
wallet_offers = Table(
    "wallet_offers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("offer_hash", String(64), nullable=False, unique=True),
    Column("credential_id", ForeignKey("charter_credentials.id"), nullable=False),
    Column("pin_hash", String(128)),  # scrypt, "salt$hash" hex; null: no PIN
    Column("pin_failures", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),  # the offer URI's end
    Column("fetched_at", UtcDateTime()),  # the wallet's GET of the offer URI (once)
    Column("code_hash", String(64), unique=True),
    Column("code_expires_at", UtcDateTime()),
    Column("code_used_at", UtcDateTime()),
    Column("token_hash", String(64), unique=True),
    Column("token_expires_at", UtcDateTime()),
    Column("claimed_at", UtcDateTime()),  # a credential request is being served
    Column("issued_at", UtcDateTime()),  # the credential was handed out
)
Index("ix_wallet_offers_credential", wallet_offers.c.credential_id)

# The c_nonce values of the nonce endpoint: hashed, short-lived, used once.
wallet_nonces = Table(
    "wallet_nonces",
    metadata,
    Column("nonce_hash", String(64), primary_key=True),
    Column("expires_at", UtcDateTime(), nullable=False),
)
Index("ix_wallet_nonces_expiry", wallet_nonces.c.expires_at)

# API keys for bulk re-checks of the register (issuer/apikeys.py): the secret kept as its
# SHA-256 only; ``rate_per_minute`` null means the setting ``apikey_default_rate_per_minute``.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("rate_per_minute", Integer),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
)
