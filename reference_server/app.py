"""The ASGI application: routes under /v1, error rendering, lifecycle."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from . import hooks
from .account import Account
from .auth import Authenticator
from .breaking import BreakingLayer
from .clock import Clock
from .contacts import EMAIL, PHONE, ContactResource
from .contract import Limits, load_limits
from .db import Database
from .deletion import Deletion
from .errors import ApiError
from .exports import Exports, ExportWorker
from .faults import FaultSet, fault_names
from .favourites import Favourites
from .fcm import FcmTokens
from .hooks import Switchboard
from .identity import Identity
from .mailer import OutboxMailer, parse_smtp_address
from .profile import Profile
from .rewriting import RewritingLayer, load_contract
from .state import ServerState, password_hasher
from .testsupport import Kind, Switches, TestSupport
from .variants import VariantSet, variant_names
from .web import error_response

__all__ = ["BASE_PATH", "ServerControls", "create_app"]

BASE_PATH = "/v1"


class _RouteGroup(Protocol):
    def routes(self) -> list[Route]: ...


def create_app(
    *,
    db: str = ":memory:",
    faults: Sequence[str] = (),
    variants: Sequence[str] = (),
    test_mode: bool = True,
    export_dir: str | None = None,
    spec: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    smtp: str | None = None,
) -> Starlette:
    """Build the reference server.

    `db` is a SQLite path (state survives restarts) or ":memory:". Export files go
    to `export_dir`, by default `<db>.exports/` next to a file database or a
    temporary directory removed at shutdown for ":memory:". The numbers the server
    enforces (token lifetimes, attempts, page sizes...) are `limits`, by default the
    `x-kesk-limits` of the contract at `spec` (by default the bundled spec/openapi.yaml).
    `variants` switches on conformant variations (variants.py) the contract allows.
    `smtp` ("HOST:PORT") also mails every email code of the outbox through that SMTP server (mailer.py).
    Raises `UnknownFaultError` (`UnknownVariantError`) for a fault (variant) name that is not in its catalogue,
    `ContractError` for a contract without usable limits and `SmtpAddressError` for an `smtp` not HOST:PORT.
    """
    if spec is not None and limits is not None:
        raise TypeError("pass the contract (spec) or its limits, not both")
    smtp_address = parse_smtp_address(smtp) if smtp else None
    fault_set = FaultSet.of(faults)
    variant_set = VariantSet.of(variants)  # conformant variations (variants.py)
    if limits is None:
        limits = load_limits(spec)
    temporary_exports = export_dir is None and db == ":memory:"
    if export_dir is not None:
        exports_path = Path(export_dir)
    elif temporary_exports:
        exports_path = Path(tempfile.mkdtemp(prefix="kesk-exports-"))
    else:
        exports_path = Path(f"{db}.exports")
    database = Database(db)
    state = ServerState(
        db=database,
        clock=Clock(database),
        limits=limits,
        switchboard=Switchboard(fault_set.faults),
        hasher=password_hasher(fast=test_mode),
        export_dir=exports_path,
        test_mode=test_mode,
    )
    auth = Authenticator(state)
    worker = ExportWorker(state)
    mailer = OutboxMailer(database, *smtp_address) if smtp_address else None
    groups: list[_RouteGroup] = [
        Favourites(state, auth),
        ContactResource(state, auth, EMAIL),
        ContactResource(state, auth, PHONE),
        FcmTokens(state, auth),
        Profile(state, auth),
        Deletion(state, auth),
        Exports(state, auth, worker),
        Account(state, auth),
        Identity(state, auth),
    ]
    routes: list[BaseRoute] = [route for group in groups for route in group.routes()]
    controls = ServerControls(state, faults=fault_set, variants=variant_set, spec=spec)
    if test_mode:
        routes.extend(TestSupport(state, controls).routes())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if mailer is not None:
            mailer.start()
        yield
        if mailer is not None:
            mailer.stop()
        if temporary_exports:
            shutil.rmtree(exports_path, ignore_errors=True)

    app = Starlette(
        routes=[Mount(BASE_PATH, routes=routes)],
        exception_handlers={HTTPException: _http_exception},
        lifespan=lifespan,
    )
    app.state.server = state
    # Behind the variants' layer (added by attach, outermost): a variant spells a broken answer its own way.
    app.add_middleware(BreakingLayer, state=state, contract=load_contract(spec))
    controls.attach(app)  # switches the start-up variants on
    worker.resume_unfinished()
    return app


class ServerControls:
    """What test support changes at run time: the faults, the variants, and a reset to the start-up state.

    One lock serialises the changes; requests never take it. Faults are swapped whole in the
    switchboard. Variants live in the app's middleware and the connection's TEMP triggers, so
    switching them rebuilds both; Starlette builds the new middleware stack for the next request.
    """

    def __init__(
        self, state: ServerState, *, faults: FaultSet, variants: VariantSet, spec: str | os.PathLike[str] | None
    ) -> None:
        self._state = state
        self._spec = spec
        self._startup = (faults, variants)
        self._variants = variants
        self._app: Starlette | None = None
        self._lock = threading.Lock()

    def attach(self, app: Starlette) -> None:
        """Serve `app` (not started yet) and switch the start-up variants on in it."""
        with self._lock:
            self._app = app
            self._install(self._variants)

    def switches(self, kind: Kind) -> Switches:
        if kind == "faults":
            return Switches(self._state.switchboard.names, fault_names())
        return Switches(tuple(variant.name for variant in self._variants.variants), variant_names())

    def switch(self, kind: Kind, names: Sequence[str]) -> None:
        """Switch exactly `names` on; raises `UnknownFaultError` (`UnknownVariantError`) for an unknown
        name, and then changes nothing."""
        if kind == "faults":
            faults = FaultSet.of(names)
            with self._lock:
                self._state.switchboard.switch(faults.faults)
        else:
            variants = VariantSet.of(names)
            with self._lock:
                self._install(variants)

    def reset(self) -> None:
        """Drop every row and export file, put the clock back to real time, and the start-up faults and variants."""
        state = self._state
        with self._lock:
            with state.db.transaction() as conn:
                for row in conn.execute("SELECT filename FROM gdpr_requests WHERE filename IS NOT NULL").fetchall():
                    (state.export_dir / str(row["filename"])).unlink(missing_ok=True)
                _rewind(state.clock)
                state.clock.forget_users()
                state.db.clear()
            faults, variants = self._startup
            state.switchboard.switch(faults.faults)
            self._install(variants)  # after the wipe: the id variants set their sequences again

    def _install(self, variants: VariantSet) -> None:
        app = self._app
        assert app is not None, "attach() first"
        self._state.db.drop_temp_triggers()  # the id variants' gap triggers
        app.user_middleware = [layer for layer in app.user_middleware if not _is_rewriting(layer.cls)]
        app.middleware_stack = None  # VariantSet.install adds middleware only to an app not yet built
        variants.install(app, self._state.db, self._spec)
        self._variants = variants
        app.middleware_stack = None  # and drops a stack another thread may have built meanwhile


def _is_rewriting(factory: object) -> bool:
    return isinstance(factory, type) and issubclass(factory, RewritingLayer)


def _rewind(clock: Clock) -> None:
    """Back to real time: offsets are whole seconds (advance takes an int), so rounding recovers one exactly."""
    offset = round(clock.now() - time.time())
    if offset:
        clock.advance(-offset)


def _allowed_methods(request: Request) -> list[str]:
    """Every method of every route on this path: Starlette's own 405 names only the first route's."""
    path = request.url.path.removeprefix(BASE_PATH)
    state: ServerState = request.app.state.server
    every_route = state.at(hooks.APP_ALLOWED_METHODS_EVERY_ROUTE, True)
    methods: set[str] = set()
    for mount in request.app.routes:
        for route in getattr(mount, "routes", []):
            if isinstance(route, Route) and route.path_regex.match(path):
                methods |= (route.methods or set()) - {"HEAD"}
                if not every_route:
                    return sorted(methods)
    return sorted(methods)


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Routing refusals (unknown path, wrong method) in the ErrorResponse shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allow = {"Allow": ", ".join(_allowed_methods(request))}
        error = ApiError(405, "malformed_request", "Method not allowed for this path.", headers=allow)
    elif exc.status_code == 404:
        error = ApiError.not_found()
    else:
        error = ApiError(exc.status_code, "malformed_request", str(exc.detail))
    return error_response(error)
