"""A signing job as a user runs it, against Digital Bazaar's JavaScript signer on the same machine.

Run: ``make bench-jobs`` (after ``bench/jobs.py``) or ``.venv/bin/python bench/signing_job.py
[--passes 10000] [--node-credentials 1000] [--rounds 3] [--workers 2] [--baseline-caiep PATH]``.
``--baseline-caiep`` times another version's ``caiep`` (a checkout of main with its own venv) in
the same rounds, on its own instance, so a change is measured side by side under the same load.

Ours: a fresh instance (``caiep init``, a generated passphrase in CAIEP_KEY_PASSPHRASE) with
about PASSES imported passes, then ``caiep --home H sign --workers 2`` timed from outside as a
whole process: interpreter start, imports, key unlock, the job and its database writes. Each
round signs a fresh copy of the same imported instance.

Theirs: ``node tests/interop/sign-di.mjs`` (``@digitalbazaar/vc`` with the eddsa-rdfc-2022
cryptosuite) over the same kind of unsigned charter credentials (each with its
``BitstringStatusListEntry``, as ours), timed the same way from its process start to its exit
(reading the credentials and writing the signed ones included).

The two alternate (ours, theirs, ours, theirs, ...) so that load from anything else on the
machine falls on both; the figure that counts is the ratio of the medians. Also printed: the
median of each round's ratio (neighbouring runs share the machine's load), and credentials
per CPU second of each side, which load from elsewhere changes least.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_results import write_results

from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.issuer.statuslists import LIST_SIZE, status_entry
from caiep.keys.did import did_key_for
from caiep.keys.ed25519 import SigningKey
from caiep.schemas.loader import CONTEXT_FILES, load_context

ROOT = Path(__file__).resolve().parents[1]
INTEROP = ROOT / "tests" / "interop"
SITE = "https://bench.caiep.example"
CREATED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


class Run(NamedTuple):
    """One timed process: its credentials per wall-clock second and per CPU second (its own
    and its children's: our signing workers, Node's threads)."""

    rate: float
    cpu_rate: float


def _timed(command: list[str], **options: Any) -> tuple[float, float, subprocess.CompletedProcess[Any]]:
    """Wall-clock and CPU seconds of one process (and the processes it waited for), start to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False, **options)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done


