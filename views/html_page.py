"""A self-contained HTML page that steps through one consultation, for a classroom projector.

``explain_html(kb, adv)`` returns one HTML document: styles and script inline, nothing loaded from
the network. Every step is rendered on the server side as a ``<section class="step">`` (so the
page reads top to bottom without JavaScript, and prints whole); the script only shows one step at
a time, with Previous/Next buttons, the left/right arrow keys (Home/End too) and one link per
step (``#facts``, ``#step-1`` ... ``#step-N``, ``#ranking``). The chain is drawn as an inline SVG:
one row per rule firing, a lane per rule stage, and an edge from the firing that derived a fact to
every later firing that matched it.

Only the public consultation API is read: ``adv.trace``, ``adv.recs``, ``adv.resolution``,
``adv.constraints``, ``adv.cautions``, ``adv.excluded``, ``adv.references``, ``kb.weights``.
"""

from __future__ import annotations

from html import escape

from ..advisor.axes import ITEM_AXIS as axis_of
from ..advisor.consult import AXES, Advice
from ..advisor.kb import Knowledge

TITLES = {"sources": "MSC sources", "routes": "Administration routes", "engineering": "Engineering options"}
STAGES = ("classify", "evidence", "heuristic", "route", "engineering", "caution", "constraint")
LANE_COLOURS = {  # each at least 4.5:1 against white
    "classify": "#5b3f99", "evidence": "#0b6e4f", "heuristic": "#7a5000", "route": "#1f5f99",
    "engineering": "#99351f", "caution": "#a0004a", "constraint": "#444444", "other": "#555555",
}
ROW = 24
LANE = 20
LABEL_X = 20 + LANE * len(STAGES) + 8


def _rule_meta(rule_id: str):
    try:
        from ..rules import RULES
    except Exception:  # pragma: no cover - rules being rewritten
        return None
    return RULES.get(rule_id)


def _stage(rule_id: str) -> str:
    meta = _rule_meta(rule_id)
    stage = getattr(meta, "stage", None)
    return stage if stage in STAGES else "other"


def _desc(rule_id: str) -> str:
    return getattr(_rule_meta(rule_id), "description", "") or ""


def _e(x) -> str:
    return escape(str(x), quote=True)


# ------------------------------------------------------------------------------------------
# facts in words


def _fact_gloss(kb: Knowledge, fid: str, groups: dict[str, list[str]]) -> str:
    """A few words on what a fact id stands for (the id itself is always shown too); ``groups``:
    disease fact id -> the diseases it stands for."""
    kind, _, rest = fid.partition(":")
    parts = rest.split(":")
    if kind in ("disease", "relation") and rest in groups and groups[rest] != [rest]:
        names = [kb.diseases[d]["name"] if d in kb.diseases else d for d in groups[rest]]
        what = "a group of diseases every rule treats alike" if kind == "disease" else "how this group relates to the query"
        return f"{what}: {', '.join(names)}"
    if kind in ("disease", "relation") and rest in kb.diseases:
        name = kb.diseases[rest]["name"]
        return name if kind == "disease" else f"how {name} relates to the query"
    if kind == "contribution" and len(parts) >= 3:
        return f"support for {parts[0]} {parts[1]} by rule {parts[2]}" + (f" from {parts[3]}" if len(parts) > 3 and parts[3] else "")
    if kind == "ev" and rest in kb.evidence:
        ev = kb.evidence[rest]
        d = kb.diseases.get(ev["disease"], {}).get("name", ev["disease"])
        return f"evidence: {ev['source']} {ev['vesicle']}, {ev['model']}, {ev['species']} donor, {d} ({ev['direction']})"
    if kind == "caution":
        return f"caution {parts[0]}" + (f" on {parts[1]}" if len(parts) > 1 and parts[1] else "")
    if kind == "exclusion" and len(parts) >= 2:
        return f"{parts[0]} {parts[1]} is excluded"
    if kind == "query":
        return "the question asked"
    return ""


def _fact_li(kb: Knowledge, fid: str, derived_at: dict[str, int], groups: dict[str, list[str]]) -> str:
    gloss = _fact_gloss(kb, fid, groups)
    where = ""
    if fid in derived_at:
        n = derived_at[fid]
        where = f' <span class="muted">(derived at <a href="#step-{n}">step {n}</a>)</span>'
    g = f" <span class=\"muted\">{_e(gloss)}</span>" if gloss else ""
    return f"<li><code>{_e(fid)}</code>{g}{where}</li>"


