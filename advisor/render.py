"""Rendering advice: JSON (the contract), Markdown, and a Rich view for the terminal.

Every piece of data shown through Rich markup is escaped. The disclaimer is in every format.
Rich is imported only by the functions that draw with it, so a JSON or Markdown run never loads it.
Table cells fold (wrap) rather than cut ids and citations, whatever the terminal width.
"""

from __future__ import annotations

import json

from .consult import AXES, Advice
from .scoring import words

from .text import TITLES, cite_label, short_cite  # noqa: F401  (re-exported for the views)


def to_json(obj) -> str:
    """Deterministic JSON: sorted keys where we do not control order, fixed separators.

    orjson writes the same bytes as ``json.dumps(obj, indent=2, ensure_ascii=False)`` for what the
    advisor outputs (a test compares both on every curated disease) about 30x faster (1.4 ms of a
    one-shot advice); what it refuses (a lone surrogate from an undecodable argument, a huge int)
    goes through the standard encoder, as before."""
    try:
        import orjson

        return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    except (ImportError, TypeError, ValueError):
        return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _key_citations(rec) -> list[str]:
    """The recommendation's key citation (from its strongest tier 1-3 contribution; else the review)."""
    return [rec.key_citation] if rec.key_citation else []


def markdown(kb, adv: Advice, top: int | None = None) -> str:
    res = adv.resolution
    lines = [f"# MSC-EV advice: {res.name}", ""]
    lines.append(f"Query: `{adv.text}` -> `{res.id}` (matched by {res.matched_by})")
    for n in res.notes:
        lines.append(f"Read as: {n}")
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
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    res = adv.resolution
    parts = []
    head = Text.assemble(("MSC-EV advice: ", "bold"), (res.name, "bold cyan"),
                         f"  ({res.id}, matched by {res.matched_by})")
    parts.append(head)
    for n in res.notes:  # a match that is not verbatim is never silent
        parts.append(Text(f"read as: {n}", style="yellow"))
    cons = {k: v for k, v in adv.constraints.as_json().items() if v}
    if cons:
        parts.append(Text("constraints: " + ", ".join(f"{k}={v}" for k, v in cons.items()), style="dim"))
    for axis in AXES:
        parts.append(AxisTable(kb, adv, axis, top))
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
    parts.append(Text("Why? msc-ev why DISEASE ID   How? msc-ev explain DISEASE", style="dim"))
    parts.append(Panel(Text(adv.disclaimer), style="dim", expand=False))
    return Group(*parts)


class AxisTable:
    """One axis as a Rich table that fits the console: the full layout when it fits, else a compact
    one (certainty and level in one column, no vertical rules). Cells fold (wrap) rather than cut
    ids and citations; ids are never split while a whole id fits."""

    def __init__(self, kb, adv: Advice, axis: str, top: int | None):
        self.kb, self.adv, self.axis, self.top = kb, adv, axis, top

    def rows(self):
        recs = self.adv.recs[self.axis][:self.top] if self.top else self.adv.recs[self.axis]
        return [(str(r.rank), r.id, str(r.tier), f"{r.score:.3f}", words(r.score), r.level or "-",
                 "; ".join(short_cite(self.kb, k) for k in _key_citations(r)), r.score < 0) for r in recs]

    def table(self, width: int):
        from rich import box
        from rich.markup import escape
        from rich.table import Table

        rows = self.rows()
        wid = lambda i, floor: max([floor, *(len(r[i]) for r in rows)])  # noqa: E731
        num, ident, tier, score, cert, level, cite = (wid(0, 1), wid(1, 2), 4, wid(3, 5), wid(4, 9), wid(5, 5),
                                                      wid(6, 12))
        # Column widths are set here (Rich's own shrinking can overflow when ids are long): the full
        # layout has 7 columns (14 cells of padding and 8 rules), the compact one 6 (12 and 7).
        full = 22 + num + ident + tier + score + cert + level
        compact = not rows or full + min(cite, 16) > width  # compact: the tier goes under the score
        table = Table(title=TITLES[self.axis], title_justify="left", expand=False, show_lines=False,
                      box=box.SIMPLE_HEAD if compact and rows else box.HEAVY_HEAD)
        if compact:
            mid = max(cert, level)
            score = max(score, 6)
            room = max(width - 16 - num - score - mid, 16)
            id_w = min(ident, max(room - 12, 8))
            cite_w = max(min(cite, room - id_w), 8)
        else:
            id_w, cite_w = ident, min(cite, width - full)
        table.add_column("#", justify="right", no_wrap=True, width=num)
        table.add_column("id", overflow="fold", width=id_w)
        if not compact:
            table.add_column("tier", justify="right", no_wrap=True, width=tier)
        table.add_column("score", justify="right", no_wrap=not compact, width=score)
        if compact:
            table.add_column("certainty, level", overflow="fold", width=mid)
        else:
            table.add_column("certainty", overflow="fold", width=cert)
            table.add_column("level", overflow="fold", width=level)
        table.add_column("key citation", overflow="fold", width=cite_w)
        for rank, rid, tr, sc, cw, lv, ct, neg in rows:
            mid = [f"{cw}\n{escape(lv)}"] if compact else [cw, escape(lv)]
            lead = [f"{sc}\ntier {tr}"] if compact else [tr, sc]
            table.add_row(rank, escape(rid), *lead, *mid, escape(ct), style="red" if neg else None)
        if not rows:
            table.add_row("-", "no candidates", *([""] if compact else ["", ""]), *([""] if compact else ["", ""]), "")
        more = len(self.adv.recs[self.axis]) - len(rows)
        if more > 0:
            table.caption = f"{more} more: --top 0 shows all"
        return table

    def __rich_console__(self, console, options):
        yield self.table(options.max_width)


def print_rich(kb, adv: Advice, console, top: int | None = 5) -> None:
    console.print(rich_view(kb, adv, top))
