"""Run the reference server in a background thread: the suite's embedded default target."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .app import create_app
from .launcher import base_url, bind_loopback, serve_in_thread, uvicorn_config

# base_url, bind_loopback and uvicorn_config live in launcher.py; re-exported for older imports.
__all__ = ["base_url", "bind_loopback", "running_server", "uvicorn_config"]


@contextmanager
def running_server(
    *,
    faults: Sequence[str] = (),
    variants: Sequence[str] = (),
    db: str = ":memory:",
    wrap: Callable[[Any], object] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    **app_options: Any,
) -> Iterator[str]:
    """Serve a fresh reference server on a free loopback port; yields its base URL (with /v1).

    `wrap` may put an ASGI middleware around the app (the self-test's request counter does);
    `app_options` go to `create_app` as keyword arguments.
    """
    app = create_app(db=db, faults=faults, variants=variants, test_mode=True, **app_options)
    try:
        with serve_in_thread(app if wrap is None else wrap(app), host=host, port=port) as url:
            yield url
    finally:
        app.state.server.db.close()
