"""The keys package's public names and its import boundary (a foundation layer)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from caiep import keys

ALLOWED_ROOTS = {"cryptography", "nacl", "caiep", "keys"}


def test_public_names() -> None:
    assert sorted(keys.__all__) == [
        "KeyRecord",
        "KeyStore",
        "PublicKey",
        "SigningKey",
        "build_controller_document",
        "did_key_for",
        "did_web_document_url",
        "did_web_for_url",
        "resolve_did_key",
        "verification_method_id",
    ]
    for name in keys.__all__:
        assert getattr(keys, name).__doc__


def test_imports_only_the_standard_library_cryptography_pynacl_and_errors() -> None:
    for path in Path(keys.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root in ALLOWED_ROOTS or root in sys.stdlib_module_names or root == "__future__", (
                    path.name,
                    name,
                )
                if root == "caiep":  # the project's own: errors, the file writer and checks, and keys itself
                    assert name in ("caiep.errors", "caiep.atomicfile", "caiep.filemodes") or name.startswith(
                        "caiep.keys."
                    ), (
                        path.name,
                        name,
                    )