# ------------------------------------------------------------------------------------------
# certainty arithmetic


def combine_steps(cfs: list[float]) -> tuple[float, list[str]]:
    """MYCIN combination written out step by step: the scorer's own (advisor.scoring.combine)."""
    from ..advisor.scoring import combine

    return combine(cfs)


def _contribution_index(adv: Advice) -> dict[tuple[str, str, str, str], tuple]:
    out = {}
    for axis in AXES:
        for r in adv.recs[axis]:
            for c in r.support:
                ev = c.evidence[0] if c.evidence else ""
                out[(axis_of[axis], r.id, c.rule, ev)] = (r, c)
    return out


def _weights_used(kb: Knowledge, axis: str, rec, c) -> str:
    w = kb.weights
    parts = []
    if c.evidence and c.evidence[0] in kb.evidence:
        ev = kb.evidence[c.evidence[0]]
        for grp, key in (("model", ev["model"]), ("species", ev["species"]), ("vesicle", ev["vesicle"])):
            if key in w.get(grp, {}):
                parts.append(f"{grp} {key} {w[grp][key]:.2f}")
        tier = getattr(c, "tier", None)
        if tier is not None and str(tier) in w.get("tier", {}):
            parts.append(f"tier {tier} {w['tier'][str(tier)]:.2f}")
        if axis == "source" and ev["source"] != rec.id and "source_rollup" in w:
            parts.append(f"source roll-up {w['source_rollup']:.2f}")
    if c.rule in (w.get("rules") or {}):
        parts.append(f"rule strength {w['rules'][c.rule]:.2f}")
    return " x ".join(parts)


# ------------------------------------------------------------------------------------------
# the graph


def _graph_svg(adv: Advice) -> str:
    steps = adv.trace
    n = len(steps)
    derived_at: dict[str, int] = {}
    rows = []  # (row index, step id, label, lane)
    rows.append((0, "facts", "facts asserted", None))
    for i, s in enumerate(steps, 1):
        rows.append((i, f"step-{s['step']}", f"{s['step']}. {s['rule']}", _stage(s["rule"])))
    rows.append((n + 1, "ranking", "final ranking", None))
    height = ROW * (n + 2) + 16
    width = LABEL_X + 300
    row_of = {sid: r for r, sid, _, _ in rows}

    def xy(row: int, lane: str | None) -> tuple[int, int]:
        x = 20 + LANE * STAGES.index(lane) + LANE // 2 if lane in STAGES else 20 + (LANE * len(STAGES)) // 2
        if lane == "other":
            x = 20 + LANE * len(STAGES) - LANE // 2
        return x, 8 + row * ROW + ROW // 2

    lane_of = {sid: lane for _, sid, _, lane in rows}
    edges = []
    for s in steps:
        target = f"step-{s['step']}"
        for m in s["matched"]:
            if m in derived_at:  # facts asserted from outside are not links of the chain
                edges.append((f"step-{derived_at[m]}", target))
        for a in s["asserted"]:
            derived_at.setdefault(a, s["step"])
    supports = sorted({s["step"] for s in steps if any(a.startswith("support:") for a in s["asserted"])})
    for st in supports:
        edges.append((f"step-{st}", "ranking"))
    seen = set()
    out = [f'<svg id="chain" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chain-title chain-desc">',
           f'<title id="chain-title">The chain of rule firings for {_e(adv.resolution.name)}</title>',
           f'<desc id="chain-desc">One row per step, in firing order; a column per rule stage; an edge goes '
           f'from the step that derived a fact to each later step that matched it. {n} firings.</desc>']
    out.append('<g class="edges" fill="none">')
    for a, b in edges:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        x1, y1 = xy(row_of[a], lane_of[a])
        x2, y2 = xy(row_of[b], lane_of[b])
        my = (y1 + y2) / 2
        out.append(f'<path class="edge" data-from="{a}" data-to="{b}" '
                   f'd="M{x1},{y1} C{x1},{my:.0f} {x2},{my:.0f} {x2},{y2}"/>')
    out.append("</g>")
    for r, sid, label, lane in rows:
        x, y = xy(r, lane)
        colour = LANE_COLOURS.get(lane or "other", "#333333")
        shape = (f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" fill="{colour}"/>' if lane is None
                 else f'<circle cx="{x}" cy="{y}" r="6" fill="{colour}"/>')
        out.append(f'<a class="node" href="#{sid}" data-target="{sid}" aria-label="Go to {_e(label)}">'
                   f'<rect class="band" x="0" y="{y - ROW // 2}" width="{width}" height="{ROW}"/>'
                   f'{shape}<text x="{LABEL_X}" y="{y + 4}">{_e(label)}</text></a>')
    out.append("</svg>")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# the page


