"""`msc-ev map [FILE]`: the evidence map of a disease list, and its gaps (the model and the file
formats are :mod:`msc_ev.views.evidence_map`; this module is the Typer command and the Rich view).

The Rich view fits the console: one panel per axis, split into as many panels as the width needs
(a panel holds the disease column and as many candidate columns as fit), so nothing is cut; long
names and ids wrap inside their cells. Every string from the knowledge base or the input reaches
Rich as a :class:`rich.text.Text` (never parsed as markup).
"""

from __future__ import annotations

from enum import Enum
from pathlib import PurePath
from typing import List, Optional

import typer

from ..advisor.errors import AdvisorError, UsageError
from .completion import complete_source
from .typer_options import CLINICAL, POPULATION, ROUTE, Command, constraints, resolved

TIER_STYLES = {1: "bold green", 2: "green", 3: "blue", 4: "bright_black", 5: "red"}
LEGEND = ("cell: tier and certainty score (tier 1 strongest, 4 transfer or reach only, 5 opposed only); "
          "* the #1 of its axis; blank: no support")


class MapFmt(str, Enum):
    rich = "rich"
    csv = "csv"
    svg = "svg"
    html = "html"


from .batch_command import InFmt  # noqa: E402  (the same input formats as batch)


class Group(str, Enum):
    organ = "organ"
    process = "process"


MAP_EXTENSIONS = {".csv": "csv", ".svg": "svg", ".html": "html", ".htm": "html", ".txt": "rich"}


def pick(given: str | None, output: str | None, gaps: bool) -> str:
    """The format: --format, else the extension of -o FILE, else rich; a contradiction is a usage error."""
    implied = None
    if output and output != "-":
        ext = PurePath(output).suffix.lower()
        implied = MAP_EXTENSIONS.get(ext)
        if implied is None and not given:
            raise UsageError(f"cannot tell the format from {output!r}; use --format rich|csv|svg|html "
                             "(or -o FILE.csv, .svg, .html, .txt)")
    if given and implied and given != implied:
        raise UsageError(f"--format {given} contradicts the extension of {output!r} ({implied}); "
                         "drop --format or change the file name")
    chosen = given or implied or "rich"
    if gaps and chosen not in ("rich", "csv"):
        raise UsageError(f"--gaps writes rich or csv, not {chosen} (the html page lists the gaps too)")
    return chosen


# ------------------------------------------------------------------------------------------
# the Rich view


def _cell(cell: dict | None, changed: bool) -> tuple[str, str | None]:
    """A cell's text and style: tier and score, * for the #1 of its axis, ! when an overlay changed it."""
    if not cell:
        return ("!" if changed else ""), None
    s = f"{cell['tier']} {cell['score']:.2f}" + ("*" if cell["rank"] == 1 else "") + ("!" if changed else "")
    return s, TIER_STYLES[cell["tier"]]


def _header(cid: str, width: int) -> list[str]:
    """An id as header lines ``width`` wide: split after its hyphens, a longer part broken with a hyphen."""
    pieces = cid.split("-")
    pieces = [p + "-" for p in pieces[:-1]] + pieces[-1:]
    lines, line = [], ""
    for piece in pieces:
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = ""
        line += piece
        while len(line) > width:
            lines.append(line[:width - 1] + "-")
            line = line[width - 1:]
    lines.append(line)
    return lines


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _panel(title: str, dw: int, cw: int, chunk, rows, names, cells, group_by):
    """One panel of the grid as one Text: drawn line by line (a Rich Table lays out every cell of a
    thousand-row map far slower), every line exactly as wide as the panel."""
    from rich.text import Text

    inner = dw + len(chunk) * (cw + 2) + 2  # " " + disease column + ("  " + cell) per column + " "
    t = Text()
    t.append("╭─ ")
    t.append(title)
    t.append(" " + "─" * max(0, inner - len(title) - 3) + "╮\n")
    heads = [_header(c.id, cw) for c in chunk]
    h = max(len(x) for x in heads)
    for i in range(h):
        t.append("│ ")
        t.append(("disease" if i == h - 1 else "").ljust(dw), style="bold")
        for x in heads:
            k = i - (h - len(x))  # bottom-aligned
            t.append("  ")
            t.append((x[k] if k >= 0 else "").ljust(cw), style="bold")
        t.append(" │\n")
    t.append("│ " + "─" * (inner - 2) + " │\n")
    last = None
    blank = " " * (len(chunk) * (cw + 2))
    for r, name in zip(rows, names):
        g = r.group(group_by)
        if group_by and g != last:
            for j, line in enumerate(_wrap(g, dw)):
                t.append("│ ")
                t.append(line.ljust(dw), style="italic")
                t.append(blank + " │\n")
            last = g
        for j, line in enumerate(_wrap(name, dw)):
            t.append("│ " + line.ljust(dw))
            if j == 0:
                for c in chunk:
                    text, style = cells[(r.row, c.id)]
                    t.append("  ")
                    t.append(text.ljust(cw), style=style)
            else:
                t.append(blank)
            t.append(" │\n")
    t.append("╰" + "─" * inner + "╯")
    return t


