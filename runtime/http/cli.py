"""``pubsub serve``: run the HTTP service with uvicorn.

Wired into the main CLI through the ``pubsub.commands`` entry point (``add_parser(commands, common)``); also
runnable alone as ``python -m hipponot_pubsub.runtime.http.cli serve ...``.

``pubsub serve --memory`` runs every channel on the in-memory adapter (no outside service), for local work;
without it each channel uses the adapter the registry names. Settings come from the environment
(``hipponot_pubsub.runtime.http.settings``); ``--anonymous`` allows requests without a token and says so.

The package served is ``--package``, else the ``[generate]`` table of the registry's ``pubsub.toml`` (the one
``pubsub generate`` writes from), imported from its folder. This module imports no HTTP library up front: on
an install without extra ``http`` the command is still listed and exits 2 naming the extra.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..catalog import Catalog
from ..errors import PubSubError
from ..extras import missing_extra
from .served import DEFAULT_SCHEMAS, served_package

Common = Callable[[argparse.ArgumentParser], None]


def add_parser(commands: Any, common: Common) -> None:
    """Register ``serve`` on the main CLI's sub-command parsers."""
    serve = commands.add_parser("serve", help="run the HTTP service: publish, SSE subscribe, registry API")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--package", default=None, metavar="PACKAGE",
                       help="generated package to serve (default: [generate] package of pubsub.toml in --schemas, "
                            "else generated)")
    serve.add_argument("--memory", action="store_true", help="run every channel on the in-memory adapter")
    serve.add_argument("--all-channels-on", metavar="KIND", default=None,
                       help="run every channel on this adapter kind (memory, redis, kafka, nats, rabbitmq)")
    serve.add_argument("--anonymous", action="store_true",
                       help="allow requests without a token, with every scope (local development only)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.add_argument("--graceful-timeout", type=int, default=5,
                       help="seconds to wait for open requests at shutdown (SSE streams are ended at once)")
    serve.add_argument("--announce", action="store_true",
                       help="print 'pubsub serving on URL' on stdout once ready (for scripts and tests)")
    serve.set_defaults(handler=cmd_serve)


def _fail(args: argparse.Namespace, message: str) -> int:
    """Exit 2 with ``message``: ``error: ...`` on stderr, or with ``--format json`` ``{"error": ...}`` on stdout."""
    if getattr(args, "format", "text") == "json":
        print(json.dumps({"error": message}), flush=True)
    else:
        print(f"error: {message}", file=sys.stderr)
    return 2


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .app import GracefulServer, create_app
        from .plugin import PubSubService
        from .settings import ServiceSettings
    except ModuleNotFoundError as error:
        missing = missing_extra(error, "pubsub serve")
        if missing is None:
            raise
        return _fail(args, str(missing))

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = ServiceSettings.from_env()
        if args.anonymous:
            settings = dataclasses.replace(settings, allow_anonymous=True)
        package = served_package(args.package, getattr(args, "schemas", None))
    except (ValueError, OSError) as error:
        return _fail(args, str(error))
    try:
        catalog = Catalog.from_package(package)
    except ModuleNotFoundError as error:
        return _fail(args, f"cannot import the generated package {package!r} ({error}); run `pubsub generate`, "
                           "or name it with --package or the [generate] table of pubsub.toml")
    except (ValueError, OSError) as error:
        return _fail(args, f"{package}: {error}")
    kind = "memory" if args.memory else args.all_channels_on
    service = PubSubService(catalog, settings=settings, all_channels_on=kind)
    try:
        service.bus.adapter_factories()  # a missing broker library: its extra named now, not a startup traceback
    except PubSubError as error:
        return _fail(args, str(error))
    app = create_app(service=service)

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted connections. Without it Nagle's algorithm holds back the body uvicorn writes after
    # the headers until the client's delayed ACK: ~40 ms per response. (uvicorn sets it when it binds itself.)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as error:
        return _fail(args, f"cannot listen on {args.host}:{args.port}: {error}")
    port = sock.getsockname()[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{port}{settings.path_prefix}"

    async def announce() -> None:
        adapters = f"every channel on {kind}" if kind else "the registry's adapters"
        if getattr(args, "format", "text") == "json":  # one line a script can parse, on stdout
            print(json.dumps({"serving": url, "registry": catalog.name, "event_versions": len(catalog),
                              "channels": len(catalog.channels), "adapters": kind or "registry",
                              "asyncapi": f"{url}/asyncapi.json", "openapi": f"{url}/schema"}), flush=True)
            return
        print(f"{catalog.name}: {len(catalog)} event versions on {len(catalog.channels)} channels, {adapters}",
              file=sys.stderr)
        print(f"  OpenAPI  {url}/schema/swagger   AsyncAPI {url}/asyncapi.json   metrics {url}/metrics",
              file=sys.stderr, flush=True)
        if args.announce:
            print(f"pubsub serving on {url}", flush=True)

    app.on_startup.append(announce)
    config = uvicorn.Config(app, log_level=args.log_level, lifespan="on",
                            timeout_graceful_shutdown=args.graceful_timeout)
    GracefulServer(config).run(sockets=[sock])
    return 0


def _schemas_option(parser: argparse.ArgumentParser) -> None:
    """``--schemas`` when run alone (in ``pubsub serve`` the main CLI's common options give it)."""
    parser.add_argument("--schemas", metavar="DIR", default=os.environ.get("PUBSUB_SCHEMAS", DEFAULT_SCHEMAS),
                        help="registry folder holding pubsub.toml (default: $PUBSUB_SCHEMAS or ./schemas)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hipponot_pubsub.runtime.http.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    add_parser(commands, _schemas_option)
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
