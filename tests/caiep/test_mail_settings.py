"""The mail settings: the SMTP URL, CA file, password (setting or file) and sender, as the
settings reader and ``caiep config`` see them. A bad value is named with where it came from,
exit 2; a password is never shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from caiep.errors import ConfigurationError
from caiep.settings import SETTINGS, read_configuration

if TYPE_CHECKING:
    from conftest import CLI

ISSUER_URL = "https://credentials.caiep.example"
SECRET = "hunter2-Very-Secret"


@pytest.fixture(autouse=True)
def no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        if setting.env and setting.env != "CAIEP_KEY_PASSPHRASE":
            monkeypatch.delenv(setting.env, raising=False)


@pytest.fixture
def instance(cli: CLI, home: Path, passphrase: str) -> Path:
    run = cli("init", "--issuer-name", "CAiEP", "--issuer-url", ISSUER_URL, "--did", "key")
    assert run.code == 0, run.err
    return home


def _store(home: Path, **values: object) -> None:
    path = home / "settings.json"
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), **values}), encoding="utf-8")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("smtp://registry:" + SECRET + "@mail.caiep.example:587", "must not carry a password"),
        ("smtp+insecure://mail.caiep.example:25", "loopback address only"),
        ("imap://mail.caiep.example", "must start with smtp://"),
    ],
)
def test_a_bad_smtp_url_is_named_and_its_password_masked(
    cli: CLI, instance: Path, monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("CAIEP_SMTP_URL", url)
    run = cli("config")

    assert run.code == 2
    assert run.err.startswith("caiep: CAIEP_SMTP_URL (environment): ")
    assert reason in run.err
    assert SECRET not in run.err

    monkeypatch.delenv("CAIEP_SMTP_URL")
    _store(instance, smtp_url=url)
    run = cli("config")
    assert run.code == 2
    assert run.err.startswith("caiep: smtp_url in ")
    assert SECRET not in run.err
    if SECRET in url:
        assert "registry:***@mail.caiep.example" in run.err


def test_config_shows_the_mail_settings_and_masks_the_password(
    cli: CLI, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIEP_SMTP_URL", "smtp://registry%40caiep.example@mail.caiep.example:587")
    monkeypatch.setenv("CAIEP_SMTP_PASSWORD", SECRET)
    _store(
        instance, mail_from="CAiEP Registry <registry@caiep.example>", smtp_ca_file="/etc/caiep/mail-ca.pem"
    )

    listed = cli("config", "--json")
    text = cli("config")

    assert listed.code == 0
    assert SECRET not in listed.out + listed.err + text.out + text.err
    rows = {row["name"]: (row["value"], row["source"]) for row in json.loads(listed.out)["settings"]}
    assert rows["smtp_url"] == ("smtp://registry%40caiep.example@mail.caiep.example:587", "env")
    assert rows["smtp_password"] == ("********", "env")
    assert rows["mail_from"] == ("CAiEP Registry <registry@caiep.example>", "settings.json")
    assert rows["smtp_ca_file"] == ("/etc/caiep/mail-ca.pem", "settings.json")
    assert rows["smtp_password_file"] == (None, "default")


def test_the_password_cannot_be_stored_in_settings_json(cli: CLI, instance: Path) -> None:
    _store(instance, smtp_password=SECRET)
    run = cli("config")
    assert run.code == 2
    assert "smtp_password cannot be stored here; set CAIEP_SMTP_PASSWORD" in run.err
    assert SECRET not in run.err


def test_the_password_from_a_private_file(instance: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "smtp-password"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    environ = {"CAIEP_SMTP_PASSWORD_FILE": str(secret_file)}

    assert read_configuration(instance, environ=environ).smtp_password() == SECRET
    assert read_configuration(instance, environ={"CAIEP_SMTP_PASSWORD": SECRET}).smtp_password() == SECRET
    assert read_configuration(instance, environ={}).smtp_password() is None

    secret_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match=r"open to other users \(mode 0644\); run: chmod 600"):
        read_configuration(instance, environ=environ).smtp_password()
    secret_file.chmod(0o600)
    with pytest.raises(ConfigurationError, match="both CAIEP_SMTP_PASSWORD and CAIEP_SMTP_PASSWORD_FILE"):
        read_configuration(instance, environ={**environ, "CAIEP_SMTP_PASSWORD": SECRET}).smtp_password()
    with pytest.raises(ConfigurationError, match=r"CAIEP_SMTP_PASSWORD_FILE .*does not exist"):
        read_configuration(
            instance, environ={"CAIEP_SMTP_PASSWORD_FILE": str(tmp_path / "none")}
        ).smtp_password()
    secret_file.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="holds no password") as raised:
        read_configuration(instance, environ=environ).smtp_password()
    assert SECRET not in str(raised.value)


def test_the_sender(instance: Path) -> None:
    assert read_configuration(instance, environ={}).mail_sender() == "noreply@credentials.caiep.example"
    given = {"CAIEP_MAIL_FROM": "CAiEP Registry <registry@caiep.example>"}
    assert read_configuration(instance, environ=given).mail_sender() == given["CAIEP_MAIL_FROM"]
    # Through a relay, bounces come back to the sender: it must be a real mailbox, so no default.
    with pytest.raises(ConfigurationError, match="CAIEP_MAIL_FROM is not set"):
        read_configuration(instance, environ={"CAIEP_SMTP_URL": "smtp://mail.caiep.example"}).mail_sender()
    with pytest.raises(
        ConfigurationError, match="CAIEP_MAIL_FROM \\(environment\\): must be one e-mail address"
    ):
        read_configuration(instance, environ={"CAIEP_MAIL_FROM": "registry, billing@caiep.example"})


def test_a_read_only_secret_mounted_for_the_service_is_accepted(
    instance: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker secrets and systemd credentials are read-only files readable by all: accepted in
    their mount, refused anywhere else, and refused if anyone else may write them."""
    mount = tmp_path / "credentials"
    mount.mkdir()
    secret_file = mount / "smtp-password"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o444)
    environ = {"CAIEP_SMTP_PASSWORD_FILE": str(secret_file)}

    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigurationError, match=r"open to other users \(mode 0444\); run: chmod 600"):
        read_configuration(instance, environ=environ).smtp_password()

    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(mount))
    assert read_configuration(instance, environ=environ).smtp_password() == SECRET

    secret_file.chmod(0o446)
    with pytest.raises(ConfigurationError, match=r"writable by other users \(mode 0446\); run: chmod go-w"):
        read_configuration(instance, environ=environ).smtp_password()

    elsewhere = tmp_path / "smtp-password"  # a link out of the mount does not count as in it
    elsewhere.write_text(SECRET + "\n", encoding="utf-8")
    elsewhere.chmod(0o444)
    secret_file.unlink()
    secret_file.symlink_to(elsewhere)
    with pytest.raises(ConfigurationError, match=r"open to other users \(mode 0444\)"):
        read_configuration(instance, environ=environ).smtp_password()
