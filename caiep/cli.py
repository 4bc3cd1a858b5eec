"""The ``caiep`` command: set up an instance, issue charter credentials, verify any OB 3.0 credential.

Exit codes: 0 success (for ``verify``: the credential is valid); 1 the credential is invalid,
or a command found a problem it reports (a bad import file, a broken audit chain, a failed
signing); 2 the input, flags, settings or instance are unusable, or verification could not
decide. Usage errors (an unknown flag, a bad flag value) exit 2 with click's message.

The commands are declared in :mod:`caiep.commands`; each imports its machinery when it runs,
so ``caiep --help`` loads click and these declarations only. Errors a command raises on
purpose (:class:`~caiep.errors.CaiepError`) are turned into a one-line message and an exit
code here, in :func:`main`, and nowhere else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from caiep.commands import (
    apikey,
    charters,
    config,
    exports,
    holder,
    instance,
    jobs,
    mail,
    offer,
    publish,
    records,
    register,
    registry,
    signer,
    status,
    verifierkey,
    verify,
)
from caiep.commands.common import EXIT_INVALID, EXIT_OK, EXIT_UNDECIDED, Invocation
from caiep.errors import CaiepError, ConfigurationError, InputError, KeyMaterialError

#: Errors that mean "the instance, the flags or the input cannot be used", not "invalid".
UNUSABLE = (InputError, ConfigurationError, KeyMaterialError)


class _ClosedPipe(Exception):
    """Carries a BrokenPipeError past click, which would otherwise end the process with 1."""


class _Caiep(click.Group):
    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:  # --help is printed while the arguments are parsed
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError as exc:
            raise _ClosedPipe from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order declared below, set-up first

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _ClosedPipe from exc


@click.group(
    "caiep",
    cls=_Caiep,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="instance directory (default: $CAIEP_HOME, else ./caiep-home)",
)
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """CAiEP® charter credentials (Open Badges 3.0)."""
    ctx.obj = Invocation(home)


for _command in (
    instance.init,
    instance.issue,
    verify.verify_command,
    instance.did,
    instance.serve,
    signer.signer,
    registry.results,
    registry.sign,
    jobs.jobs,
    records.credentials,
    exports.export,
    holder.holder,
    offer.offer,
    register.register,
    apikey.apikey,
    verifierkey.verifier_key,
    charters.revoke,
    charters.suspend,
    charters.reinstate,
    charters.renew,
    mail.mail,
    status.status,
    publish.publish,
    records.audit,
    records.keys,
    instance.db,
    config.config,
):
    cli.add_command(_command)


def exit_code_for(exc: CaiepError) -> int:
    """The exit code of an error a command raised on purpose: 2 unusable, 1 otherwise."""
    # A wrong passphrase or unreadable key is an unusable instance (2), not an invalid credential (1).
    return EXIT_UNDECIDED if isinstance(exc, UNUSABLE) else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``caiep`` with ``argv`` (default: the process's arguments) and return the exit code.

    Callable in process. As with any command-line parser, a usage error prints click's
    message and raises SystemExit(2); ``--help`` prints the help and returns 0.
    """
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None, prog_name="caiep", standalone_mode=False
        )
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        print("caiep: aborted", file=sys.stderr)
        return EXIT_INVALID
    except _ClosedPipe as exc:
        raise BrokenPipeError from exc.__cause__
    except CaiepError as exc:
        print(f"caiep: {exc if isinstance(exc, UNUSABLE) else exc.message}", file=sys.stderr)
        return exit_code_for(exc)
    return code if isinstance(code, int) else EXIT_OK


def run() -> int:
    """Console-script entry: main() with a closed pipe (``| head``) treated as a normal end."""
    try:
        return main()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(run())
