"""The evidence map: a list of diseases against every MSC source, route and engineering family.

An evidence gap map, as researchers and educators use them: one row per disease, one column per
candidate, each cell the tier (colour) and certainty score (size) of that candidate for that
disease, the #1 of each axis marked, and a cell left empty where nothing supports the candidate.

The model (:func:`build`) is computed from consultations, row by row, through the batch runner's
own row handling (:func:`msc_ev.advisor.batch.score_item`: the same row formats, per-row
constraint columns, limits, statuses and messages as ``msc-ev batch``) and, with ``jobs > 1``, its
worker pool. Columns (:func:`columns`): the sources (``msc``, the unstated source, is never a
source), the routes, and the engineering families, the category word an option id starts with; a
family's cell is its best-ranked option. Writers: :func:`csv_text`, :func:`svg_text`,
:func:`html_page`; the gaps view (:func:`gaps`, :func:`gaps_csv`) lists where the reviews hold no
direct evidence. :func:`compare` marks what an overlay of the knowledge changes.

Every string from the knowledge base or the input is escaped where it lands (HTML, SVG); the
output is a function of the input alone (byte-identical for the same input, whatever ``jobs``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from html import escape
from typing import Callable, Iterable

from ..advisor import batch as B
from ..advisor.consult import DISCLAIMER, Constraints
from ..advisor.kb import Knowledge
from ..advisor.schema import ENGINEERING_PREFIXES
from ..advisor.text import cite_label

AXES = ("sources", "routes", "engineering")
AXIS_TITLES = {"sources": "MSC sources", "routes": "Routes", "engineering": "Engineering families"}
GROUPS = ("organ", "process")
TIERS = (1, 2, 3, 4, 5)
# one colour per tier, each at least 4.5:1 against white (the tier digit is drawn in white on it)
TIER_COLOURS = {1: "#00441b", 2: "#1b7837", 3: "#2166ac", 4: "#636363", 5: "#b2182b"}
TIER_WORDS = {1: "clinical results in this disease", 2: "in vivo or a case report here, or clinical results in a "
              "related disease", 3: "in vitro here, or in vivo in a related disease",
              4: "transfer, reach or the reviews' generalisations only", 5: "opposing evidence only"}


def family(option_id: str) -> str:
    """The category word an engineering option id starts with ('hydrogel', 'drug-loading', ...)."""
    return max((p for p in ENGINEERING_PREFIXES if option_id.startswith(p + "-")), key=len, default=option_id)


@dataclass(frozen=True)
class Column:
    axis: str
    id: str
    name: str


def columns(kb: Knowledge) -> list[Column]:
    """Sources (not ``msc``), routes, then engineering families, each in the catalogue's order."""
    out = [Column("sources", sid, s["name"]) for sid, s in kb.sources.items() if sid != "msc"]
    out += [Column("routes", rid, r["name"]) for rid, r in kb.routes.items()]
    fams = {family(oid) for oid in kb.engineering}
    order = [f for f in ENGINEERING_PREFIXES if f in fams] + sorted(fams - set(ENGINEERING_PREFIXES))
    out += [Column("engineering", f, f"{f} options") for f in order]
    return out


# ------------------------------------------------------------------------------------------
# the model


def cells_of(kb: Knowledge, adv, docs: bool = False) -> dict:
    """What one consultation puts on its map row: the disease's organ and processes, and per column
    the candidate's tier, score, rank (of how many on its axis), basis, level and key citation
    (with ``docs``, the why-explanation as blocks). Only candidates the consultation ranked appear."""
    cells: dict[str, dict] = {}
    for axis in AXES:
        recs = adv.recs[axis]
        for r in recs:
            col = family(r.id) if axis == "engineering" else r.id
            if col in cells:
                continue  # a family's cell is its best-ranked option (recs come in rank order)
            cell = {"axis": axis, "item": r.id, "tier": r.tier, "score": round(r.score, 3), "rank": r.rank,
                    "of": len(recs), "basis": r.basis, "level": r.level, "cite": r.key_citation}
            if docs:
                from .explain import why_doc

                cell["doc"] = [list(b) for b in why_doc(kb, adv, r.id).blocks]
            cells[col] = cell
    res = adv.resolution
    return {"organ": res.organ, "processes": list(res.processes), "cells": cells}


def _cells(kb, adv):
    return cells_of(kb, adv, False)


def _cells_docs(kb, adv):
    return cells_of(kb, adv, True)


def _init(dirs, env):
    """A map worker's state: batch's (the knowledge base; the run's base and top arrive as the pool's setup)."""
    return B._worker_init(dirs, env)


def _score(state, item):
    return B.score_item(state["kb"], item, state["base"], state["top"], more=_cells)


def _score_docs(state, item):
    return B.score_item(state["kb"], item, state["base"], state["top"], more=_cells_docs)