def map_view(m, width: int):
    """The map as Rich renderables for a console ``width`` columns wide (panels that fit it)."""
    from rich.console import Group as RGroup
    from rich.panel import Panel
    from rich.text import Text

    from ..advisor.consult import DISCLAIMER
    from ..views.evidence_map import AXIS_TITLES

    rows = m.mapped
    parts = [Text(f"MSC-EV evidence map: {len(rows)} disease{'s' if len(rows) != 1 else ''}", style="bold")]
    cons = {k: v for k, v in m.constraints.as_json().items() if v}
    if cons:
        parts.append(Text("constraints: " + ", ".join(f"{k}={v}" for k, v in cons.items()), style="dim"))
    legend = LEGEND
    if m.overlay:
        n = sum(len(r.changed) for r in rows)
        legend += f"; ! changed by the overlay {', '.join(m.overlay)} ({n} cell{'s' if n != 1 else ''})"
    parts.append(Text(legend, style="dim"))
    names = [r.disease_name or r.input for r in rows]
    for axis, acols in m.by_axis():
        if not acols or not rows:
            continue
        cells = {(r.row, c.id): _cell(r.cells.get(c.id), c.id in r.changed) for r in rows for c in acols}
        cw = max([len(t) for t, _ in cells.values()] + [10])  # "menstrual-", "5 -0.30*!"
        dw = max(8, min(24, max([len(n) for n in names] + [7]), width - 4 - (cw + 2)))
        per = max(1, (width - 4 - dw) // (cw + 2))
        chunks = [acols[i:i + per] for i in range(0, len(acols), per)]
        for k, chunk in enumerate(chunks, 1):
            title = AXIS_TITLES[axis] + (f" ({k} of {len(chunks)})" if len(chunks) > 1 else "")
            parts.append(_panel(title, dw, cw, chunk, rows, names, cells, m.group_by))
    if m.failed:
        parts.append(Text("Rows not mapped", style="bold yellow"))
        for r in m.failed:
            parts.append(Text(f"  row {r.row} {r.input!r}: {r.status}: {r.message}", overflow="fold"))
    parts.append(Panel(Text(DISCLAIMER), style="dim", expand=False))
    return RGroup(*parts)


def gaps_view(m):
    from rich import box
    from rich.console import Group as RGroup
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from ..advisor.consult import DISCLAIMER
    from ..views.evidence_map import gaps

    found = gaps(m)
    n = len(m.mapped)
    parts = [Text(f"Evidence gaps: where the reviews hold no direct evidence, for {n} disease"
                  f"{'s' if n != 1 else ''} (most shared first)", style="bold")]
    if not found:
        parts.append(Text("none: every disease has tier 1-3 support on every listed candidate"))
    else:
        t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        t.add_column(Text("n", style="bold"), justify="right", no_wrap=True)
        t.add_column(Text("gap", style="bold"), ratio=2, overflow="fold")
        t.add_column(Text("diseases", style="bold"), ratio=3, overflow="fold")
        for g in found:
            t.add_row(Text(str(len(g.diseases))), Text(g.label), Text("; ".join(g.diseases)))
        parts.append(t)
    if m.failed:
        parts.append(Text(f"{len(m.failed)} row{'s' if len(m.failed) != 1 else ''} not mapped (see msc-ev map)",
                          style="yellow"))
    parts.append(Panel(Text(DISCLAIMER), style="dim", expand=False))
    return RGroup(*parts)


def render_text(renderable, width: int) -> str:
    import io

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, soft_wrap=False, highlight=False).print(renderable)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# the command


