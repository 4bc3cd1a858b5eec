"""The project's exception tree: every error the code raises on purpose derives from here.

This module imports nothing of the project, so every layer (foundations included) may
raise from it. Each exception carries a stable ``code`` (shown on public pages and in
the JSON API) and the data that explains it as fields, never pasted into the message::

    CaiepError
    ├── ConfigurationError            settings, instance directory, missing passphrase
    ├── InputError                    bad user input: a file, a row, a flag, a request body
    ├── KeyMaterialError              unreadable or wrongly protected private keys
    │   └── PassphraseError           the passphrase does not open the key
    ├── EncodingError                 malformed multibase, base58, base64url, JWS, did:key
    ├── DocumentLoaderError           a JSON-LD context or document we refuse to load
    ├── SchemaValidationError         JSON Schema failures, with JSON pointers
    ├── CanonicalizationError         JSON-LD to RDF failed
    │   ├── DataLossError             terms that do not expand (Data Integrity §2.4.3)
    │   └── InvalidIRIError           a malformed IRI that would be signed
    ├── ResolutionError               a DID, key or status list could not be fetched
    ├── TimeBudgetExceeded            a verification ran out of its time budget
    └── CredentialInvalid             the credential is invalid: an answer, not a crash
        ├── ProofInvalid              the proof is malformed or the signature does not verify
        └── VerificationMethodInvalid the key is not the issuer's to sign with
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CaiepError(Exception):
    """Root of every error this project raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(CaiepError):
    """The instance is not set up as the command needs (settings, keys, passphrase)."""

    code = "configuration_error"


class InputError(CaiepError):
    """Input from a user is unusable; ``source`` and ``location`` say where."""

    code = "invalid_input"

    def __init__(self, message: str, *, source: str | None = None, location: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.location = location

    def __str__(self) -> str:
        where = ":".join(p for p in (self.source, self.location) if p)
        return f"{where}: {self.message}" if where else self.message


class KeyMaterialError(CaiepError):
    """A private key file is missing, corrupt or not protected as required."""

    code = "key_material_error"


class PassphraseError(KeyMaterialError):
    """The passphrase given does not decrypt the private key."""

    code = "wrong_passphrase"


class EncodingError(CaiepError):
    """A value is not in the encoding it claims (multibase, base58btc, base64url, JWS, DID)."""

    code = "malformed_encoding"

    def __init__(self, message: str, *, value: str | None = None) -> None:
        super().__init__(message)
        self.value = value


class DocumentLoaderError(CaiepError):
    """A JSON-LD context or document was requested that the offline loader does not serve."""

    code = "document_not_allowed"

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


@dataclass(frozen=True)
class SchemaIssue:
    """One JSON Schema failure: where (RFC 6901 pointer into the instance) and why."""

    json_pointer: str
    message: str
    keyword: str


class SchemaValidationError(CaiepError):
    """The document fails a JSON Schema; ``issues`` lists every failure with its pointer."""

    code = "schema_invalid"

    def __init__(self, message: str, *, issues: Sequence[SchemaIssue]) -> None:
        super().__init__(message)
        self.issues = tuple(issues)


class CanonicalizationError(CaiepError):
    """The document cannot be turned into canonical RDF."""

    code = "canonicalization_error"

    def __init__(self, message: str, *, json_pointer: str | None = None) -> None:
        super().__init__(message)
        self.json_pointer = json_pointer


class DataLossError(CanonicalizationError):
    """A term or value would be dropped by JSON-LD expansion (VC Data Integrity §2.4.3)."""

    code = "DATA_LOSS_DETECTION_ERROR"

    def __init__(self, message: str, *, terms: Sequence[str], json_pointer: str | None = None) -> None:
        super().__init__(message, json_pointer=json_pointer)
        self.terms = tuple(terms)


class InvalidIRIError(CanonicalizationError):
    """An IRI in the document is malformed; signing it would bind garbage."""

    code = "invalid_iri"

    def __init__(self, message: str, *, iri: str, json_pointer: str | None = None) -> None:
        super().__init__(message, json_pointer=json_pointer)
        self.iri = iri


class ResolutionError(CaiepError):
    """A DID document, verification method or status list could not be retrieved."""

    code = "resolution_error"

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class TimeBudgetExceeded(CaiepError):
    """A verification's time budget ran out before it could decide (the answer is "cannot be
    verified", never "invalid"); ``seconds`` is the budget it had."""

    code = "took_too_long"

    def __init__(self, seconds: float) -> None:
        super().__init__("cannot be verified: took too long")
        self.seconds = seconds


class CredentialInvalid(CaiepError):
    """The credential is invalid. Verification reports this as an outcome, not a crash."""

    code = "credential_invalid"


class ProofInvalid(CredentialInvalid):
    """The proof is malformed, uses an unsupported suite, or its signature does not verify."""

    code = "proof_invalid"


class VerificationMethodInvalid(CredentialInvalid):
    """The verification method is not one the issuer controls for ``assertionMethod``."""

    code = "verification_method_invalid"

    def __init__(self, message: str, *, verification_method: str) -> None:
        super().__init__(message)
        self.verification_method = verification_method
