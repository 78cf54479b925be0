"""Every private part of Schemathesis 4.32.5 (and of requests) the Schemathesis engine relies on.

The engine (``checks/schemathesis_engine.py``) uses Schemathesis' public API wherever one exists:
``schemathesis.openapi.from_path``, ``SchemathesisConfig`` and ``schema.config.update``, and
``schemathesis.engine.from_schema(schema).execute()`` with its events. What no public API offers is a
say over how the engine's requests reach the network; the engine needs that to keep TargetClient's
promises for the fuzzing traffic (one --rate-limit clock, the circuit breaker, a total deadline and a
body cap per request, no redirect followed) and to record every request as an Exchange.

Each part below says why no public way exists. ``tests/conformance/test_schemathesis_private.py`` pins
each one (the attribute, function or signature as used here, and the behaviour relied on), so a
Schemathesis or requests upgrade that changes one fails there, loudly, instead of deep in a run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import requests
from schemathesis.core.transport import Response
from schemathesis.engine import context as engine_context
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema
from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport

PrepareSession = Callable[[requests.Session], None]


class SessionTransport(RequestsTransport):
    """Schemathesis' own requests transport, paced, every request sent on a session the suite has prepared.

    Private: ``RequestsTransport`` is not exported by ``schemathesis``; it is the transport every schema
    without an in-process app uses, and ``send(case, *, session=None, **kwargs)`` is where a request
    gets its session. A session the engine made (``make_session``, see ``engine_sessions``) is prepared
    already; ``prepare`` is idempotent. Some checks send without one (``ignored_auth``'s probes drop the
    run's session so that no credential follows them), and Schemathesis would then open a bare session
    of its own: this transport opens a bare session the suite has prepared instead.

    `pace` runs before each request, outside the time Schemathesis measures for the answer (a session's
    adapter is inside it: a wait there would count as a slow answer in Schemathesis' health checks).
    """

    def __init__(self, prepare: PrepareSession, pace: Callable[[], None]) -> None:
        super().__init__()
        # A new transport has no serializers; take the default transport's, through its public methods
        # (`get_matching_media_types("*/*")` lists every registered media type, custom ones included).
        for media_type, serializer in REQUESTS_TRANSPORT.get_matching_media_types("*/*"):
            self.serializer(media_type)(serializer)
        self._prepare = prepare
        self._pace = pace

    def send(self, case: Case[Any], *, session: requests.Session | None = None, **kwargs: Any) -> Response:
        self._pace()
        if session is not None:
            self._prepare(session)
            return super().send(case, session=session, **kwargs)
        own = requests.Session()
        own.headers.clear()  # like Schemathesis' own bare session: only the case's headers are sent
        self._prepare(own)
        try:
            return super().send(case, session=own, **kwargs)
        finally:
            own.close()


def use_transport(schema: BaseSchema, transport: RequestsTransport) -> None:
    """Make `transport` the one every request of `schema` is sent with (cases, checks' follow-ups, stateful).

    Private: ``BaseSchema.transport`` is a read-only property computed from ``schema.app``
    (``transport.get(app)``: requests, ASGI or WSGI); no loader, config key or setter takes a transport.
    A subclass of the schema's own class, made for this one schema, overrides the property.
    """
    cls = type(schema)
    schema.__class__ = type(f"Relaying{cls.__name__}", (cls,), {"transport": property(lambda _self: transport)})


@contextlib.contextmanager
def engine_sessions(prepare: PrepareSession) -> Iterator[None]:
    """While the block runs, every session the Schemathesis engine makes is prepared by `prepare`.

    Private: the engine builds its sessions with ``schemathesis.engine.context.make_session(config, *,
    operation=None)``, its workers' (``EngineContext.get_session``) and the capability probes' (which
    send raw ``session.send`` calls outside every transport and hook). Neither config nor the engine
    takes a session or a session factory, so the module attribute is replaced for the run; both callers
    look it up at call time. It is process-wide while the block runs.
    """
    original = engine_context.make_session

    def make_session(*args: Any, **kwargs: Any) -> requests.Session:
        session = original(*args, **kwargs)
        prepare(session)
        return session

    engine_context.make_session = make_session
    try:
        yield
    finally:
        engine_context.make_session = original


def follow_no_redirect(session: requests.Session) -> None:
    """`session` returns a redirect as the answer and never follows it, whatever ``allow_redirects`` says.

    Private (requests): ``Session.get_redirect_target`` is the documented override point, meant for a
    subclass; the sessions here are made by Schemathesis, so it is overridden on the instance. The
    transport's requests pass ``allow_redirects=False`` already (``max_redirects=0``), but the capability
    probes call ``session.send`` without it, and a 302 loop must stay one request.
    """
    # An instance attribute hides the method; mypy does not let a method be assigned.
    session.get_redirect_target = _no_redirect_target  # type: ignore[method-assign,assignment]


def _no_redirect_target(_response: requests.Response) -> str | None:
    return None


def keep_read_body(response: requests.Response, body: bytes, *, reuse_connection: bool) -> None:
    """`response.content` is `body`, read by the suite's bounded reader instead of by requests.

    Private (requests): ``Response.content`` reads ``response.raw`` to its end with no deadline and no
    size limit; a body read elsewhere can only be handed over through ``_content``. ``_content_consumed``
    tells ``Response.close()`` whether the connection was read to its end (kept for reuse) or must be
    dropped (a body abandoned midway).
    """
    response._content = body
    response._content_consumed = reuse_connection
