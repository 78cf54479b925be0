"""report.html: one self-contained page (inline CSS and JS, no network) for a person.

A header with the target and the totals, a requirement matrix that filters by outcome,
level and text (each row opens to show the quote, reason and every failure rendered by
format_failure), and the per-operation status coverage. Every value from the run is
escaped; the page's script only toggles visibility and never builds markup from data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from conformance.coverage import DEFINITION, SpecCoverage
from conformance.failures import format_failure
from conformance.reporting._coverage import OperationCoverage, operation_coverage
from conformance.reporting.terminal import requests_cell
from conformance.requirements import Level
from conformance.results import Outcome, RequirementResult, RunResult

# The CSP makes "no network" a property of the file, not a promise of this code.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

_CSS = """
:root { --fg:#1d2430; --muted:#5b6474; --line:#d9dee7; --bg:#f6f7f9; --card:#fff;
  --pass:#1a7f37; --pass-bg:#dafbe1; --fail:#c0262d; --fail-bg:#ffe3e3; --warn:#8a5a00; --warn-bg:#fff1c2;
  --skip:#6b6f76; --skip-bg:#eceef1; --err:#8e24aa; --err-bg:#f6e3fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg);
  background:var(--bg); }
header, main { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
code, pre, .id { font-family: ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size: 13px; }
.target { font-size: 15px; color: var(--muted); margin: 0 0 12px; }
.target code { color: var(--fg); font-size: 14px; }
.meta { display:flex; flex-wrap:wrap; gap:4px 22px; margin:0 0 14px; color:var(--muted); font-size:13px; }
.meta div { display:flex; gap:6px; } .meta dt { font-weight:600; } .meta dd { margin:0; color:var(--fg); }
.verdict { display:inline-block; font-weight:700; padding:4px 12px; border-radius:6px; margin:0 12px 0 0; }
.verdict.ok { background:var(--pass-bg); color:var(--pass); } .verdict.bad { background:var(--fail-bg);
  color:var(--fail); }
.totals { display:inline-flex; flex-wrap:wrap; gap:8px; list-style:none; padding:0; margin:0;
  vertical-align:middle; }
.totals li { padding:3px 10px; border-radius:999px; font-size:14px; background:var(--card);
  border:1px solid var(--line); }
.totals b { font-size:15px; }
.stats { color:var(--muted); font-size:13px; margin:10px 0 0; }
.filters { display:none; flex-wrap:wrap; align-items:center; gap:10px 18px; background:var(--card);
  border:1px solid var(--line); border-radius:8px; padding:10px 14px; margin-bottom:10px; }
.js .filters { display:flex; }
.filters fieldset { border:0; padding:0; margin:0; display:flex; gap:10px; align-items:center; }
.filters legend { float:left; font-weight:600; margin-right:4px; }
.filters label { white-space:nowrap; }
.filters button { font:inherit; padding:3px 10px; border-radius:6px; border:1px solid var(--line);
  background:var(--bg); cursor:pointer; }
.filters button:hover { border-color:var(--muted); }
.filters input[type=search] { font:inherit; padding:3px 8px; width:16rem; border:1px solid var(--line);
  border-radius:6px; }
.filters select { font:inherit; padding:2px 4px; }
#shown { color:var(--muted); margin-left:auto; font-size:13px; }
.matrix { background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
.cols { display:grid; grid-template-columns: minmax(14rem,1.3fr) 5rem 7rem minmax(12rem,2.5fr) 9rem 5.5rem;
  gap:10px; align-items:center; padding:7px 14px 7px 30px; }
.matrix .head { font-weight:600; font-size:13px; color:var(--muted); border-bottom:1px solid var(--line);
  background:#fbfbfc; }
.req { border-bottom:1px solid var(--line); }
.req:last-of-type { border-bottom:0; }
.req > summary { cursor:pointer; list-style:none; position:relative; }
.req > summary::-webkit-details-marker { display:none; }
.req > summary::before { content:"\\25B8"; position:absolute; left:12px; color:var(--muted); }
.req[open] > summary::before { content:"\\25BE"; }
.req > summary:hover { background:#f3f5f8; }
.req.o-failed > summary { background:#fff8f8; } .req.o-failed.lenient > summary { background:#fffcf0; }
.num { text-align:right; font-variant-numeric: tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12.5px; font-weight:600; }
.b-passed { color:var(--pass); background:var(--pass-bg); } .b-failed { color:var(--fail);
  background:var(--fail-bg); }
.b-lenient { color:var(--warn); background:var(--warn-bg); } .b-skipped { color:var(--skip);
  background:var(--skip-bg); }
.b-error { color:var(--err); background:var(--err-bg); }
.b-known { color:#0b5f8a; background:#dff1fb; } .b-not_applicable { color:var(--skip); background:var(--skip-bg);
  font-weight:400; } .b-stale { color:#fff; background:var(--fail); }
.lv-MUST { color:var(--fail); font-weight:600; font-size:13px; } .lv-SHOULD { color:var(--warn);
  font-weight:600; font-size:13px; }
.area { color:var(--muted); font-size:13px; }
.why { display:block; color:var(--muted); font-size:13px; }
.detail { padding:4px 20px 16px 30px; background:#fcfcfd; border-top:1px dashed var(--line); }
.detail blockquote { margin:10px 0; padding:6px 12px; border-left:3px solid var(--line); color:#333;
  font-style:italic; }
.detail dl { display:grid; grid-template-columns: 8rem 1fr; gap:4px 12px; margin:8px 0; font-size:14px; }
.detail dt { color:var(--muted); } .detail dd { margin:0; }
.detail h4 { margin:14px 0 6px; font-size:14px; }
pre.failure { background:#1f2430; color:#e8eaf0; padding:12px 14px; border-radius:6px; overflow-x:auto;
  white-space:pre-wrap; word-break:break-word; margin:0 0 10px; }
#no-match { padding:14px; color:var(--muted); margin:0; }
table.coverage { width:100%; border-collapse:collapse; background:var(--card);
  border:1px solid var(--line); font-size:14px; }
table.coverage th, table.coverage td { text-align:left; padding:6px 12px;
  border-bottom:1px solid var(--line); vertical-align:top; }
table.coverage th { font-size:13px; color:var(--muted); background:#fbfbfc; }
table.coverage .num { text-align:right; }
table.coverage .note { color:var(--fail); font-size:12px; }
table.coverage tr.uncalled td { background:#fffafa; }
.status { display:inline-block; margin:1px 4px 1px 0; padding:0 7px; border-radius:4px; font-size:13px;
  font-family: ui-monospace,Menlo,Consolas,monospace; border:1px solid transparent; }
.status small { font-family: system-ui,sans-serif; }
.status.seen { background:var(--pass-bg); color:var(--pass); }
.status.unseen { background:var(--warn-bg); color:var(--warn); border:1px dashed var(--warn);
  font-weight:600; }
.status.undocumented { background:var(--fail-bg); color:var(--fail); font-weight:600; }
.legend { color:var(--muted); font-size:13px; }
footer { max-width:1240px; margin:24px auto; padding:0 20px; color:var(--muted); font-size:12px; }
[hidden] { display:none !important; }
"""

_JS = """
(function () {
  document.documentElement.classList.add("js");
  var rows = Array.prototype.slice.call(document.querySelectorAll("details.req"));
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=outcome]"));
  var level = document.getElementById("level");
  var search = document.getElementById("search");
  function apply() {
    var wanted = {};
    boxes.forEach(function (box) { wanted[box.value] = box.checked; });
    var text = search.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var visible = wanted[row.dataset.outcome] && (!level.value || row.dataset.level === level.value)
        && (!text || row.dataset.text.indexOf(text) !== -1);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    document.getElementById("shown").textContent = "Showing " + shown + " of " + rows.length;
    document.getElementById("no-match").hidden = shown > 0;
  }
  document.getElementById("only-failed").addEventListener("click", function () {
    boxes.forEach(function (box) { box.checked = box.value === "failed"; });
    apply();
  });
  document.getElementById("show-all").addEventListener("click", function () {
    boxes.forEach(function (box) { box.checked = true; });
    level.value = ""; search.value = "";
    apply();
  });
  boxes.concat([level]).forEach(function (el) { el.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  // A link to #req-ID (from a CI log or a colleague) opens that requirement.
  function openLinked() {
    var el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (el && el.tagName === "DETAILS") { el.hidden = false; el.open = true; }
  }
  window.addEventListener("hashchange", openLinked);
  apply();
  openLinked();
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _is_lenient(item: RequirementResult, *, strict: bool) -> bool:
    return item.outcome is Outcome.FAILED and not item.fails_run(strict=strict)


def _outcome_badge(item: RequirementResult, *, strict: bool) -> str:
    if item.stale:
        return (
            '<span class="badge b-stale" title="listed in the known failures, yet it passed: remove it">'
            "stale known failure</span>"
        )
    if _is_lenient(item, strict=strict):
        return (
            '<span class="badge b-lenient" title="SHOULD violation; fails the run only with --strict">'
            "failed · SHOULD</span>"
        )
    return f'<span class="badge b-{item.outcome.value}">{_e(item.outcome.value.replace("_", " "))}</span>'


_UNITS = {"_ms": "ms", "_s": "s"}  # a figure's unit, from its name's suffix (round_trip_ms, waited_s)


def _label(key: str) -> str:
    """A results.json key as people read it: round_trip_ms -> "round trip"."""
    for suffix in _UNITS:
        if key.endswith(suffix):
            key = key.removesuffix(suffix)
    return key.replace("_", " ")


def for_people(key: str, value: object) -> str:
    """A target figure as people read it, never a Python literal: yes/no, numbers with their unit, a mapping as
    "name: value" pairs (back pressure: "retries: 0, waited: 0 s, cut: 0"), a list joined with commas."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        unit = next((unit for suffix, unit in _UNITS.items() if key.endswith(suffix)), "")
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.3f}".rstrip("0").rstrip(".")
        return f"{shown} {unit}".strip()
    if isinstance(value, dict):
        return ", ".join(f"{_label(str(name))}: {for_people(str(name), item)}" for name, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(for_people(key, item) for item in value)
    return "—" if value is None else str(value)


def _target_meta(run: RunResult) -> str:
    items = [("Seed", str(run.seed)), ("Strict", "yes" if run.strict else "no")]
    for key, value in run.target.items():
        if key == "base_url" or value in (None, "", [], {}, False):
            continue
        if isinstance(value, dict) and key == "not_implemented":
            # the optional groups the target leaves out, each with its operations
            text = "; ".join(f"{group} ({', '.join(map(str, ops))})" for group, ops in value.items())
        else:
            text = for_people(key, value)
        items.append((_label(key).capitalize(), text))
    return "".join(f"<div><dt>{_e(name)}</dt><dd>{_e(text)}</dd></div>" for name, text in items)


def _header(run: RunResult) -> str:
    ok = run.exit_code == 0
    verdict = "Run passed" if ok else "Run failed"
    totals = "".join(
        f'<li class="t-{outcome.value}"><b>{run.count(outcome)}</b> {_e(outcome.value.replace("_", " "))}</li>'
        for outcome in Outcome
    )
    return (
        "<header>"
        "<h1>Kesk conformance report</h1>"
        f'<p class="target">Target <code id="base-url">{_e(run.target.get("base_url", "(unknown)"))}</code></p>'
        f'<dl class="meta">{_target_meta(run)}</dl>'
        f'<p class="verdict {"ok" if ok else "bad"}" id="verdict">{verdict} (exit code {run.exit_code})</p>'
        f'<ul class="totals" id="totals">{totals}</ul>'
        f'<p class="stats">{len(run.results)} requirements · {run.requests} requests · '
        f"{run.duration_s:.1f}s</p>"
        "</header>"
    )


def _filters(run: RunResult) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" name="outcome" value="{outcome.value}" checked> '
        f"{_e(outcome.value.replace('_', ' '))} ({run.count(outcome)})</label>"
        for outcome in Outcome
    )
    levels = "".join(f'<option value="{level.value}">{level.value}</option>' for level in Level)
    return (
        '<div class="filters" role="search">'
        f"<fieldset><legend>Outcome</legend>{boxes}</fieldset>"
        '<button type="button" id="only-failed">Failed only</button>'
        '<button type="button" id="show-all">Show all</button>'
        f'<label>Level <select id="level"><option value="">all</option>{levels}</select></label>'
        '<label>Search <input type="search" id="search" placeholder="id or title" autocomplete="off"></label>'
        f'<span id="shown" aria-live="polite">Showing {len(run.results)} of {len(run.results)}</span>'
        "</div>"
    )


def _requirement(item: RequirementResult, run: RunResult) -> str:
    req = item.requirement
    lenient = _is_lenient(item, strict=run.strict)
    classes = f"req o-{item.outcome.value}" + (" lenient" if lenient else "")
    operations = ", ".join(f'<a href="#op-{_e(op)}"><code>{_e(op)}</code></a>' for op in req.operations) or "—"
    facts = [
        ("Source", "the upstream reference (seed)" if req.source == "seed" else f"the {req.source}"),
        (
            ("Requests", f"{item.requests} sent, {item.judged} exchanges of the run judged, in {item.duration_s:.2f}s")
            if req.observes
            else ("Requests", f"{item.requests} in {item.duration_s:.2f}s")
        ),
    ]
    rows = "".join(f"<dt>{_e(name)}</dt><dd>{_e(text)}</dd>" for name, text in facts)
    if item.reason:
        rows = f"<dt>Reason</dt><dd>{_e(item.reason)}</dd>" + rows
    rows += f"<dt>Operations</dt><dd>{operations}</dd>"
    # Why a requirement was skipped or errored matters at a glance, without opening the row.
    why = f'<small class="why">{_e(item.reason)}</small>' if item.reason else ""
    failures = ""
    if item.failures:
        blocks = "".join(
            f'<pre class="failure">{_e(format_failure(req.id, req.quote, failure, seed=run.seed))}</pre>'
            for failure in item.failures
        )
        failures = f"<h4>Failures ({len(item.failures)})</h4>{blocks}"
    return (
        f'<details class="{classes}" id="req-{_e(req.id)}" data-outcome="{item.outcome.value}" '
        f'data-level="{req.level.value}" data-text="{_e(f"{req.id} {req.title}".lower())}">'
        '<summary class="cols">'
        f'<span class="id">{_e(req.id)}</span>'
        f'<span class="lv-{req.level.value}">{req.level.value}</span>'
        f'<span class="area">{_e(req.area)}</span>'
        f'<span class="title">{_e(req.title)}{why}</span>'
        f"<span>{_outcome_badge(item, strict=run.strict)}</span>"
        f'<span class="num">{_e(requests_cell(item))}</span>'
        "</summary>"
        f'<div class="detail"><blockquote>{_e(req.quote)}</blockquote><dl>{rows}</dl>{failures}</div>'
        "</details>"
    )


def _matrix(run: RunResult) -> str:
    head = (
        '<div class="head cols"><span>Requirement</span><span>Level</span><span>Area</span>'
        '<span>Title</span><span>Outcome</span><span class="num">Requests</span></div>'
    )
    body = "".join(_requirement(item, run) for item in run.results)
    return (
        '<section id="requirements"><h2>Requirements</h2>'
        f'{_filters(run)}<div class="matrix">{head}{body}'
        '<p id="no-match" hidden>No requirement matches these filters.</p></div></section>'
    )


def _status(css: str, key: object, note: str, title: str) -> str:
    return f'<span class="status {css}" title="{_e(title)}">{_e(key)} <small>{note}</small></span>'


def _sent_chips(spec: SpecCoverage | None, operation: str) -> str:
    """The operation's documented parameters and body properties, each sent or never sent in this run."""
    row = next((item for item in spec.operations if item.operation == operation), None) if spec else None
    if row is None:
        return '<span class="legend">—</span>'
    items = [*row.parameters.items(), *((f"body:{name}", sent) for name, sent in row.properties.items())]
    chips = " ".join(
        _status("seen", name, "", "sent by at least one request")
        if sent
        else _status("unseen", name, "never sent", "documented, never sent in this run")
        for name, sent in items
    )
    return chips or '<span class="legend">none documented</span>'


def _spec_summary(spec: SpecCoverage) -> str:
    parts = " · ".join(
        f"{_e(part.name)} {part.covered}/{part.documented} ({part.percent:.1f}%)" for part in spec.parts.values()
    )
    unchecked = [rule for rule, by in spec.rules.items() if not by]
    rules = "".join(
        f'<tr id="rule-{_e(rule)}"><td><code>{_e(rule)}</code></td><td>'
        + (
            ", ".join(f'<a href="#req-{_e(rid)}"><code>{_e(rid)}</code></a>' for rid in by)
            or '<span class="status unseen">not checked</span>'
        )
        + "</td></tr>"
        for rule, by in spec.rules.items()
    )
    return (
        f'<p id="spec-coverage"><b>Spec coverage {spec.percent:.1f}%</b> ({spec.covered} of {spec.documented} '
        f"documented items): {parts}</p>"
        f'<p class="legend">{_e(DEFINITION)}. {len(unchecked)} rule(s) not checked by a requirement that '
        "reached a verdict.</p>"
        f'<table class="coverage" id="rules"><thead><tr><th>x-kesk-rules rule</th><th>Checked by</th></tr></thead>'
        f"<tbody>{rules}</tbody></table><p></p>"
    )


def _coverage_row(row: OperationCoverage, spec: SpecCoverage | None = None) -> str:
    documented = " ".join(
        _status("seen", item.key, f"&times;{item.seen}", f"observed {item.seen} time(s)")
        if item.seen
        else _status("unseen", item.key, "not observed", "documented, never observed in this run")
        for item in row.documented
    )
    undocumented = " ".join(
        _status("undocumented", status, f"&times;{count}", "observed but not documented")
        for status, count in row.undocumented
    )
    documented = documented or '<span class="legend">none documented</span>'
    undocumented = undocumented or '<span class="legend">—</span>'
    css = ' class="uncalled"' if row.requests == 0 else ""
    note = ' <small class="note">never called</small>' if row.requests == 0 else ""
    return (
        f'<tr id="op-{_e(row.operation)}"{css}><td><code>{_e(row.operation)}</code>{note}</td>'
        f'<td class="num">{row.requests}</td><td class="documented">{documented}</td>'
        f'<td class="undocumented">{undocumented}</td>'
        f'<td class="sent">{_sent_chips(spec, row.operation)}</td></tr>'
    )


def _coverage(run: RunResult, documented_statuses: Mapping[str, Sequence[str]]) -> str:
    rows = operation_coverage(run.operations, documented_statuses)
    documented = sum(len(row.documented) for row in rows)
    unobserved = sum(len(row.unobserved) for row in rows)
    undocumented = sum(len(row.undocumented) for row in rows)
    uncalled = sum(1 for row in rows if row.requests == 0)
    summary = (
        f"{documented - unobserved} of {documented} documented statuses observed; "
        f"{uncalled} operation(s) never called; {undocumented} undocumented status(es) observed."
    )
    spec = _spec_summary(run.coverage) if run.coverage is not None else ""
    return (
        '<section id="coverage"><h2>Operation coverage</h2>'
        f"{spec}"
        f'<p id="coverage-summary">{_e(summary)}</p>'
        '<p class="legend"><span class="status seen">200 <small>&times;n</small></span> documented and observed · '
        '<span class="status unseen">404 <small>not observed</small></span> documented, never observed · '
        '<span class="status undocumented">500 <small>&times;n</small></span> observed, undocumented</p>'
        '<table class="coverage"><thead><tr><th>Operation</th><th class="num">Requests</th>'
        "<th>Documented statuses</th><th>Observed, undocumented</th><th>Parameters and body properties</th>"
        "</tr></thead>"
        f"<tbody>{''.join(_coverage_row(row, run.coverage) for row in rows)}</tbody></table></section>"
    )


def render_html(run: RunResult, *, documented_statuses: Mapping[str, Sequence[str]]) -> str:
    title = f"Kesk conformance: {run.target.get('base_url', '')}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>"
        f"{_header(run)}<main>{_matrix(run)}{_coverage(run, documented_statuses)}</main>"
        "<footer>Generated by kesk-conformance. Secrets are redacted before they reach this report.</footer>"
        f"<script>{_JS}</script></body></html>\n"
    )
