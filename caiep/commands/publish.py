"""``caiep publish --out DIR``: a static copy of everything the credentials point at.

The DID document (did:web), the achievement, every signed status list and every charter
credential's served copy, laid out as the paths of their URLs under the issuer URL
(``.well-known/did.json``, ``status/<n>``, ``credentials/<uuid>``, the charter badge at
``achievements/caiep/badge.png`` and ``badge.svg``), so that any web server, CDN or object store
can serve them with no Python running. The badge's URL, named in every credential, lies under the
achievement's, so ``achievements/caiep`` is a folder and the achievement is its ``index.html``
(JSON-LD): what every static server answers for ``/achievements/caiep`` (after a redirect to the
trailing slash). Each file is
written atomically (readers of a served copy see the old file or the new one, never a part);
a directory that holds something other than a previous publish is refused unless ``--force``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from caiep.commands.common import EXIT_OK, Invocation, pass_invocation
from caiep.errors import InputError

#: The file that marks a directory as written by ``caiep publish`` (safe to write into again).
MARKER = ".caiep-publish.json"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_PUBLIC_FILE = 0o644
#: The achievement's file in its folder: the index every static server answers for the folder.
ACHIEVEMENT_INDEX = "index.html"


@click.command("publish")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="the directory to write the static copy into (created if missing)",
)
@click.option("--force", is_flag=True, help="write into a non-empty directory that no publish wrote")
@pass_invocation
def publish(invocation: Invocation, out: Path, force: bool) -> int:
    """Write the DID document, the achievement, the status lists and every hosted credential as
    static files laid out as their URLs, for serving from any web server or CDN.

    Run it again after every change of state (revoke, suspend, reinstate, renew) and after the
    daily 'caiep status publish'. The status lists are written as signed: a list that expires
    within 7 days is named on stderr, so re-sign first.
    """
    from caiep.addresses import (
        ACHIEVEMENT_ROUTE,
        BADGE_PNG_ROUTE,
        BADGE_SVG_ROUTE,
        DID_DOCUMENT_ROUTE,
        credential_path,
        status_list_path,
    )
    from caiep.issuer.charter import CONTEXTS, achievement
    from caiep.wallet_export.badge import badge_png, badge_svg
    from caiep.wiring import did_document

    instance = invocation.instance()
    settings = instance.settings
    _check_destination(out, force=force)
    _drop_old_achievement_file(out, ACHIEVEMENT_ROUTE)  # before anything is written
    written: list[str] = []

    def put(route: str, data: bytes) -> None:
        relative = route.lstrip("/")
        target = out.joinpath(*relative.split("/"))
        _write(out, target, data)
        written.append(relative)

    if settings.did_method == "web":
        put(DID_DOCUMENT_ROUTE, json.dumps(did_document(settings, instance.keys), indent=2).encode("utf-8"))
    body = {"@context": list(CONTEXTS[:2]), **achievement(settings.issuer_url)}
    put(
        ACHIEVEMENT_ROUTE + "/" + ACHIEVEMENT_INDEX,
        json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8"),
    )
    put(BADGE_PNG_ROUTE, badge_png())
    put(BADGE_SVG_ROUTE, badge_svg().encode("utf-8"))
    soon = datetime.now(UTC) + timedelta(days=7)
    lists = credentials = 0
    with instance.registry() as registry:
        for number, document, until in registry.signed_status_lists():
            put(status_list_path(number), document.encode("utf-8"))
            lists += 1
            if until is not None and until < soon:
                click.echo(
                    f"caiep: status list {number} expires at {until:%Y-%m-%d %H:%M}Z: run"
                    " 'caiep status publish' to re-sign it, then publish again",
                    err=True,
                )
        for credential_id, document in registry.served_documents():
            if not _UUID.fullmatch(credential_id):
                raise InputError(f"the registry holds a credential id that is not a uuid: {credential_id!r}")
            put(credential_path(credential_id), document.encode("utf-8"))
            credentials += 1
    marker = {"issuer": settings.issuer_url, "publishedAt": datetime.now(UTC).isoformat(), "files": written}
    _write(out, out / MARKER, json.dumps(marker, indent=2).encode("utf-8"))
    print(
        f"published {credentials} credential{'s' * (credentials != 1)}, {lists} status"
        f" list{'s' * (lists != 1)}, the achievement, the badge"
        f"{' and the DID document' if settings.did_method == 'web' else ''} to {out}"
        f" (serve it as {settings.issuer_url}/)"
    )
    return EXIT_OK


def _check_destination(out: Path, *, force: bool) -> None:
    """Refuse a file, or a non-empty directory no publish wrote (unless ``force``)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: this is a file, not a directory")
    if out.is_dir() and not force and not (out / MARKER).is_file() and any(out.iterdir()):
        raise InputError(
            f"--out {out}: the directory is not empty and was not written by 'caiep publish';"
            " choose an empty or new directory, or add --force to write into it"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create the directory: {exc.strerror}") from exc


def _drop_old_achievement_file(out: Path, route: str) -> None:
    """Remove the achievement file an earlier publish wrote where its folder now goes.

    Copies made before the badge was published hold the achievement as a file at
    ``achievements/caiep``; the folder that replaces it holds the same document as its index.
    Only a file listed in this folder's publish marker is removed.
    """
    relative = route.lstrip("/")
    old = out.joinpath(*relative.split("/"))
    if not old.is_file() or old.is_symlink():
        return
    try:
        listed = json.loads((out / MARKER).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        listed = []
    if relative not in listed:
        raise InputError(f"--out {out}: {old} is a file where the achievement's folder goes; remove it")
    try:
        old.unlink()
    except OSError as exc:
        raise InputError(f"--out {out}: cannot replace {old} with a folder: {exc.strerror}") from exc


def _write(out: Path, target: Path, data: bytes) -> None:
    from caiep.atomicfile import write_atomic

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data, mode=_PUBLIC_FILE)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write {target}: {exc.strerror}") from exc
