"""Pins for every private part of Schemathesis (and requests) in conformance/_schemathesis_private.py.

Each test asserts that the attribute, function or signature is still there as used, and that the
behaviour relied on still holds, without a server (a canned requests adapter answers). A Schemathesis
or requests upgrade that changes one fails here, by name, instead of deep in a suite run.
"""

from __future__ import annotations

import copy
import inspect
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import context as engine_context
from schemathesis.engine.run import probes
from schemathesis.schemas import BaseSchema
from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport

from conformance import _schemathesis_private as private

BASE_URL = "http://pin.invalid"
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "pins", "version": "1"},
    "paths": {
        "/items": {
            "post": {
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"201": {"description": "created"}},
            }
        }
    },
}


class Canned(BaseAdapter):
    """Answers every request with one canned response; remembers what was sent."""

    def __init__(self, status: int = 201, headers: dict[str, str] | None = None, body: bytes = b"{}") -> None:
        super().__init__()
        self.status = status
        self.headers = headers or {"Content-Type": "application/json"}
        self.body = body
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(self.body),
            headers=self.headers,
            status=self.status,
            preload_content=False,
            request_url=request.url,
        )
        return HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


class Preparer:
    """A PrepareSession that mounts a canned adapter and remembers each session it prepared."""

    def __init__(self) -> None:
        self.sessions: list[requests.Session] = []
        self.adapter = Canned()

    def __call__(self, session: requests.Session) -> None:
        self.sessions.append(session)
        session.mount("http://", self.adapter)


@pytest.fixture
def schema() -> BaseSchema:
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(SPEC), config=SchemathesisConfig())
    loaded.config.update(base_url=BASE_URL, max_redirects=0)
    return loaded


