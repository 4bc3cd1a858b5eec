"""Lay out the source folders as the wheel installs them, as a tree of links, for the checkers.

mypy and import-linter find packages on the file system, where ``caiep.issuer`` lives in
``issuer/`` (setuptools ``package-dir``). This makes ``build/typecheck/caiep/issuer/...`` with
real folders and one link per source file, read from pyproject's mapping, so both checkers see
the installed names and report lines of the real files.

Usage: python tools/link_tree.py [DEST]   (default build/typecheck)
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def link_tree(dest: Path) -> int:
    """Rebuild ``dest`` from pyproject's package-dir mapping; return how many files it links."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping: dict[str, str] = setuptools["package-dir"]
    if dest.exists():
        shutil.rmtree(dest)
    linked = 0
    for package in setuptools["packages"]:
        top = max((name for name in mapping if package == name or package.startswith(name + ".")), key=len)
        source = ROOT / mapping[top] / Path(*package[len(top) :].split(".")[1:])
        target = dest / Path(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.glob("*.py")) + sorted(source.glob("py.typed")):
            (target / path.name).symlink_to(path)
            linked += 1
    return linked


if __name__ == "__main__":
    destination = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "typecheck"
    print(f"{destination}: {link_tree(destination)} files linked")