@dataclass
class MapRow:
    row: int
    input: str
    status: str
    message: str
    disease_id: str | None = None
    disease_name: str | None = None
    organ: str | None = None
    processes: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)  # the input's other columns, carried through
    before: dict | None = None  # with an overlay: the cells without it (``None``: no overlay)
    changed: list = field(default_factory=list)  # column ids whose tier, score or rank the overlay changed

    def group(self, by: str | None) -> str:
        if by == "organ":
            return self.organ or "-"
        if by == "process":
            return self.processes[0] if self.processes else "-"
        return ""


@dataclass
class EvidenceMap:
    columns: list[Column]
    rows: list[MapRow]  # every input row, in input order
    counts: dict
    constraints: Constraints = Constraints()
    group_by: str | None = None
    overlay: tuple[str, ...] = ()  # the overlay directories, when the map compares
    carried: list = field(default_factory=list)  # the input's other column names (CSV, YAML, JSON input)

    @property
    def mapped(self) -> list[MapRow]:
        """The rows drawn on the grid (status ok), grouped (stable: input order within a group)."""
        ok = [r for r in self.rows if r.status == "ok"]
        if self.group_by:
            ok.sort(key=lambda r: r.group(self.group_by))
        return ok

    @property
    def failed(self) -> list[MapRow]:
        return [r for r in self.rows if r.status != "ok"]

    def by_axis(self) -> list[tuple[str, list[Column]]]:
        return [(a, [c for c in self.columns if c.axis == a]) for a in AXES]

    def top(self, row: MapRow, col: Column) -> bool:
        cell = row.cells.get(col.id)
        return bool(cell) and cell["rank"] == 1


def _row_of(r: dict) -> MapRow:
    return MapRow(r["row"], r["input"], r["status"], r["message"], r.get("disease_id"), r.get("disease_name"),
                  r.get("organ"), list(r.get("processes") or ()), dict(r.get("cells") or {}), dict(r["columns"]))


def scored(kb: Knowledge, items, base: Constraints, jobs: int = 1, docs: bool = False,
           check: Callable[[], None] = lambda: None) -> Iterable[dict]:
    """The batch rows of ``items`` with their map cells, in input order (``jobs`` worker processes)."""
    more = _cells_docs if docs else _cells
    if jobs > 1 and len(items) > 1:
        yield from B.results(kb, items, base, 1, jobs, check, worker=(_init, _score_docs if docs else _score))
        return
    for it in items:
        yield B.score_item(kb, it, base, 1, more=more)
        check()


def build(kb: Knowledge, items, base: Constraints = Constraints(), *, jobs: int = 1, docs: bool = False,
          group_by: str | None = None, check: Callable[[], None] = lambda: None,
          carried: list[str] | None = None) -> EvidenceMap:
    """Consult every row of ``items`` (:class:`msc_ev.advisor.batch.Item`) and build the map;
    ``carried``: the input's other column names (:func:`msc_ev.advisor.batch.read_input`)."""
    if group_by not in (None, *GROUPS):
        from ..advisor.errors import UsageError

        raise UsageError(f"unknown grouping {group_by!r}; use organ or process")
    base = B.check_constraints(kb, base)
    rows, counts = [], B.new_counts()
    for r in scored(kb, items, base, jobs, docs, check):
        counts["rows"] += 1
        counts[r["status"]] += 1
        rows.append(_row_of(r))
    return EvidenceMap(columns(kb), rows, counts, base, group_by, carried=list(carried or []))


def curated_items(kb: Knowledge) -> list:
    """Every curated disease, by name (case-insensitively), as batch items (the text is the id)."""
    ids = sorted(kb.diseases, key=lambda d: (kb.diseases[d]["name"].lower(), d))
    return [B.Item(i, did) for i, did in enumerate(ids, 1)]


def _same(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a["tier"], a["score"], a["rank"], a["item"]) == (b["tier"], b["score"], b["rank"], b["item"])


def compare(before: EvidenceMap, after: EvidenceMap, overlay: Iterable[str]) -> EvidenceMap:
    """``after`` with, on each row, the cells ``before`` had and the columns whose tier, score or rank
    (or best option, for a family) differ; a row whose disease or status changed has every column changed."""
    prev = {r.row: r for r in before.rows}
    for r in after.rows:
        p = prev.get(r.row)
        r.before = dict(p.cells) if p is not None else {}
        if p is None or (p.status, p.disease_id) != (r.status, r.disease_id):
            r.changed = [c.id for c in after.columns if r.cells.get(c.id) or r.before.get(c.id)]
        else:
            r.changed = [c.id for c in after.columns if not _same(r.cells.get(c.id), r.before.get(c.id))]
    after.overlay = tuple(str(o) for o in overlay)
    return after