def _caiep(args: list[str], env: dict[str, str], caiep: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one ``caiep`` command."""
    seconds, cpu, done = _timed([caiep, *args], env=env, text=True)
    if done.returncode != 0:
        raise SystemExit(f"caiep {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, cpu


def prepare_instance(directory: Path, passes: int, env: dict[str, str], caiep: str) -> tuple[Path, int]:
    """An initialised instance holding about ``passes`` pending passes; (home, pending count)."""
    home = directory / "template"
    rows = int(passes * 1.25)  # about one result in five is a fail
    results = directory / "results.csv"
    write_results(results, rows, seed=passes)
    _caiep(["--home", str(home), "init", "--issuer-name", "Bench", "--issuer-url", SITE], env, caiep)
    done = subprocess.run(
        [caiep, "--home", str(home), "results", "import", str(results)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"\((\d+) passes", done.stdout)  # "imported N results (P passes to sign, ..."
    return home, int(found.group(1)) if found else passes


def run_ours(template: Path, scratch: Path, env: dict[str, str], caiep: str, workers: int) -> Run:
    """One ``caiep sign`` process over a fresh copy of the instance."""
    home = scratch / f"run-{secrets.token_hex(4)}"
    shutil.copytree(template, home)
    try:
        seconds, cpu = _caiep(["--home", str(home), "sign", "--workers", str(workers)], env, caiep)
        [report] = (home / "jobs").glob("*.json")
        issued = int(json.loads(report.read_text())["issued"])
    finally:
        shutil.rmtree(home)
    return Run(issued / seconds, issued / cpu)


def node_payload(count: int) -> bytes:
    """sign-di.mjs's stdin: the pinned contexts, a did:key signer and ``count`` charter credentials."""
    seed = bytes(range(32))
    controller = did_key_for(SigningKey.from_seed(seed).public_key)
    profile = IssuerProfile(id=controller, name="Bench", url=SITE, base_url=SITE)
    credentials: list[dict[str, Any]] = []
    for i in range(count):
        award = CharterAward(
            name=f"Given{i:04d} Sample{i * 7 % 10_000:04d}",
            email=f"candidate.{i}@example.org",
            exam_date=date(2026, 6, 1) - timedelta(days=i % 300),
            charter_number=f"CAIEP-{i + 1:06d}",
            score=str(70 + i % 31),
            exam_version=("2025.2", "2026.1", "2026.2")[i % 3],
            pathway=("experience", "aie", "academic", "exceptional")[i % 4],
        )
        credentials.append(
            build_charter_credential(
                profile,
                award,
                credential_uuid=f"{i:032x}",
                now=CREATED,
                salt=secrets.token_hex(16),
                status=status_entry(SITE, 1, secrets.randbelow(LIST_SIZE)),  # as ours carry
            )
        )
    payload = {
        "contexts": {url: load_context(url) for url in CONTEXT_FILES},
        "seedHex": seed.hex(),
        "controller": controller,
        "credentials": credentials,
        "created": CREATED.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def run_theirs(node: str, payload: bytes, count: int) -> Run:
    """One ``node sign-di.mjs`` process, start to exit."""
    seconds, cpu, done = _timed([node, "sign-di.mjs"], cwd=INTEROP, input=payload)
    if done.returncode != 0:
        raise SystemExit(f"node sign-di.mjs failed ({done.returncode}):\n{done.stderr.decode()}")
    signed = json.loads(done.stdout)["credentials"]
    errors = [c["error"] for c in signed if "error" in c]
    if len(signed) != count or errors:
        raise SystemExit(f"Digital Bazaar signed {len(signed) - len(errors)} of {count}: {errors[:1]}")
    return Run(count / seconds, count / cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=10_000, help="passes each of our jobs signs")
    parser.add_argument("--node-credentials", type=int, default=1000, help="credentials per Node run")
    parser.add_argument("--rounds", type=int, default=3, help="alternated runs of each side")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--caiep", default=str(Path(sys.executable).with_name("caiep")), help="the CLI to time"
    )
    parser.add_argument(
        "--baseline-caiep",
        help="another version's CLI (e.g. main's checkout) timed in the same rounds, on its own copy",
    )
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules").is_dir():
        raise SystemExit("needs node on PATH and tests/interop/node_modules (npm ci in tests/interop)")
    env = {**os.environ, "CAIEP_KEY_PASSPHRASE": secrets.token_urlsafe(18)}
    env.pop("CAIEP_DATABASE_URL", None)  # SQLite in the instance, as `caiep init` sets up by default
    payload = node_payload(args.node_credentials)
    ours: list[Run] = []
    theirs: list[Run] = []
    baseline: list[Run] = []
    with tempfile.TemporaryDirectory() as directory:
        template, pending = prepare_instance(Path(directory), args.passes, env, args.caiep)
        if args.baseline_caiep:
            (Path(directory) / "baseline").mkdir()
            baseline_template, _ = prepare_instance(
                Path(directory) / "baseline", args.passes, env, args.baseline_caiep
            )
        print(
            f"{os.cpu_count()} CPUs; ours: `caiep sign --workers {args.workers}` over {pending:,} passes "
            f"(SQLite); theirs: Digital Bazaar over {args.node_credentials:,} credentials; "
            "each timed as a whole process (per CPU second: the process and its children)\n"
        )
        for round_number in range(1, args.rounds + 1):
            ours.append(run_ours(template, Path(directory), env, args.caiep, args.workers))
            if args.baseline_caiep:
                baseline.append(
                    run_ours(baseline_template, Path(directory), env, args.baseline_caiep, args.workers)
                )
                print(
                    f"round {round_number}: baseline {baseline[-1].rate:>7,.0f}/s "
                    f"(per CPU second {baseline[-1].cpu_rate:,.0f})"
                )
            theirs.append(run_theirs(node, payload, args.node_credentials))
            print(
                f"round {round_number}: ours {ours[-1].rate:>7,.0f}/s   theirs {theirs[-1].rate:>5,.0f}/s   "
                f"ratio {ours[-1].rate / theirs[-1].rate:5.1f}x   "
                f"(per CPU second: {ours[-1].cpu_rate:,.0f} and {theirs[-1].cpu_rate:,.0f}, "
                f"{ours[-1].cpu_rate / theirs[-1].cpu_rate:.1f}x)"
            )
    ours_median = statistics.median(run.rate for run in ours)
    theirs_median = statistics.median(run.rate for run in theirs)
    paired = statistics.median(a.rate / b.rate for a, b in zip(ours, theirs, strict=True))
    cpu = statistics.median(a.cpu_rate for a in ours) / statistics.median(b.cpu_rate for b in theirs)
    print(
        f"\nmedian: ours {ours_median:,.0f}/s, Digital Bazaar {theirs_median:,.0f}/s, "
        f"ratio {ours_median / theirs_median:.1f}x\n"
        f"median of the rounds' ratios {paired:.1f}x; ratio per CPU second {cpu:.1f}x"
    )
    if baseline:
        base_median = statistics.median(run.rate for run in baseline)
        base_paired = statistics.median(a.rate / b.rate for a, b in zip(ours, baseline, strict=True))
        base_cpu = statistics.median(a.cpu_rate for a in ours) / statistics.median(
            b.cpu_rate for b in baseline
        )
        print(
            f"baseline {args.baseline_caiep}: median {base_median:,.0f}/s; ours/baseline "
            f"{ours_median / base_median:.3f} (median of the rounds' ratios {base_paired:.3f}, "
            f"per CPU second {base_cpu:.3f})"
        )


if __name__ == "__main__":
    main()
