"""Targeted self-test runs: which requirements can see a seeded fault.

A fault names the requirement ids that must catch it (`reference_server.faults`). A targeted run selects
those ids (`kesk-conformance run --fault NAME --select ID ...`) plus whatever they need to see the fault:

- a lifecycle or an active check needs nothing else: it sends its own requests (a lifecycle requirement
  runs its whole machine, whichever of the machine's ids is selected);
- an observer (`observes` in `kesk-conformance list --json`: the SCHEMA-* requirements) judges the answers
  to requests other checks sent. It runs the Schemathesis engine by itself; the suite's own active checks
  (auth, isolation, mass assignment: `DRIVER_AREAS`, every operation with and without a token, of both
  users) are selected with it so that the operations the suite exercises by hand are judged as well.

The catalogue is read through the CLI (`kesk-conformance list --json`), the suite's public interface.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

__all__ = ["DRIVER_AREAS", "Listed", "catalogue", "drivers", "targeted_selection"]

DRIVER_AREAS = ("auth", "isolation", "mass-assignment")  # the suite's own active checks, cheap and broad


@dataclass(slots=True, frozen=True)
class Listed:
    """One requirement as `kesk-conformance list --json` shows it (the fields the targeting reads)."""

    id: str
    level: str
    area: str
    observes: bool


@cache
def catalogue() -> tuple[Listed, ...]:
    """The default catalogue in run order, from `kesk-conformance list --json` (run in this process)."""
    from conformance.cli import main as kesk_conformance

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = kesk_conformance(["list", "--json"])
    try:
        rows = json.loads(out.getvalue())
    except ValueError:
        raise RuntimeError(f"`kesk-conformance list --json` exited {code} without a JSON list") from None
    return tuple(Listed(row["id"], row["level"], row["area"], bool(row.get("observes"))) for row in rows)


def drivers(listed: Iterable[Listed]) -> list[str]:
    """The active requirements selected with an observer: the suite's own checks of `DRIVER_AREAS`."""
    return [item.id for item in listed if item.area in DRIVER_AREAS and not item.observes]


def targeted_selection(named: Sequence[str], listed: Sequence[Listed] | None = None) -> list[str]:
    """The ids a targeted run selects for a fault naming `named`: those, plus the drivers of an observer."""
    listed = catalogue() if listed is None else listed
    by_id = {item.id: item for item in listed}
    unknown = [rid for rid in named if rid not in by_id]
    if unknown:
        raise KeyError(f"not in the catalogue: {', '.join(unknown)}")
    chosen = list(named)
    if any(by_id[rid].observes for rid in named):
        chosen += drivers(listed)
    return list(dict.fromkeys(chosen))