# ------------------------------------------------------------------------------------------
# gaps


@dataclass
class Gap:
    axis: str
    id: str  # a column id, or "*" for "any source"
    label: str
    diseases: list[str]  # disease names, in map order


def gaps(m: EvidenceMap) -> list[Gap]:
    """Where the reviews hold no direct evidence for the map's diseases, most shared first:

    - sources: no source has tier 1-3 support for the disease;
    - a route listed only by reach (or the reviews' generalisations): tier 4, no route study in this
      disease or a related one;
    - an engineering family whose best option fits only by transfer (tier 4).

    Opposed candidates (tier 5) and candidates not listed at all are not gaps of this kind."""
    found: dict[tuple[str, str], Gap] = {}
    order = {c.id: i for i, c in enumerate(m.columns)}
    names = {c.id: c.name for c in m.columns}
    for r in m.mapped:
        name = r.disease_name or r.input
        src = [c for c in r.cells.values() if c["axis"] == "sources"]
        if not any(c["tier"] <= 3 for c in src):
            g = found.setdefault(("sources", "*"), Gap("sources", "*", "any MSC source: no tier 1-3 support", []))
            g.diseases.append(name)
        for col, c in r.cells.items():
            if c["axis"] == "sources" or c["tier"] != 4:
                continue
            if c["axis"] == "routes":
                label = f"route {col} ({names[col]}): by reach or transfer only"
            else:
                label = f"{col} options: by transfer only"
            found.setdefault((c["axis"], col), Gap(c["axis"], col, label, [])).diseases.append(name)
    axis_rank = {a: i for i, a in enumerate(AXES)}
    return sorted(found.values(), key=lambda g: (-len(g.diseases), axis_rank[g.axis], order.get(g.id, -1), g.id))


def gaps_csv(m: EvidenceMap) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["axis", "column", "gap", "diseases", "count", "disclaimer"])
    for g in gaps(m):
        w.writerow([g.axis, g.id, g.label, "; ".join(g.diseases), len(g.diseases), DISCLAIMER])
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# CSV


def _plain_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def csv_text(m: EvidenceMap) -> str:
    """One line per input row: the row, its status, the disease, then ``<id> tier`` and ``<id> score``
    for every column (empty where nothing supports it), the #1 of each axis, the message; with an
    overlay, the columns it changed. The disclaimer is the last column of every line."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["row", "input", "status", "disease_id", "disease_name", "organ", "processes"]
    taken = {*head, "sources #1", "routes #1", "engineering #1", "message", "changed by overlay", "disclaimer"}
    taken |= {f"{c.id} {k}" for c in m.columns for k in ("tier", "score")}
    carried = []
    for name in m.carried:
        shown = name
        while shown in taken:
            shown = "input_" + shown
        taken.add(shown)
        carried.append((shown, name))
    head[2:2] = [shown for shown, _ in carried]
    for c in m.columns:
        head += [f"{c.id} tier", f"{c.id} score"]
    head += ["sources #1", "routes #1", "engineering #1", "message"]
    if m.overlay:
        head.append("changed by overlay")
    head.append("disclaimer")
    w.writerow(head)
    rows = m.mapped + m.failed if m.group_by else m.rows
    for r in rows:
        line = [r.row, r.input, *(_plain_cell(r.columns.get(name)) for _, name in carried), r.status,
                r.disease_id or "", r.disease_name or "", r.organ or "", "; ".join(r.processes)]
        for c in m.columns:
            cell = r.cells.get(c.id)
            line += [cell["tier"], f"{cell['score']:.3f}"] if cell else ["", ""]
        for axis in AXES:
            line.append(next((cell["item"] for cell in r.cells.values() if cell["axis"] == axis and cell["rank"] == 1),
                             ""))
        line.append(r.message)
        if m.overlay:
            line.append("; ".join(r.changed))
        line.append(DISCLAIMER)
        w.writerow(line)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# SVG


def _e(x) -> str:
    return escape(str(x), quote=True)


def _fill_side(score: float, size: float) -> float:
    """The side of a cell's square: its area follows the score (a floor keeps a weak one visible)."""
    s = max(0.0, min(1.0, score))
    return round(size * (0.3 + 0.7 * s ** 0.5), 1)


