"""Command-line entry points: `serve`, `new-user`, `faults`, `variants` (dispatched by kesk-conformance)."""

from __future__ import annotations

import argparse
import json
import os
import sys

import httpx
import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .contract import ContractError
from .embedded import base_url, bind_loopback, uvicorn_config
from .errors import ApiError
from .faults import CATALOGUE, UnknownFaultError
from .fixtures import FixtureError, load_fixture, one_line, read_fixture_file
from .mailer import SmtpAddressError
from .variants import CATALOGUE as VARIANTS
from .variants import UnknownVariantError

__all__ = ["faults_main", "new_user_main", "serve_main", "variants_main"]


class _AnnouncingServer(uvicorn.Server):
    """Prints the base URL once, as soon as the server accepts requests."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self._url = url

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        await super().startup(sockets=sockets)  # type: ignore[arg-type]
        if self.started:
            print(f"base URL: {self._url}", flush=True)


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kesk-conformance serve", description="Run the reference server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--db", default=":memory:", help="SQLite file (survives restarts) or :memory:")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="switch on a seeded fault (repeatable)"
    )
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME", help="switch on a conformant variant (repeatable)"
    )
    parser.add_argument(
        "--spec", metavar="PATH", help="serve by an edited copy of spec/openapi.yaml (its x-kesk-limits)"
    )
    parser.add_argument(
        "--smtp", metavar="HOST:PORT", help="also mail the email codes of the outbox through this SMTP server"
    )
    parser.add_argument(
        "--fixture",
        metavar="FILE",
        help="load these users at start (the Fixture shape of spec/test-support.yaml, e.g. spec/examples/fixture.json)",
    )
    return parser


def _build_app(args: argparse.Namespace) -> Starlette:
    """The app `serve` runs; raises `_StartError` with a one-line reason."""
    try:
        fixture = read_fixture_file(args.fixture) if args.fixture else None
        app = create_app(
            db=args.db, faults=args.fault, variants=args.variant, spec=args.spec, test_mode=True, smtp=args.smtp
        )
    except (FixtureError, UnknownFaultError, UnknownVariantError, ContractError, SmtpAddressError) as exc:
        raise _StartError(str(exc)) from None
    if fixture is not None:
        try:
            load_fixture(app.state.server, fixture)
        except ApiError as error:  # it clashes with data of a --db file
            app.state.server.db.close()
            raise _StartError(f"{args.fixture}: {one_line(error)}") from None
    return app


class _StartError(Exception):
    """Why `serve` cannot start, in one line."""


def serve_main(argv: list[str] | None = None) -> int:
    args = _serve_parser().parse_args(argv)
    try:
        app = _build_app(args)
    except _StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        sock = bind_loopback(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    server = _AnnouncingServer(uvicorn_config(app), base_url(sock))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def new_user_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kesk-conformance new-user",
        description="Create a disposable user through the test-support contract; prints its token, password"
        " and email as JSON.",
        epilog="Tokens and passwords never start with '-'. Still, pass a password to another command in one"
        ' argument, --password="$P" (with "="), so that no CLI can read it as an option.',
    )
    parser.add_argument("--base-url", required=True, help="the API base URL, e.g. http://127.0.0.1:8000/v1")
    # As a user factory (`run --user-factory "kesk-conformance new-user --base-url URL"`) it is told the kind of
    # user wanted, as its last argument and in KESK_USER_KIND.
    parser.add_argument(
        "kind",
        nargs="?",
        choices=("verified", "unverified-email"),
        default=os.environ.get("KESK_USER_KIND") or "verified",
        help="the kind of user: verified (default) or unverified-email (its primary email is not verified)",
    )
    args = parser.parse_args(argv)
    url = args.base_url.rstrip("/") + "/_test/users"
    body = {"email_verified": False} if args.kind == "unverified-email" else {}
    try:
        response = httpx.post(url, json=body, timeout=10.0)
    except httpx.HTTPError as exc:
        print(f"error: cannot reach {url}: {type(exc).__name__}", file=sys.stderr)
        return 2
    if response.status_code != 201:
        print(f"error: {url} answered {response.status_code}; is test support enabled?", file=sys.stderr)
        return 2
    user = response.json()
    # The one sanctioned place a secret is printed: the caller asked for these credentials.
    print(json.dumps({"token": user["token"], "password": user["password"], "email": user["email"]}))
    return 0


def faults_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kesk-conformance faults", description="List the seeded faults.")
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    args = parser.parse_args(argv)
    if args.json:
        rows = [
            {
                "name": f.name,
                "description": f.description,
                "requirements": list(f.requirements),
                "breaks": list(f.breaks),
            }
            for f in CATALOGUE
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(f.name) for f in CATALOGUE)
    for fault in CATALOGUE:
        print(f"{fault.name:<{width}}  {', '.join(fault.requirements)}  {fault.description}")
    return 0


def variants_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kesk-conformance variants",
        description="List the conformant variants: behaviour the contract allows that the server does not show"
        " by default.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    args = parser.parse_args(argv)
    if args.json:
        rows = [{"name": v.name, "description": v.description, "allowed_by": v.allowed_by} for v in VARIANTS]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(v.name) for v in VARIANTS)
    for variant in VARIANTS:
        print(f"{variant.name:<{width}}  {variant.description}")
    return 0
