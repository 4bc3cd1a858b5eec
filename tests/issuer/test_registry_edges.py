"""Edges of the registry: duplicates inside one chunk, URL lookups, the stored job report."""

from __future__ import annotations

import json
from datetime import date

import pytest

from caiep.errors import InputError
from caiep.issuer.jobs import Signer, run_signing_job
from caiep.issuer.registry import Registry
from caiep.issuer.results import ExamResult
from support import FIXED_NOW


def _result(line: int, candidate: str = "C-1") -> ExamResult:
    return ExamResult(
        candidate_id=candidate,
        given_name="Ada",
        family_name="Example",
        email="ada@example.org" if candidate == "C-1" else f"{candidate.lower()}@example.org",
        registered_on=date(2026, 1, 15),
        exam_date=date(2026, 6, 1),
        result="pass",
        score="82",
        exam_version="2026.1",
        pathway="experience",
        line=line,
    )


def test_the_same_exam_twice_in_one_chunk_is_one_result_and_one_duplicate(registry: Registry):
    summary = registry.import_results(
        [_result(2), _result(3), _result(4, "C-2")], source="api", source_sha256="0" * 64, now=FIXED_NOW
    )
    assert (summary.inserted, summary.duplicates, summary.passes) == (2, 1, 2)
    assert registry.count_pending() == 2


def test_a_credential_url_must_be_ours_not_just_end_in_our_uuid(registry: Registry, signer: Signer):
    registry.import_results([_result(2)], source="api", source_sha256="0" * 64, now=FIXED_NOW)
    run_signing_job(registry, signer, clock=lambda: FIXED_NOW)
    [record] = registry.credentials()
    assert registry.credential(record.credential_id)[0] == record
    assert registry.credential(record.url + "/")[0] == record
    with pytest.raises(InputError):
        registry.credential(f"https://elsewhere.example/credentials/{record.credential_id}")


def test_the_stored_job_report_carries_the_final_audit_head(registry: Registry, signer: Signer):
    registry.import_results([_result(2)], source="api", source_sha256="0" * 64, now=FIXED_NOW)
    report = run_signing_job(registry, signer, clock=lambda: FIXED_NOW)
    with registry.read() as connection:
        stored = connection.exec_driver_sql("SELECT report FROM jobs").scalar_one()
    assert json.loads(stored)["auditHead"] == report.audit_head != ""
