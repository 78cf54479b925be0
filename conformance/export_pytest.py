"""`run --export-pytest DIR`: each failure as a standalone pytest file a server team can keep.

The file needs httpx and pytest only, no kesk-conformance: it holds the failure's steps as data (see
:mod:`conformance.steps`) and copies in the few functions that give them meaning (whose token a step
uses, placeholders and ids, how an answer is judged), taken from ``conformance.steps`` by their source
so that the exported test and ``kesk-conformance replay`` judge alike. It reads the target from
environment variables: ``KESK_BASE_URL`` (with its /v1 prefix), ``KESK_TOKEN`` (user A), ``KESK_TOKEN_B``
(user B), ``KESK_PASSWORD`` (user A's password) and, for a step made as a disposable user,
``KESK_TOKEN_<LABEL>``. A missing one is a skip that names it, never a false verdict.

No secret is written: the steps name users by symbol and keep secret body fields as placeholders.
"""

from __future__ import annotations

import inspect
import pprint
import re
from pathlib import Path

from conformance import steps as steps_module
from conformance.results import RunResult
from conformance.steps import AUTH_USER_A, AUTH_USER_B, FailureSteps

__all__ = ["export_pytest", "render_test", "token_variable"]

_HELPERS = (steps_module.authorization, steps_module.fill, steps_module.still_fails, steps_module.learn_ids)

_RUN = """

def _tokens() -> dict[str, str]:
    return {symbol: os.environ[name] for symbol, name in TOKENS.items() if os.environ.get(name)}


def _send(client: httpx.Client, step: dict[str, Any], headers: dict[str, str], known: dict[str, str]) -> httpx.Response:
    path = str(fill(step["path"], known))
    if "content" in step:
        return client.request(step["method"], path, params=step["query"], headers=headers, content=step["content"])
    body = fill(step["json"], known) if step.get("json") is not None else None
    return client.request(step["method"], path, params=step["query"], headers=headers, json=body)


def test___NAME__() -> None:
    base_url = os.environ.get("KESK_BASE_URL")
    if not base_url:
        pytest.skip("set KESK_BASE_URL to the API under test, with its /v1 prefix")
    tokens = _tokens()
    known: dict[str, str] = {}
    if os.environ.get("KESK_PASSWORD"):
        known["${password}"] = os.environ["KESK_PASSWORD"]
    broken = []
    with httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=TIMEOUT_S, follow_redirects=False) as client:
        for number, step in enumerate(STEPS, 1):
            try:
                auth = authorization(step["auth"], tokens)
            except KeyError:
                pytest.skip(f"step {number} is sent as {step['auth']}: set {TOKENS[step['auth']]}")
            headers = {"Accept": "application/json", **step["headers"]}
            if auth is not None:
                headers["Authorization"] = auth
            response = _send(client, step, headers, known)
            try:
                body = response.json()
            except ValueError:
                body = None
            learn_ids(step.get("ids", {}), body, known)
            expect = step.get("expect")
            if expect and still_fails(expect, response.status_code, body):
                broken.append(
                    f"step {number}: {step['method']} {step['path']} as {step['auth']} answered "
                    f"{response.status_code}; expected {expect['text']}"
                )
    assert not broken, REQUIREMENT + " still fails:\\n" + "\\n".join(broken)
"""


def token_variable(symbol: str) -> str:
    """The environment variable that holds the token of a step's user symbol."""
    if symbol == AUTH_USER_A:
        return "KESK_TOKEN"
    if symbol == AUTH_USER_B:
        return "KESK_TOKEN_B"
    label = symbol.split(":", 1)[-1]
    return "KESK_TOKEN_" + re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_")


def _comment(text: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in text.splitlines() or [""])


def _name(requirement_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", requirement_id.lower()).strip("_")


def render_test(failure: FailureSteps, *, title: str, level: str, quote: str, seed: int) -> str:
    """The source of one standalone pytest file for one failed requirement."""
    users = sorted({step.auth for step in failure.steps if step.auth.startswith("user")})
    tokens = {symbol: token_variable(symbol) for symbol in users}
    failing = [step.expect for step in failure.steps if step.expect is not None]
    placeholders = sorted({name for step in failure.steps for name in step.secrets})
    header = [
        f"{failure.requirement_id} ({level}): {title}",
        f"Requirement: {quote}",
        *(f"Expected: {expect.text}\nActual when exported: {expect.actual}" for expect in failing),
        "",
        f"Exported by kesk-conformance (run seed {seed}) from the {failure.kind} steps of the failure:",
        f"{len(failure.steps)} request(s)"
        + (f" ({failure.omitted} earlier request(s) of the requirement left out)" if failure.omitted else "")
        + "; it passes once the server meets the requirement on these steps.",
        *([failure.note] if failure.note else []),
        *(
            [
                f"Secret fields sent as placeholders (the results keep no secret): {', '.join(placeholders)}; "
                "KESK_PASSWORD fills ${password}."
            ]
            if placeholders
            else []
        ),
        "",
        " ".join(["Run: KESK_BASE_URL=https://staging.example.com/v1", *(f"{name}=..." for name in tokens.values())])
        + " pytest THIS_FILE",
        "Needs httpx and pytest only.",
    ]
    data = [step.as_json() for step in failure.steps]
    helpers = "\n\n".join(inspect.getsource(function) for function in _HELPERS)
    return (
        _comment("\n".join(header))
        + "\n\nfrom __future__ import annotations\n\nimport os\nfrom typing import Any\n\n"
        + "import httpx\nimport pytest\n\n"
        + f"REQUIREMENT = {failure.requirement_id!r}\n"
        + "TIMEOUT_S = 10.0\n"
        + f"TOKENS: dict[str, str] = {tokens!r}  # user symbol -> environment variable holding its token\n"
        + f"STEPS: list[dict[str, Any]] = {pprint.pformat(data, width=110, sort_dicts=False)}\n\n\n"
        + helpers
        + _RUN.replace("__NAME__", _name(failure.requirement_id))
    )


def export_pytest(result: RunResult, folder: Path) -> list[Path]:
    """Write test_<id>.py for every failed requirement that has steps; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for item in result.results:
        failure = result.steps.get(item.requirement.id)
        if failure is None:
            continue
        requirement = item.requirement
        source = render_test(
            failure, title=requirement.title, level=requirement.level.value, quote=requirement.quote, seed=result.seed
        )
        path = folder / f"test_{_name(requirement.id)}.py"
        path.write_text(source, encoding="utf-8")
        written.append(path)
    return written
