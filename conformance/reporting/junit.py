"""junit.xml: one <testsuite> per requirement area, one <testcase> per requirement.

Mapping of outcomes (what GitLab, GitHub test-report actions and Jenkins understand):

- passed  -> an empty <testcase>;
- failed  -> <failure type="MUST"|"SHOULD" message=...> whose text is every violation
  rendered by format_failure (Expected/Actual/hint/steps/curl);
- error   -> <error message=reason> (the suite could not decide);
- skipped -> <skipped message=reason> (a prerequisite was not configured);
- known   -> <skipped message="known failure: ..."> whose text is every violation (--known-failures);
- not_applicable -> <skipped message="not applicable: ..."> (--not-implemented).

A stale known failure (listed, yet it passed) is a <failure type="stale">: it fails the run.

A SHOULD violation stays a <failure> even without --strict: hiding it as a skip or a pass
would lose it in every CI test view. Its type is "SHOULD" and its message says whether it
fails the run, so a reader of the CI test tab sees why the pipeline may still be green.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import groupby

from conformance.failures import format_failure
from conformance.requirements import Level
from conformance.results import Outcome, RequirementResult, RunResult

# XML 1.0 cannot carry most control characters, and a server's body may contain them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MESSAGE_LIMIT = 300  # the message attribute is a one-line headline; the element text has everything


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _headline(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 1] + "…"


def failure_message(result: RequirementResult, *, strict: bool) -> str:
    """The one-line message of a failed requirement: its level's effect, then the first violation."""
    if result.requirement.level is Level.SHOULD:
        effect = (
            "SHOULD violated (fails the run under --strict)"
            if strict
            else ("SHOULD violated (reported only; fails the run under --strict)")
        )
    else:
        effect = "MUST violated"
    if result.failures:
        first = result.failures[0]
        more = f" (+{len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
        detail = f"Expected: {first.expected}; Actual: {first.actual}{more}"
    else:
        detail = result.reason
    return _headline(f"{effect}: {detail}" if detail else effect)


def _testcase(parent: ET.Element, result: RequirementResult, run: RunResult) -> None:
    item = result.requirement
    case = ET.SubElement(
        parent,
        "testcase",
        classname=_clean(f"kesk.{item.area}"),
        name=_clean(f"{item.id}: {item.title}"),
        time=f"{result.duration_s:.3f}",
    )
    if result.stale:
        ET.SubElement(case, "failure", message=_clean(_headline(result.reason)), type="stale").text = _clean(
            result.reason
        )
    elif result.outcome is Outcome.FAILED:
        node = ET.SubElement(
            case, "failure", message=_clean(failure_message(result, strict=run.strict)), type=item.level.value
        )
        texts = [format_failure(item.id, item.quote, failure, seed=run.seed) for failure in result.failures]
        node.text = _clean("\n\n".join(texts) or result.reason)
    elif result.outcome is Outcome.ERROR:
        ET.SubElement(case, "error", message=_clean(_headline(result.reason)), type="error").text = _clean(
            result.reason
        )
    elif result.outcome is Outcome.SKIPPED:
        ET.SubElement(case, "skipped", message=_clean(_headline(result.reason)))
    elif result.outcome is Outcome.KNOWN:
        node = ET.SubElement(case, "skipped", message=_clean(_headline(result.reason)))
        texts = [format_failure(item.id, item.quote, failure, seed=run.seed) for failure in result.failures]
        node.text = _clean("\n\n".join(texts) or result.reason)
    elif result.outcome is Outcome.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=_clean(_headline(f"not applicable: {result.reason}")))


def _counts(results: list[RequirementResult]) -> dict[str, str]:
    def count(outcome: Outcome) -> str:
        return str(sum(1 for result in results if result.outcome is outcome))

    return {
        "tests": str(len(results)),
        "failures": str(sum(1 for result in results if result.outcome is Outcome.FAILED or result.stale)),
        "errors": count(Outcome.ERROR),
        "skipped": str(
            sum(
                1
                for result in results
                if result.outcome in (Outcome.SKIPPED, Outcome.KNOWN, Outcome.NOT_APPLICABLE) and not result.stale
            )
        ),
        "time": f"{sum(result.duration_s for result in results):.3f}",
    }


def render_junit(run: RunResult) -> bytes:
    # The root's time is the whole run's wall clock (setup and cleanup included), not the sum of cases.
    root = ET.Element(
        "testsuites", {"name": "kesk-conformance", **_counts(run.results), "time": f"{run.duration_s:.3f}"}
    )
    # Areas in first-appearance order, so the file follows the run (and the catalogue) order.
    order = {area: index for index, area in enumerate(dict.fromkeys(r.requirement.area for r in run.results))}
    ordered = sorted(run.results, key=lambda r: order[r.requirement.area])
    for area, group in groupby(ordered, key=lambda r: r.requirement.area):
        results = list(group)
        suite = ET.SubElement(root, "testsuite", {"name": _clean(area), **_counts(results)})
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("base_url", str(run.target.get("base_url", ""))),
            ("seed", str(run.seed)),
            ("strict", str(run.strict).lower()),
        ):
            ET.SubElement(properties, "property", name=name, value=_clean(value))
        for result in results:
            _testcase(suite, result, run)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
