"""``caiep signer``: the process that alone holds the key, signing wallet-bound copies for the web.

Run it beside the web app (gunicorn), ideally as its own system user (README "The signer"):
it reads the key passphrase as the signing commands do (``CAIEP_KEY_PASSPHRASE`` or a
prompt), decrypts the current key once, and answers on a Unix socket
(:mod:`caiep.signerservice`) until SIGTERM or SIGINT.
"""

from __future__ import annotations

from pathlib import Path

import click

from caiep.commands.common import EXIT_OK, Invocation, pass_invocation


@click.command("signer")
@click.option(
    "--socket",
    "socket_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="the Unix socket to listen on (default: signer_socket, else signer.sock in the instance)",
)
@pass_invocation
def signer(invocation: Invocation, socket_path: Path | None) -> int:
    """Sign wallet-bound copies for the web app, on a Unix socket (holds the key)."""
    import os
    import sys
    from datetime import UTC, datetime

    from caiep.issuer.walletcopies import WalletCopy, make_wallet_copy
    from caiep.settings import PASSPHRASE_VARIABLE, read_passphrase
    from caiep.signerservice import (
        SignerService,
        WalletCopyRequest,
        allowed_uids,
        open_listener,
        stopping_on_signals,
    )

    instance = invocation.instance()
    configuration = invocation.configuration()
    web_user = configuration.get("signer_web_user", str)
    path = socket_path or configuration.signer_socket()
    allowed = allowed_uids(web_user)
    key_signer = instance.signer(read_passphrase())
    os.environ.pop(PASSPHRASE_VARIABLE, None)  # decrypted once; nothing this process starts inherits it
    with instance.registry() as registry:

        def sign(request: WalletCopyRequest) -> WalletCopy:
            with registry.write() as connection:
                return make_wallet_copy(
                    connection,
                    key_signer,
                    credential_id=request.credential_id,
                    subject_did=request.subject,
                    form=request.form,
                    channel=request.channel,
                    now=datetime.now(UTC),
                )

        service = SignerService(sign, allowed)
        listener = open_listener(path, web_user=web_user)
        try:
            with stopping_on_signals(service):
                print(f"caiep signer: listening on {path}", file=sys.stderr, flush=True)
                service.serve(listener)
        finally:
            listener.close()
            path.unlink(missing_ok=True)
    print("caiep signer: stopped", file=sys.stderr, flush=True)
    return EXIT_OK