CSS = """
:root { --ink: #1a1a1a; --muted: #4a4a4a; --paper: #ffffff; --link: #0b55a0; --band: #f3f5f8; --hl: #fff1b8; }
* { box-sizing: border-box; }
html { font-size: 17px; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--paper); line-height: 1.45; }
header, footer { padding: 0.8rem 1.5rem; }
header { border-bottom: 1px solid #c8ccd2; }
h1 { font-size: 1.55rem; margin: 0 0 0.3rem; }
h2 { font-size: 1.25rem; margin: 0.2rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 0.9rem 0 0.3rem; }
a { color: var(--link); }
a:focus-visible, button:focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.88em; background: var(--band);
       padding: 0 0.2em; border-radius: 3px; color: var(--ink); }
.muted { color: var(--muted); }
.disclaimer { color: var(--muted); font-size: 0.9rem; margin: 0.3rem 0 0; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 560px; gap: 1.2rem; padding: 0.8rem 1.5rem; }
.controls { display: flex; align-items: center; gap: 0.8rem; position: sticky; top: 0; background: var(--paper);
            padding: 0.4rem 0; z-index: 1; }
button { font: inherit; font-size: 1rem; color: #ffffff; background: #0b55a0; border: 0; border-radius: 6px;
         padding: 0.45rem 1rem; cursor: pointer; }
button:disabled { background: #5d6b7a; cursor: default; }
#status { font-weight: 600; }
.hint { color: var(--muted); font-size: 0.9rem; margin: 0 0 0.5rem; }
section.step { border: 1px solid #c8ccd2; border-radius: 8px; padding: 0.7rem 1rem; margin: 0 0 1rem; }
section.step ul { margin: 0.2rem 0; padding-left: 1.3rem; }
section.step li { margin: 0.1rem 0; }
.rule-desc { font-size: 1.05rem; }
.cf { font-weight: 600; }
table { border-collapse: collapse; margin: 0.3rem 0 0.8rem; width: 100%; }
th, td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid #d5d9de; vertical-align: top; }
th { background: var(--band); }
.arith { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.82rem; color: var(--ink); }
aside.graph { position: sticky; top: 0; align-self: start; max-height: calc(100vh - 1rem); overflow: auto;
              border: 1px solid #c8ccd2; border-radius: 8px; padding: 0.5rem; }
.legend { display: flex; flex-wrap: wrap; gap: 0.2rem 0.8rem; font-size: 0.82rem; margin: 0 0 0.4rem;
          padding: 0; list-style: none; }
.legend span { display: inline-block; width: 0.7rem; height: 0.7rem; border-radius: 50%; margin-right: 0.25rem;
               vertical-align: middle; }
#chain text { font-size: 12px; fill: #1a1a1a; font-family: "DejaVu Sans Mono", Consolas, monospace; }
#chain .band { fill: transparent; }
#chain .node:hover .band { fill: var(--band); }
#chain .node.current .band { fill: var(--hl); }
#chain .node.current text { font-weight: 700; }
#chain .node.current circle, #chain .node.current rect:not(.band) { stroke: #1a1a1a; stroke-width: 2; }
#chain .edge { stroke: #8a94a0; stroke-opacity: 0.45; stroke-width: 1; }
#chain .edge.active { stroke: #b3261e; stroke-opacity: 1; stroke-width: 2; }
@media (max-width: 1100px) { .layout { grid-template-columns: 1fr; } aside.graph { position: static; max-height: none; } }
@media print {
  html { font-size: 11pt; }
  .controls, .hint, .screen-only { display: none !important; }
  section.step[hidden] { display: block !important; }
  section.step { break-inside: avoid; page-break-inside: avoid; border-color: #999999; }
  .layout { display: block; padding: 0; }
  aside.graph { position: static; max-height: none; overflow: visible; border: 0; break-before: page; }
  #chain { width: 100%; height: auto; }
  #chain .edge { stroke: #666666; stroke-opacity: 0.6; }
  a { color: #000000; text-decoration: none; }
  body { color: #000000; }
}
"""