CELL = 16
SVG_FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def svg_text(m: EvidenceMap, title: str | None = None) -> str:
    """A figure for a slide or a paper: diseases down, columns across (grouped by axis), a square per
    cell in the tier's colour sized by the score, a ring round each axis' #1, a dashed outline round a
    cell an overlay changed; a legend and the disclaimer below."""
    rows = m.mapped
    cols = m.columns
    label_w = 16 + int(5.6 * max([len(r.disease_name or r.input) for r in rows] + [12]))
    head_h = 150
    x0, y0 = label_w, 40 + head_h
    width = max(x0 + CELL * len(cols) + 3 * 8 + 70, 560)  # room for the last rotated headers
    # rows, with a band per group
    lines: list[tuple[str, object]] = []
    last = None
    for r in rows:
        g = r.group(m.group_by)
        if m.group_by and g != last:
            lines.append(("group", g))
            last = g
        lines.append(("row", r))
    grid_h = CELL * len(lines)
    legend_y = y0 + grid_h + 24
    height = legend_y + 18 + (18 if m.overlay else 0) + 22 + 13 + 12  # the legend's lines, the disclaimer's two
    t = title or f"MSC-EV evidence map: {len(rows)} disease{'s' if len(rows) != 1 else ''}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="map-title map-desc">',
           f'<title id="map-title">{_e(t)}</title>',
           f'<desc id="map-desc">Rows: diseases; columns: MSC sources, routes and engineering families. A square '
           f'in the colour of the tier (1 strongest, 5 opposed only), its area following the certainty score; a '
           f'ring marks the #1 of each axis; an empty cell: no support. {_e(DISCLAIMER)}</desc>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="12" y="24" font-size="16" font-weight="bold" {SVG_FONT} fill="#1a1a1a">{_e(t)}</text>']
    # column headers, rotated; axis brackets
    xs = {}
    x = x0
    for axis, acols in m.by_axis():
        if not acols:
            continue
        ax_start = x
        for c in acols:
            xs[c.id] = x
            cx = x + CELL / 2
            out.append(f'<text class="col" x="{cx:.1f}" y="{y0 - 6}" font-size="10" {SVG_FONT} fill="#1a1a1a" '
                       f'transform="rotate(-60 {cx:.1f} {y0 - 6})">{_e(c.id)}</text>')
            x += CELL
        out.append(f'<text class="axis" x="{ax_start}" y="{40 + 12}" font-size="11" font-weight="bold" {SVG_FONT} '
                   f'fill="#1a1a1a">{_e(AXIS_TITLES[axis])}</text>')
        out.append(f'<line x1="{ax_start}" y1="{40 + 16}" x2="{x - 2}" y2="{40 + 16}" stroke="#1a1a1a"/>')
        x += 8
    grid_right = x - 8
    # rows
    y = y0
    for kind, obj in lines:
        if kind == "group":
            out.append(f'<rect x="0" y="{y}" width="{grid_right}" height="{CELL}" fill="#eef0f3"/>')
            out.append(f'<text class="group" x="6" y="{y + 12}" font-size="10" font-style="italic" {SVG_FONT} '
                       f'fill="#1a1a1a">{_e(obj)}</text>')
            y += CELL
            continue
        r = obj
        name = r.disease_name or r.input
        out.append(f'<g class="row" data-disease="{_e(r.disease_id)}">')
        out.append(f'<text class="disease" x="{x0 - 6}" y="{y + 12}" font-size="10" text-anchor="end" {SVG_FONT} '
                   f'fill="#1a1a1a">{_e(name)}</text>')
        out.append(f'<line x1="{x0}" y1="{y + CELL}" x2="{grid_right}" y2="{y + CELL}" stroke="#d5d9de" '
                   'stroke-width="0.5"/>')
        for c in cols:
            cx = xs[c.id]
            cell = r.cells.get(c.id)
            if cell:
                side = _fill_side(cell["score"], CELL - 2)
                off = (CELL - side) / 2
                out.append(f'<rect class="cell t{cell["tier"]}" data-col="{_e(c.id)}" x="{cx + off:.1f}" '
                           f'y="{y + off:.1f}" width="{side}" height="{side}" fill="{TIER_COLOURS[cell["tier"]]}">'
                           f'<title>{_e(name)} / {_e(c.id)}: tier {cell["tier"]}, score {cell["score"]:.3f}, '
                           f'rank {cell["rank"]} of {cell["of"]}</title></rect>')
                if cell["rank"] == 1:
                    out.append(f'<circle class="top" cx="{cx + CELL / 2}" cy="{y + CELL / 2}" r="{CELL / 2 - 0.5}" '
                               f'fill="none" stroke="#000000" stroke-width="1.5"/>')
            if c.id in r.changed:
                out.append(f'<rect class="changed" x="{cx + 0.5}" y="{y + 0.5}" width="{CELL - 1}" '
                           f'height="{CELL - 1}" fill="none" stroke="#e66100" stroke-width="1.5" '
                           f'stroke-dasharray="2 1"/>')
        out.append("</g>")
        y += CELL
    for c in cols:  # the grid's columns
        out.append(f'<line x1="{xs[c.id] + CELL}" y1="{y0}" x2="{xs[c.id] + CELL}" y2="{y}" stroke="#d5d9de" '
                   'stroke-width="0.5"/>')
    # legend
    ly = legend_y
    lx = 12
    out.append(f'<g class="legend" font-size="10" {SVG_FONT} fill="#1a1a1a">')
    out.append(f'<text x="{lx}" y="{ly}" font-weight="bold">Tier</text>')
    for i, tier in enumerate(TIERS):
        tx = lx + 36 + i * 44
        out.append(f'<rect x="{tx}" y="{ly - 10}" width="12" height="12" fill="{TIER_COLOURS[tier]}"/>')
        out.append(f'<text x="{tx + 16}" y="{ly}">{tier}</text>')
    sx = lx + 36 + 5 * 44 + 10
    out.append(f'<text x="{sx}" y="{ly}" font-weight="bold">Score</text>')
    for i, s in enumerate((0.1, 0.5, 1.0)):
        side = _fill_side(s, 12)
        bx = sx + 40 + i * 48
        out.append(f'<rect x="{bx + (12 - side) / 2:.1f}" y="{ly - 10 + (12 - side) / 2:.1f}" width="{side}" '
                   f'height="{side}" fill="#636363"/>')
        out.append(f'<text x="{bx + 16}" y="{ly}">{s:.1f}</text>')
    ly += 18
    out.append(f'<circle cx="{lx + 6}" cy="{ly - 4}" r="6" fill="none" stroke="#000000" stroke-width="1.5"/>')
    out.append(f'<text x="{lx + 18}" y="{ly}">the #1 of its axis for that disease; an empty cell: no support</text>')
    if m.overlay:
        ly += 18
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="none" stroke="#e66100" '
                   f'stroke-width="1.5" stroke-dasharray="2 1"/>')
        out.append(f'<text x="{lx + 18}" y="{ly}">changed by the overlay {_e(", ".join(m.overlay))}</text>')
    ly += 22
    half = DISCLAIMER.find(" from two reviews")
    out.append(f'<text class="disclaimer" x="{lx}" y="{ly}">{_e(DISCLAIMER[:half])}</text>')
    out.append(f'<text class="disclaimer" x="{lx}" y="{ly + 13}">{_e(DISCLAIMER[half + 1:])}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------
# HTML


def _json_script(obj) -> str:
    """JSON that can sit inside a <script> element: no '<', '>' or '&' left as such."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _Strings:
    """A string table: each distinct string (or block, or document) stored once."""

    def __init__(self):
        self.items: list = []
        self._ids: dict = {}

    def id(self, value) -> int:
        key = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        n = self._ids.get(key)
        if n is None:
            n = self._ids[key] = len(self.items)
            self.items.append(value)
        return n


def _block(b: list) -> str:
    kind = b[0]
    if kind == "li":
        return f"{int(b[2])}\t{b[1]}"
    if kind == "code":
        return "c\t" + "\n".join(b[1])
    if kind == "note":
        return "n\t" + b[1]
    return f"{kind}\t{b[1]}"


CSS = """
:root { --ink: #1a1a1a; --muted: #4a4a4a; --paper: #ffffff; --line: #d5d9de; --band: #eef0f3; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--paper); line-height: 1.4; font-size: 15px; }
header, footer, main { padding: 0.6rem 1.2rem; }
header { border-bottom: 1px solid #c8ccd2; }
h1 { font-size: 1.45rem; margin: 0 0 0.3rem; }
h2 { font-size: 1.15rem; margin: 0.8rem 0 0.4rem; }
h3 { font-size: 1rem; margin: 0.6rem 0 0.2rem; }
.disclaimer, .muted { color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; list-style: none; padding: 0; margin: 0.4rem 0; }
.legend .sw { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: middle; margin-right: 0.3rem; }
.wrap { display: grid; grid-template-columns: minmax(0, 1fr) 30rem; gap: 1rem; align-items: start; }
.scroll { overflow: auto; max-height: calc(100vh - 2rem); border: 1px solid #c8ccd2; }
table.map { border-collapse: separate; border-spacing: 0; font-size: 12px; }
table.map th, table.map td { border-bottom: 1px solid var(--line); border-right: 1px solid var(--line); padding: 0; }
table.map thead th { position: sticky; top: 0; background: var(--paper); z-index: 2; }
table.map thead tr.cols th { top: 1.6rem; height: 7.5rem; vertical-align: bottom; }
table.map thead tr.cols th span { display: inline-block; writing-mode: vertical-rl; transform: rotate(180deg);
       white-space: nowrap; padding: 0.2rem 0; font-weight: 600; }
table.map th.axis { text-align: left; padding: 0.2rem 0.4rem; }
table.map tbody th { text-align: left; font-weight: normal; padding: 0 0.5rem; white-space: nowrap;
       position: sticky; left: 0; background: var(--paper); z-index: 1; max-width: 22rem; overflow: hidden;
       text-overflow: ellipsis; }
table.map tr.grp th { background: var(--band); font-style: italic; font-weight: 600; }
table.map td.cell { width: 1.7rem; height: 1.7rem; min-width: 1.7rem; text-align: center; }
table.map td.cell button { width: 100%; height: 100%; border: 0; padding: 0; margin: 0; background: transparent;
       cursor: pointer; display: flex; align-items: center; justify-content: center; font: inherit; }
table.map td.cell button b { display: flex; align-items: center; justify-content: center; color: #ffffff;
       width: calc(0.55rem + 1rem * var(--s)); height: calc(0.55rem + 1rem * var(--s)); font-size: 10px;
       font-weight: 700; line-height: 1; }
table.map td.cell.t1 b { background: #00441b; } table.map td.cell.t2 b { background: #1b7837; }
table.map td.cell.t3 b { background: #2166ac; } table.map td.cell.t4 b { background: #636363; }
table.map td.cell.t5 b { background: #b2182b; }
table.map td.cell.top b { outline: 2px solid #000000; outline-offset: 1px; }
table.map td.cell.chg { box-shadow: inset 0 0 0 2px #e66100; }
table.map td.cell button:focus-visible { outline: 3px solid #1a1a1a; outline-offset: -3px; }
table.map td.cell.sel { background: #fff1b8; }
#tip { position: fixed; z-index: 5; max-width: 28rem; background: #1a1a1a; color: #ffffff; padding: 0.35rem 0.55rem;
       border-radius: 4px; font-size: 13px; pointer-events: none; }
#tip[hidden] { display: none; }
aside#detail { border: 1px solid #c8ccd2; border-radius: 6px; padding: 0.5rem 0.8rem; position: sticky; top: 0.5rem;
       max-height: calc(100vh - 1rem); overflow: auto; }
aside#detail pre { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12px; background: var(--band);
       padding: 0.3rem; white-space: pre-wrap; }
aside#detail .l1 { margin-left: 1.2rem; } aside#detail .l2 { margin-left: 2.4rem; }
aside#detail p, aside#detail div { margin: 0.2rem 0; }
.cols2 { display: grid; grid-template-columns: 1fr 1fr; gap: 0.8rem; }
table.plain { border-collapse: collapse; }
table.plain th, table.plain td { text-align: left; border-bottom: 1px solid var(--line); padding: 0.15rem 0.5rem;
       vertical-align: top; }
@media (max-width: 1100px) { .wrap { grid-template-columns: 1fr; } aside#detail { position: static; } }
@media print { .scroll { max-height: none; overflow: visible; } #tip { display: none; } }
"""

JS = """
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('map-data').textContent);
  var S = data.strings, D = data.docs, C = data.cells, rows = data.rows, cols = data.columns;
  var tip = document.getElementById('tip');
  var detail = document.getElementById('detail-body');
  var title = document.getElementById('detail-title');
  var selected = null;
  function info(c) {
    var cell = C[c];
    return {row: rows[cell[0]], col: cols[cell[1]], after: cell[2], before: cell[3], changed: cell[4] === 1};
  }
  function summary(x) {
    if (!x) { return 'no support'; }
    return x[0] + ': tier ' + x[1] + ' (' + x[4] + '), score ' + x[2].toFixed(3) + ', rank ' + x[3][0] +
      ' of ' + x[3][1];
  }
  function cite(x) { return x && x[5] !== null ? S[x[5]] : '-'; }
  function tipText(c) {
    var i = info(c);
    var t = i.row + ' / ' + i.col + ' - ' + summary(i.after) + '. Key citation: ' + cite(i.after);
    if (i.changed) { t += ' (before the overlay: ' + summary(i.before) + ')'; }
    return t;
  }
  function showTip(btn) {
    tip.textContent = tipText(Number(btn.getAttribute('data-c')));
    tip.hidden = false;
    var r = btn.getBoundingClientRect();
    var x = Math.min(r.left, window.innerWidth - tip.offsetWidth - 8);
    var y = r.bottom + 6;
    if (y + tip.offsetHeight > window.innerHeight) { y = r.top - tip.offsetHeight - 6; }
    tip.style.left = Math.max(4, x) + 'px';
    tip.style.top = Math.max(4, y) + 'px';
  }
  function hideTip() { tip.hidden = true; }
  function renderDoc(parent, docId) {
    D[docId].forEach(function (b) {
      var s = S[b], tab = s.indexOf('\\t'), kind = s.slice(0, tab), text = s.slice(tab + 1), el;
      if (kind === 'h') { el = document.createElement('h3'); }
      else if (kind === 'c') { el = document.createElement('pre'); }
      else if (kind === 'n') { el = document.createElement('p'); el.className = 'muted'; }
      else if (kind === 'p') { el = document.createElement('p'); }
      else { el = document.createElement('div'); el.className = 'li l' + kind; text = '\\u2022 ' + text; }
      el.textContent = text;
      parent.appendChild(el);
    });
  }
  function open(btn) {
    var c = Number(btn.getAttribute('data-c'));
    var i = info(c);
    if (selected) { selected.parentNode.classList.remove('sel'); }
    selected = btn;
    btn.parentNode.classList.add('sel');
    title.textContent = i.row + ' / ' + i.col;
    detail.textContent = '';
    detail.setAttribute('data-c', String(c));
    if (data.overlay.length && i.changed) {
      var box = document.createElement('div');
      box.className = 'cols2';
      [['After the overlay', i.after], ['Before', i.before]].forEach(function (p) {
        var col = document.createElement('div');
        var h = document.createElement('h3');
        h.textContent = p[0] + ': ' + summary(p[1]);
        col.appendChild(h);
        if (p[1]) { renderDoc(col, p[1][6]); }
        box.appendChild(col);
      });
      detail.appendChild(box);
    } else {
      renderDoc(detail, i.after[6]);
    }
  }
  var grid = document.getElementById('grid');
  grid.addEventListener('mouseover', function (ev) {
    var b = ev.target.closest('td.cell button'); if (b) { showTip(b); }
  });
  grid.addEventListener('mouseout', function (ev) {
    var b = ev.target.closest('td.cell button'); if (b && !b.contains(ev.relatedTarget)) { hideTip(); }
  });
  grid.addEventListener('focusin', function (ev) {
    var b = ev.target.closest('td.cell button'); if (b) { showTip(b); }
  });
  grid.addEventListener('focusout', hideTip);
  grid.addEventListener('click', function (ev) {
    var b = ev.target.closest('td.cell button'); if (b) { open(b); }
  });
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') { hideTip(); } });
})();
"""


def _cell_data(cell: dict | None, strings: _Strings, kb: Knowledge | None, docs: _Strings, cites: dict) -> list | None:
    """[item, tier, score, [rank, of], basis, citation string id, doc id] (None: no support)."""
    if not cell:
        return None
    key = cell.get("cite")
    cid = None
    if key:
        if key not in cites:
            cites[key] = strings.id(cite_label(kb, key) if kb is not None else key)
        cid = cites[key]
    doc = docs.id([strings.id(_block(b)) for b in cell.get("doc") or ()])
    return [cell["item"], cell["tier"], cell["score"], [cell["rank"], cell["of"]], cell["basis"], cid, doc]


def html_page(m: EvidenceMap, kb: Knowledge, title: str | None = None) -> str:
    """One self-contained page (styles, data and script inline; nothing fetched): the grid, where
    hovering or focusing a cell shows its key citation and clicking it shows that consultation's
    why-explanation (contributions and arithmetic) beside the grid; with an overlay, the cells it
    changed are outlined and show before and after. Then the gaps, the rows not mapped, the disclaimer."""
    rows = m.mapped
    cols = m.columns
    strings, docs = _Strings(), _Strings()
    cites: dict[str, int] = {}
    cells: list = []
    row_names = [r.disease_name or r.input for r in rows]
    t = title or f"MSC-EV evidence map: {len(rows)} disease{'s' if len(rows) != 1 else ''}"
    body: list[str] = []
    head1 = ['<tr class="axes"><th class="axis" scope="col" rowspan="2">Disease</th>']
    head2 = ['<tr class="cols">']
    for axis, acols in m.by_axis():
        if acols:
            head1.append(f'<th class="axis" scope="colgroup" colspan="{len(acols)}">{_e(AXIS_TITLES[axis])}</th>')
        for c in acols:
            head2.append(f'<th scope="col" data-col="{_e(c.id)}" title="{_e(c.name)}"><span>{_e(c.id)}</span></th>')
    head1.append("</tr>")
    head2.append("</tr>")
    last = None
    for ri, r in enumerate(rows):
        g = r.group(m.group_by)
        if m.group_by and g != last:
            body.append(f'<tr class="grp"><th colspan="{len(cols) + 1}" scope="rowgroup">{_e(g)}</th></tr>')
            last = g
        tds = [f'<tr data-row="{r.row}"><th scope="row" title="{_e(row_names[ri])}">{_e(row_names[ri])}</th>']
        for ci, c in enumerate(cols):
            after = r.cells.get(c.id)
            changed = c.id in r.changed
            before = (r.before or {}).get(c.id) if m.overlay else None
            if not after and not (changed and before):
                tds.append('<td class="cell"></td>')
                continue
            n = len(cells)
            cells.append([ri, ci, _cell_data(after, strings, kb, docs, cites),
                          _cell_data(before, strings, kb, docs, cites) if m.overlay else None, 1 if changed else 0])
            cls = ["cell"]
            if after:
                cls.append(f"t{after['tier']}")
                if after["rank"] == 1:
                    cls.append("top")
            if changed:
                cls.append("chg")
            s = max(0.0, min(1.0, after["score"])) if after else 0.0
            digit = str(after["tier"]) if after else "\u2013"
            tds.append(f'<td class="{" ".join(cls)}"><button type="button" data-c="{n}" style="--s:{s:.2f}" '
                       f'aria-describedby="tip"><b>{digit}</b></button></td>')
        tds.append("</tr>")
        body.append("".join(tds))
    data = {"strings": strings.items, "docs": docs.items, "cells": cells, "rows": row_names,
            "columns": [c.id for c in cols], "overlay": list(m.overlay)}
    legend = "".join(f'<li><span class="sw" style="background:{TIER_COLOURS[tier]}"></span>tier {tier}: '
                     f'{_e(TIER_WORDS[tier])}</li>' for tier in TIERS)
    legend += ('<li><span class="sw" style="outline:2px solid #000000;outline-offset:-2px"></span>'
               "outlined: the #1 of its axis</li><li>bigger square: higher certainty score; empty: no support</li>")
    if m.overlay:
        legend += ('<li><span class="sw" style="box-shadow:inset 0 0 0 2px #e66100"></span>orange frame: changed '
                   f'by the overlay {_e(", ".join(m.overlay))} (click for before and after)</li>')
    n_changed = sum(len(r.changed) for r in rows)
    over = ""
    if m.overlay:
        over = (f'<p id="overlay-summary">With the overlay {_e(", ".join(m.overlay))}: {n_changed} '
                f'cell{"s" if n_changed != 1 else ""} changed in {sum(1 for r in rows if r.changed)} of {len(rows)} '
                "rows.</p>")
    gap_rows = "".join(f"<tr><td>{len(g.diseases)}</td><td>{_e(g.label)}</td><td>{_e('; '.join(g.diseases))}</td></tr>"
                       for g in gaps(m))
    failed = "".join(f"<tr><td>{r.row}</td><td>{_e(r.input)}</td><td>{_e(r.status)}</td><td>{_e(r.message)}</td></tr>"
                     for r in m.failed)
    cons = {k: v for k, v in m.constraints.as_json().items() if v}
    cons_p = (f"<p>Constraints: {_e(', '.join(f'{k}={v}' for k, v in cons.items()))}</p>" if cons else "")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(t)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(t)}</h1>",
        f'<p class="disclaimer">{_e(DISCLAIMER)}</p>',
        "<p>One row per disease, one column per MSC source, route and engineering family. A cell's colour is "
        "the tier of that candidate for that disease, its size the certainty score. Hover or focus a cell for "
        "its key citation; click it (or press Enter) for the explanation.</p>",
        cons_p,
        f'<ul class="legend" aria-label="Legend">{legend}</ul>',
        over,
        "</header>",
        '<main class="wrap">',
        '<div class="scroll">',
        f'<table class="map" id="grid" aria-label="{_e(t)}">',
        "<thead>", "".join(head1), "".join(head2), "</thead>",
        "<tbody>", *body, "</tbody>",
        "</table>",
        "</div>",
        '<aside id="detail" aria-labelledby="detail-title">',
        '<h2 id="detail-title">Explanation</h2>',
        '<div id="detail-body" aria-live="polite"><p class="muted">Click a cell to see why it holds what it holds: '
        "every contribution, its rule, tier and citations, and the arithmetic that combined them.</p></div>",
        "</aside>",
        "</main>",
        "<section class=\"gaps\" aria-labelledby=\"h-gaps\" style=\"padding: 0 1.2rem\">",
        '<h2 id="h-gaps">Gaps: no direct evidence, most shared first</h2>',
        '<table class="plain" id="gaps"><thead><tr><th scope="col">diseases</th><th scope="col">gap</th>'
        f'<th scope="col">which</th></tr></thead><tbody>{gap_rows}</tbody></table>',
        *(["<h2 id=\"h-failed\">Rows not mapped</h2>",
           '<table class="plain" id="failed"><thead><tr><th scope="col">row</th><th scope="col">input</th>'
           f'<th scope="col">status</th><th scope="col">message</th></tr></thead><tbody>{failed}</tbody></table>']
          if failed else []),
        "</section>",
        '<div id="tip" role="tooltip" hidden></div>',
        f'<footer><p class="disclaimer">{_e(DISCLAIMER)}</p></footer>',
        f'<script type="application/json" id="map-data">{_json_script(data)}</script>',
        f"<script>{JS}</script>",
        "</body>",
        "</html>",
        "",
    ])


__all__ = ["AXES", "Column", "EvidenceMap", "Gap", "MapRow", "TIER_COLOURS", "build", "cells_of", "columns",
           "compare", "csv_text", "curated_items", "family", "gaps", "gaps_csv", "html_page", "svg_text"]
