"""200 revocations from 4 processes at once on one status list (PostgreSQL): every bit is set.

Each process revokes its 50 charters one transaction at a time, so the four keep re-signing
list 1 in turn; the row lock on the list is what keeps one re-signing from dropping another's
bit. The served list (the signed document) must carry all 200 bits, as the table must.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest_registry import (
    ISSUER_URL,
    Caiep,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
    query,
)

from bench.make_results import write_results
from caiep.statuslist import decode_status_list

PROCESSES, EACH = 4, 50

REVOKER = """
import sys
from datetime import UTC, datetime
from pathlib import Path

from caiep.issuer import changes
from caiep.settings import read_passphrase
from caiep.wiring import Instance

instance = Instance(Path(sys.argv[1]))
signer = instance.signer(read_passphrase())
with instance.registry() as registry:
    for credential in sys.argv[2:]:
        with registry.write() as connection:
            changes.revoke(connection, [changes.Wanted(credential, credential)], signer, reason="test",
                           note=None, actor=f"process {sys.argv[1]}", now=datetime.now(UTC))
"""


def _bit(bits: bytes, index: int) -> int:
    return (bits[index >> 3] >> (7 - (index & 7))) & 1


def test_200_revocations_from_4_processes_set_every_bit(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing can interleave there")
    caiep = Caiep(home=tmp_path / "instance", cwd=tmp_path, database_url=database_url)
    made = caiep.run("init", "--issuer-name", "CAiEP Board", "--issuer-url", ISSUER_URL, "--did", "key")
    assert made.returncode == 0, made.stderr
    results = tmp_path / "results.csv"
    write_results(results, 320, seed=11)
    assert caiep.run("results", "import", str(results)).returncode == 0
    assert caiep.run("sign").returncode == 0
    rows = query(
        database_url,
        "SELECT credential_id, status_index FROM credential_copies WHERE status_list = 1 AND served",
    )
    assert len(rows) >= PROCESSES * EACH
    chosen = rows[: PROCESSES * EACH]
    spared = rows[PROCESSES * EACH :]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", REVOKER, str(caiep.home), *[c for c, _ in chosen[n::PROCESSES]]],
            env=caiep.env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err

    [(bits, credential)] = query(database_url, "SELECT bits, credential FROM status_lists WHERE number = 1")
    served = decode_status_list(json.loads(credential)["credentialSubject"]["encodedList"])
    for _, index in chosen:
        assert (_bit(bytes(bits), index), _bit(served, index)) == (1, 1)
    assert all(_bit(served, index) == 0 for _, index in spared)
    assert query(database_url, "SELECT count(*) FROM charter_credentials WHERE state = 'revoked'") == [(200,)]
    audit = caiep.run("audit", "verify")
    assert audit.returncode == 0, audit.stdout
