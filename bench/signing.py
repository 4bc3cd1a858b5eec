"""Signing and verification throughput on one core: fast path, general path, full verify().

Run: ``make bench`` (or ``.venv/bin/python bench/signing.py [N]``). Prints, per workload,
operations per second and the p50/p99 latency of one credential. Every credential is a
different document (own holder, id, salt), signed with eddsa-rdfc-2022.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs import dataintegrity
from caiep.proofs.dataintegrity import sign, verify_proof
from caiep.proofs.rdf import to_quads
from caiep.proofs.rdfc import canonicalize
from caiep.verifier.verify import verify

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _timed(label: str, items: Iterable[Any], operation: Callable[[Any], Any]) -> None:
    items = list(items)
    gc.collect()
    samples = []
    start = time.perf_counter()
    for item in items:
        t0 = time.perf_counter()
        operation(item)
        samples.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(
        f"{label:<58} {len(items) / total:>8,.0f}/s   p50 {statistics.median(samples) * 1e6:>7,.0f} µs"
        f"   p99 {p99 * 1e6:>7,.0f} µs"
    )


def _charters(count: int, issuer: str) -> list[dict[str, Any]]:
    profile = IssuerProfile(
        id=issuer,
        name="CAiEP Certification Board",
        url="https://credentials.caiep.example",
        base_url="https://credentials.caiep.example",
    )
    return [
        build_charter_credential(
            profile,
            CharterAward(
                f"Holder Number {i} Ñoño",
                f"holder{i}@example.org",
                date(2026, 6, 1),
                f"CAIEP-{i:06d}",
                score=str(70 + i % 30),
                exam_version="2026.1",
                pathway="experience",
            ),
            credential_uuid=f"{i:032x}",
            now=NOW,
            salt=f"{i:016x}",
        )
        for i in range(count)
    ]


def main(count: int) -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    issuer = did_key_for(key.public_key)
    method = verification_method_id(issuer, key.public_key)
    charters = _charters(count, issuer)
    print(f"{count} charter credentials ({len(json.dumps(charters[0]))} bytes of JSON each), one core\n")

    sign(charters[0], key, verification_method=method, created=NOW)  # compile the shape once
    _timed(
        "sign, charter credential (compiled shape)",
        charters,
        lambda c: sign(c, key, verification_method=method, created=NOW),
    )
    signed = [sign(c, key, verification_method=method, created=NOW) for c in charters]
    _timed(
        "verify proof, charter credential (compiled shape)",
        signed,
        lambda c: verify_proof(c, c["proof"][0], key.public_key),
    )
    _timed("verify(): all checks, charter credential, did:key", signed, lambda c: verify(c, now=NOW))

    others = {
        "1EdTech complete credential": ROOT
        / "tests/vectors/external/1edtech/1edtech-validator-complete.eddsa-rdfc-2022.json",
        "W3C vc-di-eddsa credential": ROOT / "tests/vectors/external/vc-di-eddsa/TestVectors/unsigned.json",
    }
    general = max(200, count // 10)
    with mock.patch.object(
        dataintegrity,
        "canonical_nquads",
        lambda d, document_loader: canonicalize(to_quads(d, document_loader=document_loader)),
    ):
        _timed(
            "sign, charter credential (general path)",
            charters[:general],
            lambda c: sign(c, key, verification_method=method, created=NOW),
        )
        _timed(
            "verify proof, charter credential (general path)",
            signed[:general],
            lambda c: verify_proof(c, c["proof"][0], key.public_key),
        )
        for name, path in others.items():
            document = {k: v for k, v in json.loads(path.read_text()).items() if k != "proof"}
            variants = [{**document, "id": f"urn:uuid:{i:032x}"} for i in range(general)]
            _timed(
                f"sign, {name} (general path)",
                variants,
                lambda d: sign(d, key, verification_method=method, created=NOW),
            )
            proofed = [sign(d, key, verification_method=method, created=NOW) for d in variants]
            _timed(
                f"verify proof, {name} (general path)",
                proofed,
                lambda d: verify_proof(d, d["proof"][0], key.public_key),
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