JS = """
(function () {
  'use strict';
  var steps = Array.prototype.slice.call(document.querySelectorAll('section.step'));
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');
  var status = document.getElementById('status');
  var graph = document.getElementById('graph');
  var nodes = Array.prototype.slice.call(document.querySelectorAll('#chain .node'));
  var edges = Array.prototype.slice.call(document.querySelectorAll('#chain .edge'));
  var current = 0;
  function indexOf(id) {
    for (var i = 0; i < steps.length; i++) { if (steps[i].id === id) { return i; } }
    return -1;
  }
  function show(i, initial) {
    i = Math.max(0, Math.min(steps.length - 1, i));
    current = i;
    var id = steps[i].id;
    steps.forEach(function (s, k) { s.hidden = (k !== i); });
    status.textContent = steps[i].getAttribute('data-label') + ' (' + (i + 1) + ' of ' + steps.length + ')';
    prev.disabled = (i === 0);
    next.disabled = (i === steps.length - 1);
    nodes.forEach(function (n) {
      var on = n.getAttribute('data-target') === id;
      n.classList.toggle('current', on);
      if (on) { n.setAttribute('aria-current', 'step'); } else { n.removeAttribute('aria-current'); }
      if (on && graph) {
        var top = n.getBoundingClientRect().top - graph.getBoundingClientRect().top + graph.scrollTop;
        graph.scrollTop = Math.max(0, top - graph.clientHeight / 2);
      }
    });
    edges.forEach(function (e) {
      e.classList.toggle('active', e.getAttribute('data-to') === id || e.getAttribute('data-from') === id);
    });
    if (initial) { return; }
    if (location.hash !== '#' + id) {
      try { history.replaceState(null, '', '#' + id); } catch (err) { /* file: pages may refuse */ }
    }
    var bar = document.querySelector('.controls').getBoundingClientRect().bottom;
    var top = steps[i].getBoundingClientRect().top;
    if (top < bar) { window.scrollBy(0, top - bar - 8); }
  }
  prev.addEventListener('click', function () { show(current - 1); });
  next.addEventListener('click', function () { show(current + 1); });
  document.addEventListener('keydown', function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var t = ev.target && ev.target.tagName;
    if (t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT') { return; }
    if (ev.key === 'ArrowRight') { show(current + 1); ev.preventDefault(); }
    else if (ev.key === 'ArrowLeft') { show(current - 1); ev.preventDefault(); }
    else if (ev.key === 'Home') { show(0); ev.preventDefault(); }
    else if (ev.key === 'End') { show(steps.length - 1); ev.preventDefault(); }
  });
  window.addEventListener('hashchange', function () {
    var i = indexOf(location.hash.slice(1));
    if (i >= 0 && i !== current) { show(i); }
  });
  document.documentElement.classList.add('js');
  var start = indexOf(location.hash.slice(1));
  show(start >= 0 ? start : 0, true);
})();
"""


def _facts_section(kb: Knowledge, adv: Advice, total: int) -> str:
    res = adv.resolution
    derived = {a for s in adv.trace for a in s["asserted"]}
    groups = {f["disease"]: f["members"] for f in adv.facts if f["kind"] == "disease"}
    inputs: list[str] = []
    for s in adv.trace:
        for m in s["matched"]:
            if m not in derived and m not in inputs:
                inputs.append(m)
    cons = {k: v for k, v in adv.constraints.as_json().items() if v}
    out = [f'<section class="step" id="facts" data-step="0" data-label="Facts asserted" aria-labelledby="h-facts">',
           f'<h2 id="h-facts"><a href="#facts">Step 0</a>: facts asserted</h2>',
           f"<p>The question <q>{_e(adv.text)}</q> was resolved to <strong>{_e(res.name)}</strong> "
           f"(<code>{_e(res.id)}</code>, matched by {_e(res.matched_by)}). "
           f"Constraints: {_e(', '.join(f'{k}={v}' for k, v in cons.items()) or 'none')}.</p>",
           f"<p>The advisor asserted {getattr(adv, 'facts_asserted', len(inputs))} facts for this query: the query, "
           f"the disease and its relatives, the evidence that could match, routes and engineering options. "
           f"Then the rules fired {total} times, in the order shown step by step. "
           f"These {len(inputs)} asserted facts were matched by some rule:</p>",
           "<ul>", *(_fact_li(kb, f, {}, groups) for f in inputs), "</ul>",
           "</section>"]
    return "\n".join(out)


