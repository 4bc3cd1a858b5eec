"""A receipt's RDF quads, written directly: what JSON-LD expansion would give, without running it.

Signing a receipt hashes its canonical N-Quads (eddsa-rdfc-2022). The compiled shapes of
:mod:`caiep.proofs.shapes` make that fast for documents whose shape repeats, but a bulk check's
answers differ in which members they carry, so nearly every batch of 500 would be a new shape
and take the general JSON-LD path (about half a second). A receipt is our own document, of a
structure :class:`~caiep.verifier.receipts.ReceiptIssuer` alone makes, under two contexts whose
terms are fixed: its quads are written here from that structure and the receipt context's own
term definitions, then canonicalised by RDFC-1.0 as usual.

Used to *sign* only: a receipt presented for verification always goes through the general
path (:func:`caiep.proofs.dataintegrity.verify_proof`). Tests assert that both give the same
canonical N-Quads over receipts of every kind and many generated answer sets, and Digital
Bazaar's verifier checks what is signed this way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from caiep.proofs.nquads import Quad, escape_literal
from caiep.schemas.loader import receipt_context_bytes

RDF_TYPE: Final = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
XSD_BOOLEAN: Final = "http://www.w3.org/2001/XMLSchema#boolean"
_CRED: Final = "https://www.w3.org/2018/credentials#"
#: The VCDM 2.0 context's terms a receipt uses (www.w3.org/ns/credentials/v2).
_VC_TERMS: Final = {
    "VerifiableCredential": {"@id": _CRED + "VerifiableCredential"},
    "issuer": {"@id": _CRED + "issuer", "@type": "@id"},
    "validFrom": {"@id": _CRED + "validFrom", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
    "credentialSubject": {"@id": _CRED + "credentialSubject", "@type": "@id"},
    "name": {"@id": "https://schema.org/name"},
}
_SKIPPED: Final = frozenset({"@context", "id", "type", "proof"})


@cache
def _terms() -> dict[str, dict[str, str]]:
    """Every term a receipt may use: the receipt context's definitions, then VCDM 2.0's few."""
    defined = json.loads(receipt_context_bytes())["@context"]
    terms = {name: value for name, value in defined.items() if isinstance(value, dict)}
    return {**terms, **_VC_TERMS}


def receipt_quads(receipt: Mapping[str, Any]) -> list[Quad]:
    """The quads of an unsecured receipt (no ``proof``), as JSON-LD to RDF would give them."""
    terms = _terms()
    quads: list[Quad] = []
    labels = iter(range(1_000_000_000))

    def node(value: Mapping[str, Any]) -> str:
        subject = f"<{value['id']}>" if "id" in value else f"_:b{next(labels)}"
        kinds = value.get("type", [])
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            quads.append((subject, RDF_TYPE, f"<{terms[kind]['@id']}>", ""))
        for name, item in value.items():
            if name in _SKIPPED or item is None:
                continue
            definition = terms[name]
            predicate = f"<{definition['@id']}>"
            for one in item if isinstance(item, list) else [item]:
                quads.append((subject, predicate, obj(one, definition), ""))
        return subject

    def obj(value: Any, definition: Mapping[str, str]) -> str:
        if isinstance(value, Mapping):
            return node(value)
        kind = definition.get("@type")
        if isinstance(value, bool):
            return f'"{"true" if value else "false"}"^^<{XSD_BOOLEAN}>'
        if kind == "@id":
            return f"<{value}>"
        text = escape_literal(str(value))
        return f'"{text}"^^<{kind}>' if kind else f'"{text}"'

    node(receipt)
    return quads
