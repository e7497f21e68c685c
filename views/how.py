"""How: views of the whole chain of a consultation as text (Markdown, Mermaid, DOT) and the parts
the Rich tree and the step-through (:mod:`msc_ev.terminal.rich_how`) are drawn from.

The chain itself is the trace the engine recorded (``Advice.trace``); these functions only render it.
"""

from __future__ import annotations

from ..advisor.axes import AXIS_OF as axis_of
from ..advisor.consult import AXES, DISCLAIMER, Advice
from ..advisor.echo import inert, markdown_text
from ..advisor.kb import Knowledge
from .render import TITLES
from ..advisor.scoring import words


def _desc(rule_id: str) -> str:
    from ..rules import RULES

    return RULES[rule_id].description if rule_id in RULES else ""


def _derived_groups(adv: Advice) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for s in adv.trace:
        for a in s["asserted"]:
            groups.setdefault(a.split(":", 1)[0], []).append(a)
    return groups


def _head_tree(kb: Knowledge, adv: Advice) -> list[tuple[str, list[str]]]:
    """(label, children) for what the reasoning starts from: the query, the disease, the constraints.

    Nothing derived is shown here: each derived fact appears under the firing that derived it."""
    res = adv.resolution
    cons = {k: v for k, v in adv.constraints.as_json().items() if v}
    return [(f"Query: {adv.text!r}", []),
            (f"Resolved disease: {res.name} ({res.id}), matched by {res.matched_by}",
             ([f"ICD-10-CM {res.icd10cm}, block {res.icd_block}, chapter {res.icd_chapter}"] if not res.curated else [])
             + [f"note: {n}" for n in res.notes]),
            ("Constraints: " + (", ".join(f"{k}={v}" for k, v in cons.items()) if cons else "none"), []),
            ("Disease profile", [f"organ system: {res.organ}", f"processes: {', '.join(res.processes) or '-'}",
                                 f"populations: {', '.join(res.populations) or '-'}"])]


def _derived_tree(adv: Advice) -> list[tuple[str, list[str]]]:
    """What the firings concluded about the disease itself: relatives, what was not transferred, populations."""
    parts = []
    if adv.relations:
        parts.append(("Relatives (derived)", [
            f"{r['disease']} ({r['basis']}: {r['how']}"
            + (f"; one firing for the group {r['group']})" if r.get("group", r["disease"]) != r["disease"] else ")")
            for r in adv.relations]))
    blocked = [b for b in adv.blocked if b["axis"] == "disease"]
    if blocked:
        parts.append(("Not transferred (derived)", [f"{b['item']} ({b['rule']}: {b['reason']})" for b in blocked]))
    if adv.populations:
        parts.append(("Populations (derived)", [f"{p['population']} (from the {p['via']})" for p in adv.populations]))
    return parts


def _firing_lines(step: dict) -> tuple[str, list[str]]:
    """A firing, then what it derived."""
    label = f"{step['step']}. {step['rule']}: {_desc(step['rule'])}"
    kids = [f"matched: {', '.join(step['matched'])}",
            f"derived: {', '.join(step['asserted'])}" if step["asserted"] else "derived: nothing new"]
    return label, kids


def steps_json(adv: Advice) -> list[dict]:
    """The firings in order, each with what it matched and then what it derived."""
    return [{"step": s["step"], "rule": s["rule"], "description": _desc(s["rule"]), "matched": list(s["matched"]),
             "derived": list(s["asserted"])} for s in adv.trace]


def _tail_tree(kb: Knowledge, adv: Advice, top: int | None = None) -> list[tuple[str, list[str]]]:
    parts = _derived_tree(adv)
    groups = _derived_groups(adv)
    parts.append((f"Derived facts ({sum(len(v) for v in groups.values())})",
                  [f"{k}: {len(v)}" for k, v in groups.items()] or ["none"]))
    for axis in AXES:
        recs = adv.recs[axis][:top] if top else adv.recs[axis]
        kids = [f"{r.rank}. {r.id} tier {r.tier}, {r.score:.3f} ({words(r.score)}; {r.level or '-'}; "
                f"{len(r.support)} contribution{'s' if len(r.support) != 1 else ''})" for r in recs] or ["no candidates"]
        if len(adv.recs[axis]) > len(recs):
            kids.append(f"... {len(adv.recs[axis]) - len(recs)} more")
        parts.append((f"Ranking: {TITLES[axis]}", kids))
    if adv.excluded:
        parts.append(("Excluded", [f"{x['axis']} {x['id']}: {x['reason']} ({x['rule']})" for x in adv.excluded]))
    if adv.cautions:
        parts.append(("Cautions", [f"{c['id']}: {c['text']}" for c in adv.cautions]))
    return parts


