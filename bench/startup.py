"""How fast ``caiep`` starts, against the floor set by the libraries it cannot do without.

Two pairs, each run side by side in fresh processes (A, B, A, B, ...) so that a busy machine
slows both alike:

* ``caiep --help``      against ``python -c "import click"``                     goal <= 2.5x
* ``caiep verify FILE`` against ``python -c "import pyld, jsonschema, nacl.signing,
  cryptography...ed25519"``; FILE is a did:key credential with no status list  goal <= 1.8x

The credential is issued by a throwaway instance made with the ``caiep`` under test. Prints
best and median wall time of each command and the ratios of the bests; exits 1 when a goal
is missed and ``--check`` is given. Standard library only.

Usage: python bench/startup.py [--caiep PATH] [--runs 5] [--check]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERIFY_FLOOR = "import pyld, jsonschema, nacl.signing, cryptography.hazmat.primitives.asymmetric.ed25519"
GOALS = {"help": 2.5, "verify": 1.8}


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time of one run of ``command``; a failing run stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return elapsed


def _pair(
    a: list[str], b: list[str], runs: int, env: dict[str, str], cwd: Path
) -> tuple[list[float], list[float]]:
    """``runs`` alternating timings of ``a`` and ``b`` after one unmeasured run of each."""
    _timed(a, env, cwd)
    _timed(b, env, cwd)
    times_a: list[float] = []
    times_b: list[float] = []
    for _ in range(runs):
        times_a.append(_timed(a, env, cwd))
        times_b.append(_timed(b, env, cwd))
    return times_a, times_b


def _credential(caiep: str, workdir: Path, env: dict[str, str]) -> Path:
    """A did:key credential with no status list, issued by a throwaway instance."""
    home = workdir / "home"
    out = workdir / "credential.json"
    issuing = {**env, "CAIEP_KEY_PASSPHRASE": secrets.token_urlsafe(24)}
    for args in (
        ["init", "--issuer-name", "Bench Board", "--issuer-url", "https://bench.example", "--did", "key"],
        ["issue", "--name", "Ada Bench", "--email", "ada@example.org", "--exam-date", "2026-01-15",
         "--out", str(out)],
    ):  # fmt: skip
        subprocess.run([caiep, "--home", str(home), *args], env=issuing, cwd=workdir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return out


def _line(label: str, times: list[float]) -> str:
    return (
        f"  {label:<44} best {min(times) * 1000:7.1f} ms   median {statistics.median(times) * 1000:7.1f} ms"
    )


def main() -> int:
    """Run both pairs and print their figures; with --check, exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caiep", default=str(Path(sys.executable).with_name("caiep")))
    parser.add_argument("--python", default=sys.executable, help="interpreter of the reference runs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
    missed = []
    with tempfile.TemporaryDirectory(prefix="caiep-startup-") as scratch:
        workdir = Path(scratch)
        credential = _credential(args.caiep, workdir, env)
        pairs = {
            "help": ([args.caiep, "--help"], [args.python, "-c", "import click"]),
            "verify": ([args.caiep, "verify", str(credential)], [args.python, "-c", VERIFY_FLOOR]),
        }
        print(f"startup of {args.caiep}, best of {args.runs} alternating cold runs")
        for name, (command, floor) in pairs.items():
            ours, reference = _pair(command, floor, args.runs, env, workdir)
            ratio = min(ours) / min(reference)
            print(_line(" ".join(["caiep", *command[1:2]]), ours))
            print(_line(" ".join(floor[1:])[:44], reference))
            verdict = "met" if ratio <= GOALS[name] else "MISSED"
            print(f"  ratio {ratio:.2f}x (goal <= {GOALS[name]}x: {verdict})\n")
            if ratio > GOALS[name]:
                missed.append(name)
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
