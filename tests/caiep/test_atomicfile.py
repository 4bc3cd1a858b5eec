"""The one atomic writer: whole files only, private by default, and no temporary left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from caiep.atomicfile import write_atomic
from caiep.keys import securefile
from caiep.settings import write_atomic as write_instance_file


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_unless_a_mode_is_given(tmp_path: Path) -> None:
    write_atomic(tmp_path / "secret", b"key")
    write_atomic(tmp_path / "public.json", b"{}", mode=0o644)
    assert (mode_of(tmp_path / "secret"), mode_of(tmp_path / "public.json")) == (0o600, 0o644)


def test_replacing_keeps_the_target_mode_given_not_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "did.json"
    target.write_text("old")
    target.chmod(0o666)
    write_instance_file(target, "new\n")  # the instance's files are owner-only (0600)
    assert target.read_text() == "new\n"
    assert mode_of(target) == 0o600


def test_the_key_store_writer_is_the_same_writer_with_owner_only_mode(tmp_path: Path) -> None:
    securefile.write_atomic(tmp_path / "key.pem", b"pem")
    assert mode_of(tmp_path / "key.pem") == 0o600
    assert securefile.read_owner_only(tmp_path / "key.pem") == b"pem"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["settings.json"]