def explain_markdown(kb: Knowledge, adv: Advice) -> str:
    lines = [f"# How the advice for {adv.resolution.name} was reached", "", f"> _{DISCLAIMER}_", ""]
    for head, kids in _head_tree(kb, adv):
        lines.append(f"- **{head}**")
        lines += [f"  - {k}" for k in kids]
    lines += ["", f"## Rule firings, in order ({len(adv.trace)})", ""]
    for step in adv.trace:
        label, kids = _firing_lines(step)
        num, rest = label.split(". ", 1)
        rule, desc = rest.split(": ", 1)
        lines.append(f"{num}. `{rule}`: {desc}")
        lines += [f"   - {k}" for k in kids]
    lines += ["", "## Result", ""]
    for head, kids in _tail_tree(kb, adv):
        lines.append(f"- **{head}**")
        lines += [f"  - {k}" for k in kids]
    lines += ["", f"_{DISCLAIMER}_", ""]
    return "\n".join(markdown_text(line) for line in lines)  # every line inert, its HTML literal


def _graph(adv: Advice):
    """Nodes and edges of the reasoning graph: facts -> firing -> facts -> ranked items."""
    nodes: dict[str, tuple[str, str]] = {}  # fact id -> (node id, kind: input|derived|rule|item)
    edges: list[tuple[str, str]] = []
    derived = {a for s in adv.trace for a in s["asserted"]}

    def node(fid: str, kind: str) -> str:
        if fid not in nodes:
            nodes[fid] = (f"n{len(nodes)}", kind)
        return nodes[fid][0]

    for s in adv.trace:
        r = node(f"{s['step']}. {s['rule']}", "rule")
        for m in s["matched"]:
            edges.append((node(m, "derived" if m in derived else "input"), r))
        for a in s["asserted"]:
            edges.append((r, node(a, "derived")))
    scores = {(r.axis, r.id): r for axis in AXES for r in adv.recs[axis]}
    excluded = {(x["axis"], x["id"]) for x in adv.excluded}
    for fid in list(nodes):
        if fid.startswith("contribution:"):
            _, ax, item = fid.split(":", 3)[:3]
            rec = scores.get((axis_of[ax], item))
            label = (f"{ax} {item}: rank {rec.rank}, tier {rec.tier}, score {rec.score:.3f}" if rec
                     else f"{ax} {item}: excluded" if (ax, item) in excluded else f"{ax} {item}")
            edges.append((nodes[fid][0], node(label, "item")))
    return nodes, edges


def explain_mermaid(kb: Knowledge, adv: Advice) -> str:
    nodes, edges = _graph(adv)
    shape = {"input": ('["', '"]'), "derived": ('("', '")'), "rule": ('[["', '"]]'), "item": ('{{"', '"}}')}
    lines = [f"%% Reasoning graph for {inert(adv.resolution.name)} ({inert(adv.resolution.id)}). {DISCLAIMER}",
             "flowchart LR"]
    for fid, (nid, kind) in nodes.items():
        a, b = shape[kind]
        label = inert(fid).replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
        lines.append(f"  {nid}{a}{label}{b}:::{kind}")
    for x, y in edges:
        lines.append(f"  {x} --> {y}")
    lines += ["  classDef input fill:#eeeeee,stroke:#999999", "  classDef derived fill:#e8f4ff,stroke:#3377aa",
              "  classDef rule fill:#fff4d6,stroke:#aa8800", "  classDef item fill:#e6ffe6,stroke:#338833", ""]
    return "\n".join(lines)


def explain_dot(kb: Knowledge, adv: Advice) -> str:
    nodes, edges = _graph(adv)
    shape = {"input": "box", "derived": "ellipse", "rule": "box3d", "item": "hexagon"}
    esc = lambda s: inert(s).replace("\\", "\\\\").replace('"', '\\"')  # noqa: E731
    lines = [f"// Reasoning graph for {inert(adv.resolution.name)} ({inert(adv.resolution.id)}). {DISCLAIMER}",
             "digraph reasoning {", "  rankdir=LR;", "  node [fontsize=10];"]
    for fid, (nid, kind) in nodes.items():
        lines.append(f'  {nid} [label="{esc(fid)}", shape={shape[kind]}];')
    for x, y in edges:
        lines.append(f"  {x} -> {y};")
    lines += ["}", ""]
    return "\n".join(lines)


__all__ = ["steps_json", "explain_dot", "explain_markdown", "explain_mermaid", ]