def _firing_section(kb: Knowledge, adv: Advice, s: dict, derived_at: dict[str, int], cindex: dict,
                    groups: dict[str, list[str]]) -> str:
    sid = f"step-{s['step']}"
    rule = s["rule"]
    stage = _stage(rule)
    out = [f'<section class="step" id="{sid}" data-step="{s["step"]}" data-rule="{_e(rule)}" '
           f'data-label="Step {s["step"]}: {_e(rule)}" aria-labelledby="h-{sid}">',
           f'<h2 id="h-{sid}"><a href="#{sid}">Step {s["step"]}</a>: rule <code>{_e(rule)}</code> '
           f'<span class="muted">({_e(stage)})</span></h2>']
    desc = _desc(rule)
    if desc:
        out.append(f'<p class="rule-desc">{_e(desc)}</p>')
    meta = _rule_meta(rule)
    conds = getattr(meta, "conditions", ()) or ()
    if conds:
        out.append("<h3>If</h3><ul>" + "".join(f"<li>{_e(c)}</li>" for c in conds) + "</ul>")
    out.append("<h3>Matched facts</h3><ul>")
    out += [_fact_li(kb, m, derived_at, groups) for m in s["matched"]]
    out.append("</ul><h3>Derived</h3>")
    if s["asserted"]:
        out.append("<ul>")
        for a in s["asserted"]:
            li = _fact_li(kb, a, {}, groups)
            if a.startswith("contribution:"):
                parts = (a.split(":") + [""])[:5]  # contribution:AXIS:ITEM:RULE:EVIDENCE
                hit = cindex.get((parts[1], parts[2], parts[3], parts[4]))
                if hit:
                    rec, c = hit
                    tier = getattr(c, "tier", None)
                    used = _weights_used(kb, parts[1], rec, c)
                    extra = (f' <span class="cf">CF {c.cf:+.3f}</span>'
                             + (f", tier {tier}" if tier is not None else "")
                             + (f' <span class="muted">(weights used: {_e(used)})</span>' if used else ""))
                    li = li[:-5] + extra + "</li>"
            out.append(li)
        out.append("</ul>")
    else:
        out.append("<p>Nothing new: every conclusion of this firing was already known.</p>")
    if s.get("retracted"):
        out.append("<h3>Retracted</h3><ul>" + "".join(f"<li><code>{_e(r)}</code></li>" for r in s["retracted"]) + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def _ranking_section(kb: Knowledge, adv: Advice, stability: dict | None) -> str:
    out = ['<section class="step" id="ranking" data-step="final" data-label="Final ranking" aria-labelledby="h-ranking">',
           '<h2 id="h-ranking"><a href="#ranking">Final ranking</a></h2>',
           "<p>Candidates are ordered by tier (lower is stronger), then the reviews' comparisons, then the "
           "certainty score, then id. Each score combines the certainty factors (CF) of its contributions as "
           "MYCIN did: two positives a, b give a + b(1 - a).</p>"]
    for axis in AXES:
        out.append(f"<h3>{TITLES[axis]}</h3>")
        recs = adv.recs[axis]
        if not recs:
            out.append("<p>No candidates.</p>")
            continue
        extra = "<th scope=\"col\">stability</th>" if stability else ""
        out.append(f'<table><thead><tr><th scope="col">#</th><th scope="col">id</th><th scope="col">score</th>'
                   f'<th scope="col">tier</th><th scope="col">level</th>{extra}<th scope="col">arithmetic</th></tr></thead><tbody>')
        for r in recs:
            cfs = [c.cf for c in r.support]
            _, lines = combine_steps(cfs)
            contrib = [f"{c.rule} {c.cf:+.3f}" + (f" ({', '.join(c.evidence)})" if c.evidence else "") for c in r.support]
            arith = "<br>".join(_e(x) for x in contrib + lines)
            st = ""
            if stability:
                from .whatif import stability_words

                st = f"<td>{_e(stability_words(stability.get((axis, r.id)), r.rank))}</td>"
            tier = getattr(r, "tier", None)
            out.append(f"<tr><td>{r.rank}</td><td><code>{_e(r.id)}</code> {_e(r.name)}</td>"
                       f'<td class="cf">{r.score:.3f}</td><td>{"-" if tier is None else tier}</td>'
                       f"<td>{_e(r.level or '-')}</td>{st}<td class=\"arith\">{arith}</td></tr>")
        out.append("</tbody></table>")
    if adv.cautions:
        out.append("<h3>Cautions</h3><ul>" + "".join(f"<li><strong>{_e(c['id'])}</strong>: {_e(c['text'])}</li>"
                                                     for c in adv.cautions) + "</ul>")
    if adv.excluded:
        out.append("<h3>Excluded</h3><ul>" + "".join(
            f"<li>{_e(x['axis'])} <code>{_e(x['id'])}</code>: {_e(x['reason'])} (rule <code>{_e(x['rule'])}</code>)</li>"
            for x in adv.excluded) + "</ul>")
    if adv.references:
        out.append("<h3>References</h3><ul>")
        for k, ref in adv.references.items():
            out.append(f"<li><code>{_e(k)}</code>: {_e(ref['authors'])}. {_e(ref['title'])}. "
                       f"<em>{_e(ref['journal'])}</em> {_e(ref['year'])}.</li>")
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def explain_html(kb: Knowledge, adv: Advice, stability: dict | None = None) -> str:
    """The whole page as one string (deterministic: the same consultation gives the same bytes).

    ``stability`` optionally maps (axis, id) to the stability JSON of :mod:`msc_ev.advisor.stability`.
    """
    res = adv.resolution
    derived_at: dict[str, int] = {}
    for s in adv.trace:
        for a in s["asserted"]:
            derived_at.setdefault(a, s["step"])
    cindex = _contribution_index(adv)
    sections = [_facts_section(kb, adv, len(adv.trace))]
    groups = {f["disease"]: f["members"] for f in adv.facts if f["kind"] == "disease"}
    sections += [_firing_section(kb, adv, s, derived_at, cindex, groups) for s in adv.trace]
    sections.append(_ranking_section(kb, adv, stability))
    lanes = [st for st in STAGES if any(_stage(s["rule"]) == st for s in adv.trace)]
    legend = "".join(f'<li><span style="background:{LANE_COLOURS[st]}"></span>{st}</li>' for st in lanes)
    title = f"How the advisor reasoned: {res.name}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
        f"<p>Forward chaining, one rule firing at a time: {len(adv.trace)} firings for the question "
        f"<q>{_e(adv.text)}</q>.<span class=\"screen-only\"> Step with the buttons or the left and right arrow keys; "
        "every step has its own link.</span></p>",
        f'<p class="disclaimer">{_e(adv.disclaimer)}</p>',
        "</header>",
        '<main class="layout">',
        '<div class="stepper">',
        '<nav class="controls" aria-label="Step through the consultation">',
        '<button type="button" id="prev" aria-label="Previous step" aria-keyshortcuts="ArrowLeft">&larr; Previous</button>',
        '<span id="status" role="status" aria-live="polite">All steps</span>',
        '<button type="button" id="next" aria-label="Next step" aria-keyshortcuts="ArrowRight">Next &rarr;</button>',
        "</nav>",
        '<p class="hint">Keys: &larr; and &rarr; step, Home and End jump to the start and the end. '
        "Click a row of the graph to jump to that step.</p>",
        *sections,
        "</div>",
        '<aside class="graph" id="graph" aria-labelledby="h-graph">',
        '<h2 id="h-graph">The chain as a graph</h2>',
        f'<ul class="legend" aria-label="Rule stages">{legend}</ul>',
        _graph_svg(adv),
        "</aside>",
        "</main>",
        f'<footer><p class="disclaimer">{_e(adv.disclaimer)}</p></footer>',
        f"<script>{JS}</script>",
        "</body>",
        "</html>",
        "",
    ])


__all__ = ["combine_steps", "explain_html"]
