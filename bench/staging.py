"""A staging-shaped target: the reference server as the suite meets a staging server.

- The server mails its e-mail codes over SMTP to MailDev (`serve --smtp`), optionally by an edited contract
  (`serve --spec`, say with 20-second lifetimes: `short_lifetimes`).
- A proxy in front of it answers 404 to every `/_test` path (a staging server has no test support) and may
  add a delay to every answer (`bench.latency.DelayProxy`).
- Users come from a factory command, `examples/staging/user-factory.py ORIGIN`: made through the server's own
  test support, out of the suite's sight (as a staging admin API would), and handed over with history
  (favourites, an FCM token, unverified contacts, a past export). It honours KESK_USER_KIND.
- SMS codes come from a command, `examples/staging/read-sms.py ORIGIN`, as from an SMS sink's API (for the
  reference server the outbox, read behind the proxy's back, is that sink).

`tests/conformance/test_staging.py` runs the catalogue against it; `bench.latency` times it at 0 and 50 ms.
"""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.latency import DelayProxy
from conformance.contract import Contract
from conformance.runner import lifetimes
from reference_server.launcher import serve_in_process, serve_in_thread

__all__ = [
    "EXAMPLES",
    "MAILDEV",
    "MailDev",
    "MailDevUnavailable",
    "StagingTarget",
    "running_maildev",
    "short_lifetimes",
    "staging",
]

ROOT = Path(__file__).resolve().parents[1]
MAILDEV = ROOT / "tools" / "maildev" / "node_modules" / ".bin" / "maildev"
EXAMPLES = ROOT / "examples" / "staging"  # the user factory and the SMS reader, as a staging team writes them
_HIDDEN = ("/v1/_test",)  # every test-support path: a staging server has none


class MailDevUnavailable(Exception):
    """MailDev cannot run here; the message says what to install."""


@dataclass(frozen=True)
class MailDev:
    web_url: str
    smtp_port: int

    def mails(self) -> list[dict[str, object]]:
        listed: list[dict[str, object]] = httpx.get(f"{self.web_url}/api/email", timeout=10).json()
        return listed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_maildev(folder: Path, *, start_timeout_s: float = 30.0) -> Iterator[MailDev]:
    """MailDev from the project's lock file (`scripts/install-maildev`), on free loopback ports, mail kept in
    `folder`; MailDevUnavailable when Node.js or the install is missing, RuntimeError when it does not start."""
    if shutil.which("node") is None:
        raise MailDevUnavailable("Node.js is not installed: MailDev needs Node.js 20+ (apt-get install nodejs npm)")
    if not MAILDEV.exists():
        raise MailDevUnavailable("MailDev is not installed: run scripts/install-maildev (npm ci in tools/maildev)")
    smtp_port, web_port = _free_port(), _free_port()
    listen = ["--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--smtp", str(smtp_port), "--web", str(web_port)]
    log_path = folder / "maildev.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(MAILDEV), *listen, "--mail-directory", str(folder / "mail")], stdout=log, stderr=subprocess.STDOUT
        )
        web_url = f"http://127.0.0.1:{web_port}"
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    if httpx.get(f"{web_url}/api/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(f"MailDev did not start:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            yield MailDev(web_url, smtp_port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def short_lifetimes(source: Path, target: Path, seconds: int) -> Path:
    """An edited copy of the contract whose every lifetime (each x-kesk-limits `*_ttl_s`) is `seconds`."""
    text = source.read_text(encoding="utf-8")
    for name in lifetimes(Contract.load(source)):
        text, found = re.subn(rf"(?m)^(\s+{name}:\s*)\d+\s*$", rf"\g<1>{seconds}", text)
        if found != 1:
            raise ValueError(f"{source}: x-kesk-limits {name} is not written once as a plain number")
    target.write_text(text, encoding="utf-8")
    return target


@dataclass(frozen=True)
class StagingTarget:
    base_url: str  # the proxy's: what the suite is pointed at
    origin: str  # the server's own base URL, behind the proxy: only the factory and the SMS reader use it
    maildev: MailDev
    proxy: DelayProxy

    def run_args(self, python: str = sys.executable) -> list[str]:
        """`kesk-conformance run` arguments for this target, as a staging team would pass them."""
        python = shlex.quote(python)
        return [
            "--base-url",
            self.base_url,
            "--user-factory",
            f"{python} {shlex.quote(str(EXAMPLES / 'user-factory.py'))} {self.origin}",
            "--inbox",
            f"email=maildev:{self.maildev.web_url}",
            "--inbox",
            f"sms=command:{python} {shlex.quote(str(EXAMPLES / 'read-sms.py'))} {self.origin}",
        ]


@contextmanager
def staging(maildev: MailDev, *, delay_ms: int = 0, spec: Path | None = None) -> Iterator[StagingTarget]:
    """The reference server (a subprocess mailing to `maildev`, by `spec` when given) behind a proxy that hides
    test support and adds `delay_ms` to every answer."""
    command = [sys.executable, "-m", "reference_server", "serve", "--port", "0"]
    command += ["--smtp", f"127.0.0.1:{maildev.smtp_port}"] + (["--spec", str(spec)] if spec else [])
    with serve_in_process(command) as server:
        proxy = DelayProxy(server.base_url.removesuffix("/v1"), delay_ms / 1000, hidden=_HIDDEN)
        with serve_in_thread(proxy, name="kesk-staging-proxy") as proxied:
            yield StagingTarget(proxied, server.base_url, maildev, proxy)
