"""Rendering advice: JSON (the contract), Markdown, and a Rich view for the terminal.

Every piece of data shown through Rich markup is escaped. The disclaimer is in every format.
"""

from __future__ import annotations

import json

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .consult import AXES, Advice
from .scoring import words

from .text import TITLES, cite_label, short_cite  # noqa: F401  (re-exported for the views)


def to_json(obj) -> str:
    """Deterministic JSON: sorted keys where we do not control order, fixed separators."""
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _key_citations(rec) -> list[str]:
    """The recommendation's key citation (from its strongest tier 1-3 contribution; else the review)."""
    return [rec.key_citation] if rec.key_citation else []


def markdown(kb, adv: Advice, top: int | None = None) -> str:
    res = adv.resolution
    lines = [f"# MSC-EV advice: {res.name}", ""]
    lines.append(f"Query: `{adv.text}` -> `{res.id}` (matched by {res.matched_by})")
    cons = adv.constraints.as_json()
    active = {k: v for k, v in cons.items() if v}
    if active:
        lines.append("Constraints: " + ", ".join(f"{k}={v}" for k, v in active.items()))
    lines += ["", f"> {adv.disclaimer}", ""]
    for axis in AXES:
        lines += [f"## {TITLES[axis]}", ""]
        recs = adv.recs[axis][:top] if top else adv.recs[axis]
        if not recs:
            lines += ["_No candidates._", ""]
            continue
        lines += ["| # | id | name | tier | score | level | key citation |", "|---|---|---|---|---|---|---|"]
        for r in recs:
            cites = "; ".join(cite_label(kb, k) for k in _key_citations(r))
            lines.append(f"| {r.rank} | `{r.id}` | {r.name} | {r.tier} ({r.basis}) | {r.score:.3f} | {r.level or '-'} | {cites} |")
        lines.append("")
    if adv.context:
        lines += ["## Context (not evidence of efficacy)", ""]
        lines += [f"- {c['kind']}: {c['text']}" for c in adv.context]
        lines.append("")
    if adv.cautions:
        lines += ["## Cautions", ""]
        lines += [f"- **{c['id']}**: {c['text']}" for c in adv.cautions]
        lines.append("")
    if adv.excluded:
        lines += ["## Excluded", ""]
        lines += [f"- {x['axis']} `{x['id']}`: {x['reason']} (rule `{x['rule']}`)" for x in adv.excluded]
        lines.append("")
    lines += ["## References", ""]
    for k in adv.references:
        ref = adv.references[k]
        lines.append(f"- `{k}`: {ref['authors']} {ref['title']}. {ref['journal']} {ref['year']}. ({cite_label(kb, k)})")
    lines += ["", f"_{adv.disclaimer}_", ""]
    return "\n".join(lines)


def rich_view(kb, adv: Advice, top: int | None = 5):
    res = adv.resolution
    parts = []
    head = Text.assemble(("MSC-EV advice: ", "bold"), (res.name, "bold cyan"),
                         f"  ({res.id}, matched by {res.matched_by})")
    parts.append(head)
    cons = {k: v for k, v in adv.constraints.as_json().items() if v}
    if cons:
        parts.append(Text("constraints: " + ", ".join(f"{k}={v}" for k, v in cons.items()), style="dim"))
    for axis in AXES:
        table = Table(title=TITLES[axis], title_justify="left", expand=False, show_lines=False)
        table.add_column("#", justify="right")
        table.add_column("id", no_wrap=True)
        table.add_column("tier", justify="right")
        table.add_column("score", justify="right")
        table.add_column("certainty")
        table.add_column("level")
        table.add_column("key citation")
        recs = adv.recs[axis][:top] if top else adv.recs[axis]
        for r in recs:
            style = "red" if r.score < 0 else None
            table.add_row(str(r.rank), escape(r.id), str(r.tier), f"{r.score:.3f}", words(r.score),
                          escape(r.level or "-"),
                          escape("; ".join(short_cite(kb, k) for k in _key_citations(r))), style=style)
        if not recs:
            table.add_row("-", "no candidates", "", "", "", "", "")
        more = len(adv.recs[axis]) - len(recs)
        if more > 0:
            table.caption = f"{more} more: --top 0 shows all"
        parts.append(table)
    if adv.context:
        parts.append(Text("Context (not evidence of efficacy)", style="bold"))
        for cx in adv.context:
            parts.append(Text(f"  - {cx['kind']}: {cx['text']}"))
    if adv.cautions:
        parts.append(Text("Cautions", style="bold yellow"))
        for cj in adv.cautions:
            parts.append(Text.assemble("  ! ", (cj["id"], "yellow"), ": ", cj["text"]))
    if adv.excluded:
        parts.append(Text("Excluded", style="bold"))
        for x in adv.excluded:
            parts.append(Text(f"  - {x['axis']} {x['id']}: {x['reason']} ({x['rule']})"))
    parts.append(Text("Why? msc-ev why DISEASE ITEM   How? msc-ev explain DISEASE", style="dim"))
    parts.append(Panel(Text(adv.disclaimer), style="dim", expand=False))
    return Group(*parts)


def print_rich(kb, adv: Advice, console: Console, top: int | None = 5) -> None:
    console.print(rich_view(kb, adv, top))
