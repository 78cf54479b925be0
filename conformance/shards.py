"""--shard I/N: the catalogue split into N balanced parts, for a CI matrix of machines.

Requirements that share an engine stay together, so no engine runs twice for one catalogue: the
requirements of one lifecycle machine (and of machines that share a requirement), and the Schemathesis
run with the observers (which judge its traffic). The parts are balanced by each requirement's measured
cost, kept in ``costs.json`` beside this module (``python -m conformance.shards RESULTS.json`` measures
it again from a run with --workers 1), largest first onto the lightest part: the same split every time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from conformance.checks.lifecycles import MachineVerdict
from conformance.requirements import Requirement

__all__ = ["COSTS_PATH", "measured_costs", "shard", "units"]

COSTS_PATH = Path(__file__).resolve().parent / "costs.json"
_UNKNOWN_COST_S = 1.0


@cache
def measured_costs() -> dict[str, float]:
    try:
        data = json.loads(COSTS_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(key): float(value) for key, value in data.items()}


def units(requirements: Sequence[Requirement]) -> list[list[Requirement]]:
    """The requirements grouped by the engine they share, in catalogue order."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    def engines(item: Requirement) -> list[str]:
        if isinstance(item.check, MachineVerdict):
            return [f"machine:{spec.name}" for spec in item.check.machines]
        if item.observes or item.area == "schemathesis":
            return ["schemathesis"]
        return [item.id]

    for item in requirements:
        first, *rest = engines(item)
        for other in rest:  # machines that share a requirement share a unit
            parent[root(other)] = root(first)
    grouped: dict[str, list[Requirement]] = {}
    for item in requirements:
        grouped.setdefault(root(engines(item)[0]), []).append(item)
    return list(grouped.values())


def shard(requirements: Sequence[Requirement], index: int, count: int) -> list[Requirement]:
    """Part `index` (1-based) of `count`: each unit goes, largest first, to the part with the least cost so far."""
    costs = measured_costs()
    parts: list[list[Requirement]] = [[] for _ in range(count)]
    loads = [0.0] * count
    order = {item.id: position for position, item in enumerate(requirements)}
    weighed = [(sum(costs.get(item.id, _UNKNOWN_COST_S) for item in unit), unit) for unit in units(requirements)]
    for cost, unit in sorted(weighed, key=lambda pair: (-pair[0], order[pair[1][0].id])):
        lightest = loads.index(min(loads))
        parts[lightest].extend(unit)
        loads[lightest] += cost
    return sorted(parts[index - 1], key=lambda item: order[item.id])


def _measure(results_path: str) -> dict[str, float]:
    results = json.loads(Path(results_path).read_text(encoding="utf-8"))
    return {item["id"]: round(float(item["duration_s"]), 2) for item in results["requirements"]}


if __name__ == "__main__":  # python -m conformance.shards RESULTS.json > conformance/costs.json
    print(json.dumps(_measure(sys.argv[1]), indent=2, sort_keys=True))
