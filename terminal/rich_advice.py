"""The Rich view of one advice for the terminal: a table per axis, cautions, the disclaimer.

Every piece of data shown through Rich markup is escaped. Rich is imported only by the functions
that draw with it. Table cells fold (wrap) rather than cut ids and citations, whatever the terminal
width. The text formats (JSON, Markdown) are :mod:`msc_ev.views.render`.
"""

from __future__ import annotations

from ..advisor.consult import AXES, Advice
from ..advisor.scoring import words
from ..advisor.text import TITLES, cite_label, short_cite  # noqa: F401
from ..views.render import _key_citations


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