# --- SessionTransport: RequestsTransport subclassed --------------------------------------------------
def test_requests_transport_sends_with_a_session_keyword() -> None:
    assert isinstance(REQUESTS_TRANSPORT, RequestsTransport)
    parameters = inspect.signature(RequestsTransport.send).parameters
    assert parameters["session"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["session"].default is None
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def test_session_transport_has_every_serializer_of_the_default_transport() -> None:
    transport = private.SessionTransport(lambda _session: None, pace=lambda: None)
    registered = dict(REQUESTS_TRANSPORT.get_matching_media_types("*/*"))
    assert registered  # JSON, forms, multipart, XML, text, binary
    assert dict(transport.get_matching_media_types("*/*")) == registered
    for media_type in ("application/json", "application/problem+json", "multipart/form-data", "text/plain"):
        assert transport.get_first_matching_media_type(media_type) == REQUESTS_TRANSPORT.get_first_matching_media_type(
            media_type
        )


def test_a_request_without_a_session_goes_out_on_a_prepared_bare_session(schema: BaseSchema) -> None:
    preparer, paced = Preparer(), []
    transport = private.SessionTransport(preparer, pace=lambda: paced.append(1))
    case = schema["/items"]["POST"].Case(body={"a": 1}, media_type="application/json")
    response = transport.send(case)  # as ignored_auth's probes send: no session
    assert response.status_code == 201 and paced == [1]
    assert len(preparer.sessions) == 1 and len(preparer.adapter.sent) == 1
    sent = preparer.adapter.sent[0]
    # A bare session: only the case's headers, none of requests' defaults (RequestsTransport merges a session's)
    assert "python-requests" not in sent.headers["User-Agent"]
    assert sent.body == b'{"a": 1}'


def test_a_request_with_a_session_goes_out_on_that_session_prepared(schema: BaseSchema) -> None:
    preparer = Preparer()
    transport = private.SessionTransport(preparer, pace=lambda: None)
    session = requests.Session()
    session.headers.clear()
    case = schema["/items"]["POST"].Case(body={}, media_type="application/json")
    transport.send(case, session=session)
    assert preparer.sessions == [session] and len(preparer.adapter.sent) == 1


# --- use_transport: BaseSchema.transport overridden -------------------------------------------------------
def test_the_schema_transport_is_a_read_only_property() -> None:
    declared = inspect.getattr_static(BaseSchema, "transport")
    assert isinstance(declared, property) and declared.fset is None


def test_every_case_of_the_schema_is_sent_with_the_transport_in_use(schema: BaseSchema) -> None:
    preparer = Preparer()
    transport = private.SessionTransport(preparer, pace=lambda: None)
    private.use_transport(schema, transport)
    operation = schema["/items"]["POST"]
    assert schema.transport is transport and operation.schema.transport is transport
    assert isinstance(schema, BaseSchema) and type(schema).__name__.startswith("Relaying")
    response = operation.Case(body={}, media_type="application/json").call()  # case.call finds it there
    assert response.status_code == 201 and len(preparer.adapter.sent) == 1


# --- engine_sessions: make_session replaced ------------------------------------------------------------------
def test_make_session_takes_the_config_and_an_optional_operation() -> None:
    parameters = list(inspect.signature(engine_context.make_session).parameters.values())
    assert [p.name for p in parameters] == ["config", "operation"]
    assert parameters[1].kind is inspect.Parameter.KEYWORD_ONLY and parameters[1].default is None


@pytest.fixture
def engine(schema: BaseSchema) -> Iterator[tuple[engine_context.EngineContext, Preparer]]:
    preparer = Preparer()
    with private.engine_sessions(preparer):
        yield engine_context.EngineContext(schema=schema, stop_event=threading.Event()), preparer


def test_the_workers_sessions_are_made_by_make_session(engine: tuple[engine_context.EngineContext, Preparer]) -> None:
    ctx, preparer = engine
    session = ctx.get_session()
    assert preparer.sessions == [session]
    assert ctx.get_transport_kwargs()["session"] is session  # what every case of the run is sent with


def test_the_capability_probes_sessions_are_made_by_make_session(
    engine: tuple[engine_context.EngineContext, Preparer],
) -> None:
    ctx, preparer = engine
    runs = probes.run(ctx)
    assert len(runs) == len(probes.PROBES) == len(preparer.sessions)
    assert len(preparer.adapter.sent) == len(runs)  # every probe went out on a prepared session
    assert all(request.headers.get(probes.HEADER_NAME) for request in preparer.adapter.sent)


def test_make_session_is_restored_after_the_run() -> None:
    original = engine_context.make_session
    with private.engine_sessions(lambda _session: None):
        assert engine_context.make_session is not original
    assert engine_context.make_session is original


# --- follow_no_redirect: requests' Session.get_redirect_target ----------------------------------------------
def _redirecting_session() -> tuple[requests.Session, Canned]:
    adapter = Canned(status=302, headers={"Location": f"{BASE_URL}/loop"}, body=b"")
    session = requests.Session()
    session.mount("http://", adapter)
    return session, adapter


def test_a_session_follows_redirects_through_get_redirect_target() -> None:
    assert callable(requests.Session.get_redirect_target)
    session, adapter = _redirecting_session()
    session.max_redirects = 3
    with pytest.raises(requests.TooManyRedirects):  # without the override, a 302 loop is followed
        session.send(session.prepare_request(requests.Request("GET", f"{BASE_URL}/loop")))
    assert len(adapter.sent) == 4


def test_a_session_that_follows_no_redirect_answers_the_redirect() -> None:
    session, adapter = _redirecting_session()
    private.follow_no_redirect(session)
    # Like the capability probes: session.send without allow_redirects=False
    response = session.send(session.prepare_request(requests.Request("GET", f"{BASE_URL}/loop")))
    assert response.status_code == 302 and response.history == [] and len(adapter.sent) == 1


# --- keep_read_body: requests' Response._content and _content_consumed ---------------------------------------
class Raw:
    """A raw stream that must not be read again; remembers whether it was closed."""

    closed = False

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the body was read already")

    stream = read

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("reuse", [True, False])
def test_a_body_read_elsewhere_is_the_responses_content(reuse: bool) -> None:
    response = requests.Response()
    assert "_content" in response.__attrs__ and hasattr(response, "_content_consumed")
    raw = Raw()
    response.raw = raw
    response.status_code = 200
    private.keep_read_body(response, b'{"a": 1}', reuse_connection=reuse)
    response.close()  # as the bounded adapter does, before anyone reads the content
    assert raw.closed is not reuse  # a connection read to its end is kept; an abandoned one is dropped
    assert response.content == b'{"a": 1}' and response.json() == {"a": 1}
