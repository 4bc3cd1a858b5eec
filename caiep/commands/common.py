"""What every ``caiep`` command shares: the invocation (``--home``), exit codes, flag types.

Flag types turn text into values and refuse bad text as a usage error (exit 2) that names
the flag, before any command body runs.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from caiep.settings import Configuration
    from caiep.wiring import Instance

    _ParamType = click.ParamType[Any]  # generic from click 8.3 on
else:
    _ParamType = click.ParamType

EXIT_OK, EXIT_INVALID, EXIT_UNDECIDED = 0, 1, 2
#: Shown at most this many row errors or job failures; the rest are counted.
SHOWN_ERRORS = 50
#: The signing formats; ``caiep.issuer.issuance.FORMATS`` (a test keeps the two equal).
FORMATS = ("ldp", "jwt")
#: The charter's pathways; the keys of ``caiep.issuer.charter.PATHWAYS`` (kept equal by a test).
PATHWAYS = ("academic", "aie", "exceptional", "experience")


@dataclass
class Invocation:
    """One run of ``caiep``: the ``--home`` flag, and the instance opened from it on demand."""

    home_flag: Path | None
    _configuration: Configuration | None = field(default=None, repr=False)

    @property
    def home(self) -> Path:
        """The instance directory: ``--home``, else ``$CAIEP_HOME``, else ``./caiep-home``."""
        from caiep.settings import default_home

        return self.home_flag or default_home()

    def has_chosen_home(self) -> bool:
        """True when the user named an instance (``--home`` or ``$CAIEP_HOME``), not the default."""
        from caiep.settings import HOME_VARIABLE

        return self.home_flag is not None or bool(os.environ.get(HOME_VARIABLE))

    def configuration(self) -> Configuration:
        """The effective settings of this run, read once (environment, settings.json, defaults)."""
        if self._configuration is None:
            from caiep.caches import apply_cache_limits
            from caiep.settings import read_configuration

            self._configuration = read_configuration(self.home_flag)
            apply_cache_limits(self._configuration.cache_limits())
        return self._configuration

    def instance(self) -> Instance:
        """The opened instance directory; a ConfigurationError when it is not one."""
        from caiep.wiring import Instance

        return Instance(self.home, self.configuration())


pass_invocation = click.make_pass_decorator(Invocation)


def actor_name(actor: str | None) -> str:
    """Who the audit log names: ``--actor`` (1-128 printable characters), else the OS user."""
    from caiep.errors import InputError

    if actor is None:
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"
    name = actor.strip()
    if not name or len(name) > 128 or not name.isprintable():
        raise InputError("--actor must be 1-128 printable characters")
    return name


class _ParsedType(_ParamType):
    """A flag whose text one function turns into a value (ValueError: refused, with ``expected``)."""

    def __init__(self, name: str, parse: Callable[[str], Any], expected: str) -> None:
        self.name = name
        self._parse = parse
        self._expected = expected

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default already of the right type
        try:
            return self._parse(value)
        except ValueError:
            self.fail(f"{self._expected}: {value!r}", param, ctx)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dw])", text.strip())
    if not match:
        raise ValueError(text)
    return timedelta(days=int(match.group(1)) * (7 if match.group(2) == "w" else 1))


def _positive(text: str) -> int:
    number = int(text) if text.isdigit() else 0
    if number < 1:
        raise ValueError(text)
    return number


def _rate(text: str) -> int:
    match = re.fullmatch(r"\s*(\d{1,6})\s*(?:/\s*min)?\s*", text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(text)
    return int(match.group(1))


DATE = _ParsedType("YYYY-MM-DD", date.fromisoformat, "not a date (YYYY-MM-DD)")
MOMENT = _ParsedType("ISO-8601", _moment, "not an ISO 8601 date-time")
DURATION = _ParsedType("90d", _duration, "not a duration like 90d or 12w")
POSITIVE = _ParsedType("N", _positive, "must be a whole number of at least 1")
RATE = _ParsedType("N/min", _rate, "a rate such as 120/min (checks a minute, at least 1)")
FILE_PATH = click.Path(path_type=Path, dir_okay=False)

json_option = click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
