"""`onenet view`: serve the control view (API, stream, page) on uvicorn."""

from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The unified control view: REST API, live stream and the operations-centre page.",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (so the URL can be printed before serving)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from hub.errors import UserError

        raise UserError(
            f"cannot listen on {host}:{port}: "
            + ("the port is in use" if exc.errno == errno.EADDRINUSE else str(exc.strerror)),
            hint="stop what listens there, or pick another port with --port (0 chooses a free one)",
        ) from None
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


@app.callback(invoke_without_command=True)
def view(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 8080,
    tokens_file: Annotated[
        Path | None,
        typer.Option(
            help="TOML tokens file [default: ONENET_VIEW_TOKENS_FILE or view-tokens.toml]"
        ),
    ] = None,
    hash_token: Annotated[
        str | None,
        typer.Option(help="Print the tokens-file entry for TOKEN (with --name, --role) and exit."),
    ] = None,
    name: Annotated[str, typer.Option(help="With --hash-token: who holds the token.")] = "ops",
    role: Annotated[
        str, typer.Option(help="With --hash-token: operator, viewer or department:<name>.")
    ] = "operator",
) -> None:
    """Serve the control view; prints its URL. Reads alerts from Kafka, sends commands to it."""
    from hub.view.auth import MIN_TOKEN_LENGTH, tokens_entry

    if hash_token is not None:
        if len(hash_token) < MIN_TOKEN_LENGTH:
            typer.echo(
                f"warning: tokens shorter than {MIN_TOKEN_LENGTH} characters are guessable; "
                "try: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
                err=True,
            )
        typer.echo(tokens_entry(hash_token, name=name, role=role), nl=False)
        return

    import uvicorn

    from hub.bootstrap import resolve_bootstrap
    from hub.cliopts import log_level
    from hub.kafka import contract_topics, ensure_topics
    from hub.view.app import create_app
    from hub.view.config import ViewSettings

    settings = ViewSettings(view_tokens_file=tokens_file) if tokens_file else ViewSettings()
    sock = bind(host, port)  # a port in use is said before anything connects
    bootstrap = resolve_bootstrap(settings)
    ensure_topics(bootstrap, contract_topics(settings))
    if settings.view_public_url is None:
        settings = settings.model_copy(update={"view_public_url": url_of(sock)})
    application = create_app(settings, bootstrap=bootstrap)
    typer.echo(url_of(sock))
    sys.stdout.flush()
    config = uvicorn.Config(
        application,
        log_level=log_level(),
        access_log=log_level() == "debug",
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(config).run(sockets=[sock])