def register(app, knowledge, fail, out, state):
    @app.command("map", cls=Command)
    def map_command(
        input: Optional[str] = typer.Argument(None, metavar="FILE",
                                              help=("Diseases to map, as for batch: a text file (one a line), CSV/TSV "
                                                    "with a 'disease' column, a YAML or JSON list, or - for standard "
                                                    "input. Default: every curated disease.")),
        fmt: Optional[MapFmt] = typer.Option(None, "--format", "-f", metavar="FORMAT",
                                             help="rich, csv, svg or html (default: from the extension of -o FILE, "
                                                  "else rich)."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write to FILE (atomically) instead of standard output."),
        group: Optional[Group] = typer.Option(None, "--group", metavar="BY",
                                              help="Group the rows by organ system or by (first) process: organ|process."),
        gaps: bool = typer.Option(False, "--gaps", help="List where the reviews hold no direct evidence for these "
                                                        "diseases, most shared first (rich or csv)."),
        jobs: int = typer.Option(1, "--jobs", "-j", metavar="N", min=1,
                                 help="Worker processes; the output is identical whatever the number."),
        input_format: Optional[InFmt] = typer.Option(None, "--input-format", metavar="FORMAT",
                                                     help="text, csv, tsv, yaml or json; default: from the extension."),
        exclude_source: List[str] = typer.Option([], "--exclude-source", metavar="ID", autocompletion=complete_source,
                                                 help="Leave this MSC source out of every row (repeatable)."),
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
    ):
        """Draw an evidence map: one row per disease, one column per MSC source, route and engineering
        family; each cell the tier (colour) and certainty score of that candidate for that disease.

        Rows and per-row constraint columns as for batch. With the global --kb-extra OVERLAY, every
        cell the overlay changes is marked (the html page shows before and after). Exit 0 when every
        row is mapped, 1 when a row is unknown, ambiguous or an error, 2 on usage errors; a summary
        goes to standard error.
        """
        from ..advisor import batch as B
        from ..advisor.batch_pool import PoolError
        from ..advisor.kbcache import load_cached
        from ..views import evidence_map as M
        from .common import write_text

        try:
            chosen = pick(fmt.value if fmt else None, output, gaps)
            if output and output != "-":
                B.check_output(output, (input,) if input else ())  # before any work: never the input
            kb = knowledge()
            base = resolved(kb, constraints(exclude_source, route, clinical_only, population))
            carried: list[str] = []
            if input is None:
                items = M.curated_items(kb)
            else:
                items, carried = B.read_input(input, input_format.value if input_format else None)
            docs = chosen == "html"
            by = group.value if group else None
            with B._StopAtRowBoundary() as stop:
                m = M.build(kb, items, base, jobs=jobs, docs=docs, group_by=by, check=stop.check, carried=carried)
                if state.kb_extra:
                    plain = load_cached(state.kb_dir, ())
                    before = M.build(plain, items, resolved(plain, constraints(exclude_source, route, clinical_only,
                                                                               population)),
                                     jobs=jobs, docs=docs, group_by=by, check=stop.check)
                    m = M.compare(before, m, state.kb_extra)
            to_file = bool(output and output != "-")
            view = None  # a Rich renderable for the terminal, else the text to write
            if gaps:
                if chosen == "csv":
                    text = M.gaps_csv(m)
                else:
                    view = gaps_view(m)
            elif chosen == "csv":
                text = M.csv_text(m)
            elif chosen == "svg":
                text = M.svg_text(m)
            elif chosen == "html":
                text = M.html_page(m, kb)
            else:
                view = map_view(m, 80 if to_file else out().width)
            if view is not None:
                if to_file:
                    text = render_text(view, 80)
                else:
                    out().print(view)
                    text = None
            if text is not None:
                write_text(output, text)
        except AdvisorError as exc:
            fail(exc)
        except PoolError as exc:
            typer.echo(f"msc-ev: {exc}", err=True)
            raise typer.Exit(2)
        except KeyboardInterrupt as exc:
            code = getattr(exc, "exit_code", 130)
            typer.echo(f"msc-ev: {'terminated' if code == 143 else 'interrupted'}", err=True)
            raise typer.Exit(code)
        summary = B.summary_line(m.counts).replace("batch: ", "map: ", 1)
        if output and output != "-":
            summary += f"; wrote {output}"
        typer.echo(summary, err=True)
        raise typer.Exit(0 if m.counts["ok"] == m.counts["rows"] else 1)

    return map_command
