"""Batch scoring: many diseases in one run, one output row per input row, in input order.

Input (:func:`read_input`): a text file (one disease a line; blank lines and lines starting with
``#`` are skipped), CSV or TSV with a ``disease`` column, or a YAML / JSON list whose items are
strings or mappings with a ``disease`` key. The format comes from the extension (``.txt``,
``.csv``, ``.tsv``, ``.yaml``/``.yml``, ``.json``; anything else is text) or is given
explicitly; standard input (``-``) is text unless told otherwise. Other columns (mapping keys)
are carried through to the output. Four of them are per-row constraints:

- ``exclude_source``: source ids separated by ``;``, added to the run-wide ``--exclude-source``;
- ``route``: route ids separated by ``;``, replacing the run-wide ``--route`` for that row;
- ``clinical_only``: ``true``/``false`` (also yes/no, 1/0), replacing ``--clinical-only``;
- ``population``: neonate, child, adult or elderly, replacing ``--population``.

An empty cell leaves the run-wide value. A bad value makes that row ``error``; the run goes on.

Output rows (:func:`score_item`) are dicts with ``row`` (1-based position among the input rows),
``input``, ``columns`` (the carried-through columns), ``status`` (``ok``, ``unknown``,
``ambiguous``, ``error``), ``disease_id``, ``disease_name``, ``matched_by``, ``level`` (the
strongest evidence level among the items shown), ``sources``/``routes``/``engineering`` (the top
N, each ``{rank, id, name, score, level}``), ``citations`` (up to five key reference keys),
``cautions`` (caution ids) and ``message`` (why a row is not ``ok``; empty when it is).

Formats, and where each states the disclaimer (:data:`advisor.DISCLAIMER`):

- ``csv``/``tsv``: one header line, then one line per row; lists become ``id score; id score``;
  carried columns keep their names (prefixed ``input_`` if they clash with ours). The
  disclaimer is the last column, ``disclaimer``, on every row, so the file stays plain CSV.
- ``json``: one object ``{"rows": [...], "summary": {...}, "constraints": {...}, "top": N,
  "disclaimer": str}``; the summary has the counts per status (no timings: the output of the
  same input is byte-identical whatever ``--jobs``).
- ``jsonl``: one row object per line, with a ``disclaimer`` field; streamed row by row.
- ``markdown``: a table, the summary, and the disclaimer before and after.

Nothing is lost (:func:`run`): with an output file, every finished row is appended and flushed to
a journal, ``FILE.part`` (JSON lines), while the run goes on; only when all rows are done is the
final file rendered to a temporary file in the same directory and moved over ``FILE`` with
``os.replace``. A crash or Ctrl-C therefore leaves ``FILE`` as it was (or absent) and the finished
rows in ``FILE.part``. ``resume=True`` skips the rows found in ``FILE.part`` or, failing that, in
a complete ``FILE`` (jsonl, json, csv or tsv; markdown cannot be read back and is recomputed).
The rows already done must match the input (same position, same text), or the run stops.
Ctrl-C stops the run between two rows (a second Ctrl-C at once): the rule engine swallows
exceptions raised inside its actions, so an interrupt there must not become a row ``error``.

Parallel work (``jobs > 1``) uses worker processes started with ``spawn`` (the rule engine is not
thread-safe and must not be forked mid-use); each worker loads the knowledge base once and the
results are consumed in input order, so the output is byte-identical to ``jobs=1``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

from .consult import AXES, DISCLAIMER, Constraints, check_constraints, consult
from .errors import AdvisorError, AmbiguousDisease, UnknownDisease, UsageError
from .kb import Knowledge, load_cached
from .scoring import strongest

STATUSES = ("ok", "unknown", "ambiguous", "error")
FORMATS = ("csv", "tsv", "json", "jsonl", "markdown")
INPUT_FORMATS = ("text", "csv", "tsv", "yaml", "json")
EXTENSIONS = {".txt": "text", ".text": "text", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
              ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
CONSTRAINT_COLUMNS = ("exclude_source", "route", "clinical_only", "population")
MAX_CITATIONS = 5
FIXED = ("status", "disease_id", "disease_name", "matched_by", "level", "sources", "routes",
         "engineering", "citations", "cautions", "message")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class InputError(UsageError):
    """The input as a whole cannot be read (exit 2); a bad row is reported in its row instead."""


# ------------------------------------------------------------------------------------------
# input


@dataclass
class Item:
    row: int
    text: str
    columns: dict = field(default_factory=dict)
    problem: str = ""  # set when the row itself is malformed


def detect_format(path: str, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in INPUT_FORMATS:
            raise InputError(f"unknown input format {explicit!r}; use one of {', '.join(INPUT_FORMATS)}")
        return explicit
    if path == "-":
        return "text"
    return EXTENSIONS.get(Path(path).suffix.lower(), "text")


def read_input(path: str, fmt: str | None = None, stdin: TextIO | None = None) -> tuple[list[Item], list[str]]:
    """Read the rows of ``path`` (``-``: standard input). Return the items and the carried column names."""
    fmt = detect_format(path, fmt)
    if path == "-":
        text = (stdin or sys.stdin).read()
        where = "standard input"
    else:
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                text = fh.read()
        except OSError as exc:
            raise InputError(f"cannot read input {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"cannot read input {path}: not UTF-8 text ({exc.reason})") from None
        where = path
    if text.startswith("\ufeff"):
        text = text[1:]
    if fmt == "text":
        return parse_text(text), []
    if fmt in ("csv", "tsv"):
        return parse_table(text, "," if fmt == "csv" else "\t", where)
    return parse_data(_load_data(text, fmt, where), where)


def parse_text(text: str) -> list[Item]:
    items = []
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            items.append(Item(len(items) + 1, s))
    return items


def parse_table(text: str, delimiter: str, where: str = "input") -> tuple[list[Item], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{where}: empty; expected a header line with a 'disease' column") from None
    except csv.Error as exc:
        raise InputError(f"{where}: not valid {'CSV' if delimiter == ',' else 'TSV'}: {exc}") from None
    header = [h.strip() for h in header]
    lowered = [h.lower() for h in header]
    if "disease" not in lowered:
        raise InputError(f"{where}: no 'disease' column (columns: {', '.join(header) or 'none'})")
    di = lowered.index("disease")
    carried = [h for i, h in enumerate(header) if i != di]
    items: list[Item] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank line
            n = len(items) + 1
            cols = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if i != di}
            disease = cells[di].strip() if di < len(cells) else ""
            problem = ""
            if len(cells) > len(header):
                problem = f"row has {len(cells)} fields but the header has {len(header)}"
            elif not disease:
                problem = "empty 'disease' cell"
            items.append(Item(n, disease, cols, problem))
    except csv.Error as exc:
        raise InputError(f"{where}: line {reader.line_num}: {exc}") from None
    return items, carried


def _load_data(text: str, fmt: str, where: str):
    if fmt == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InputError(f"{where}: not valid JSON: {exc}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{where}: not valid YAML{pos}: {getattr(exc, 'problem', None) or exc}") from None


def _plain(v):
    """A carried value as JSON can hold it."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return str(v)


def parse_data(data, where: str = "input") -> tuple[list[Item], list[str]]:
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InputError(f"{where}: expected a list of diseases (strings or mappings with a 'disease' key)")
    items: list[Item] = []
    carried: list[str] = []
    for i, x in enumerate(data, 1):
        if isinstance(x, str):
            items.append(Item(i, x.strip(), {}, "" if x.strip() else "empty disease"))
        elif isinstance(x, dict):
            cols = {str(k): _plain(v) for k, v in x.items() if str(k) != "disease"}
            for k in cols:
                if k not in carried:
                    carried.append(k)
            d = x.get("disease")
            if not isinstance(d, str) or not d.strip():
                items.append(Item(i, "" if d is None else str(d), cols, "item has no 'disease' text"))
            else:
                items.append(Item(i, d.strip(), cols))
        else:
            items.append(Item(i, "" if x is None else json.dumps(_plain(x)), {},
                              f"item is a {type(x).__name__}, not a disease name or a mapping"))
    return items, carried


# ------------------------------------------------------------------------------------------
# scoring one row


def _ids(value, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        vals = [str(v).strip() for v in value]
    elif isinstance(value, str):
        vals = [v.strip() for v in value.split(";")]
    else:
        raise UsageError(f"{what} must be ids separated by ';', got {value!r}")
    return tuple(v for v in vals if v)


def row_constraints(base: Constraints, columns: dict) -> Constraints:
    """The constraints for one row: the run-wide ones with this row's constraint columns applied."""
    exclude = base.exclude_sources
    extra = _ids(columns.get("exclude_source"), "exclude_source")
    exclude = exclude + tuple(s for s in extra if s not in exclude)
    routes = _ids(columns.get("route"), "route") or base.routes
    clinical = base.clinical_only
    co = columns.get("clinical_only")
    if isinstance(co, bool):
        clinical = co
    elif co is not None and str(co).strip() != "":
        s = str(co).strip().lower()
        if s in _TRUE:
            clinical = True
        elif s in _FALSE:
            clinical = False
        else:
            raise UsageError(f"clinical_only must be true or false, got {co!r}")
    population = base.population
    pop = columns.get("population")
    if pop is not None and str(pop).strip() != "":
        population = str(pop).strip()
    return Constraints(exclude, routes, clinical, population)


def _blank(item: Item, status: str, message: str) -> dict:
    return {"row": item.row, "input": item.text, "columns": item.columns, "status": status,
            "disease_id": None, "disease_name": None, "matched_by": None, "level": None,
            "sources": [], "routes": [], "engineering": [], "citations": [], "cautions": [],
            "message": message}


def score_item(kb: Knowledge, item: Item, base: Constraints, top: int = 3) -> dict:
    """Score one input row. Never raises for a bad row: the status and message say what went wrong."""
    if item.problem:
        return _blank(item, "error", item.problem)
    try:
        cons = row_constraints(base, item.columns)
        adv = consult(kb, item.text, cons)
    except UnknownDisease as exc:
        return _blank(item, "unknown", exc.message())
    except AmbiguousDisease as exc:
        return _blank(item, "ambiguous", exc.message())
    except AdvisorError as exc:
        return _blank(item, "error", exc.message())
    except Exception as exc:  # a bad row never stops the run
        return _blank(item, "error", f"internal error: {type(exc).__name__}: {exc}")
    out = _blank(item, "ok", "")
    res = adv.resolution
    out.update(disease_id=res.id, disease_name=res.name, matched_by=res.matched_by)
    levels, cites = [], []
    for axis in AXES:
        recs = adv.recs[axis][:top] if top else adv.recs[axis]
        out[axis] = [{"rank": r.rank, "id": r.id, "name": r.name, "score": round(r.score, 3),
                      "level": r.level} for r in recs]
        for r in recs:
            if r.level:
                levels.append(r.level)
            for c in r.support:
                for k in c.citations:
                    if k not in cites:
                        cites.append(k)
    out["level"] = strongest(levels)
    out["citations"] = cites[:MAX_CITATIONS]
    out["cautions"] = [c["id"] for c in adv.cautions]
    return out


# ------------------------------------------------------------------------------------------
# writers


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "; ".join(_cell(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _recs_cell(recs: list[dict]) -> str:
    return "; ".join(f"{r['id']} {r['score']:.3f}" for r in recs)


def column_names(carried: list[str]) -> list[tuple[str, str]]:
    """(output name, carried name) for each carried column; clashing names get an ``input_`` prefix."""
    taken = {"row", "input", "disclaimer", *FIXED}
    out = []
    for c in carried:
        name = c
        while name in taken:
            name = "input_" + name
        taken.add(name)
        out.append((name, c))
    return out


def header(carried: list[str]) -> list[str]:
    return ["row", "input", *(n for n, _ in column_names(carried)), *FIXED, "disclaimer"]


class FlatRow(dict):
    """A row read back from a previous CSV/TSV output: written again exactly as it was."""


def flat(row: dict, carried: list[str]) -> dict:
    if isinstance(row, FlatRow):
        return row
    d = {"row": str(row["row"]), "input": row["input"]}
    for name, c in column_names(carried):
        d[name] = _cell(row["columns"].get(c))
    for k in FIXED:
        v = row[k]
        d[k] = _recs_cell(v) if k in AXES else _cell(v)
    d["disclaimer"] = DISCLAIMER
    return d


def _md(v: str) -> str:
    return v.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def summary_counts(rows: Iterable[dict]) -> dict:
    counts = {"rows": 0, **{s: 0 for s in STATUSES}}
    for r in rows:
        counts["rows"] += 1
        counts[r["status"]] += 1
    return counts


def summary_line(counts: dict, elapsed: float | None = None, resumed: int = 0) -> str:
    n = counts["rows"]
    s = f"batch: {n} row{'s' if n != 1 else ''}: " + ", ".join(f"{counts[k]} {k}" for k in STATUSES)
    if resumed:
        s += f" ({resumed} resumed)"
    if elapsed is not None:
        s += f" in {elapsed:.2f} s"
    return s


class Writer:
    """Writes rows in order. ``begin``, ``row`` for each row, then ``end`` with every row."""

    def __init__(self, fmt: str, fh: TextIO, carried: list[str], constraints: Constraints, top: int):
        if fmt not in FORMATS:
            raise UsageError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
        self.fmt, self.fh, self.carried, self.constraints, self.top = fmt, fh, carried, constraints, top
        self._csv = None

    def begin(self):
        if self.fmt in ("csv", "tsv"):
            self._csv = csv.DictWriter(self.fh, fieldnames=header(self.carried),
                                       delimiter="," if self.fmt == "csv" else "\t",
                                       lineterminator="\n", extrasaction="raise")
            self._csv.writeheader()
        elif self.fmt == "markdown":
            cols = ["row", "input", *(n for n, _ in column_names(self.carried)), "status", "disease",
                    "matched by", "level", "sources", "routes", "engineering", "key citations", "message"]
            self.fh.write("# MSC-EV batch advice\n\n")
            self.fh.write(f"> {DISCLAIMER}\n\n")
            active = {k: v for k, v in self.constraints.as_json().items() if v}
            if active:
                self.fh.write("Constraints: " + ", ".join(f"{k}={_cell(v)}" for k, v in active.items()) + "\n\n")
            self.fh.write("| " + " | ".join(cols) + " |\n")
            self.fh.write("|" + "---|" * len(cols) + "\n")

    def row(self, row: dict):
        if self.fmt in ("csv", "tsv"):
            self._csv.writerow(flat(row, self.carried))
        elif self.fmt == "jsonl":
            self.fh.write(jsonl_line(row))
        elif self.fmt == "markdown":
            f = flat(row, self.carried)
            disease = f"`{f['disease_id']}` {f['disease_name']}" if f["disease_id"] else ""
            cells = [f["row"], f["input"], *(f[n] for n, _ in column_names(self.carried)), f["status"],
                     disease, f["matched_by"], f["level"], f["sources"], f["routes"], f["engineering"],
                     f["citations"], f["message"]]
            self.fh.write("| " + " | ".join(_md(c) for c in cells) + " |\n")

    def end(self, rows: list[dict]):
        counts = summary_counts(rows)
        if self.fmt == "json":
            obj = {"rows": [_structured(r) for r in rows], "summary": counts,
                   "constraints": self.constraints.as_json(), "top": self.top, "disclaimer": DISCLAIMER}
            self.fh.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
        elif self.fmt == "markdown":
            self.fh.write("\n" + summary_line(counts).replace("batch: ", "Summary: ", 1) + "\n\n")
            self.fh.write(f"_{DISCLAIMER}_\n")
        self.fh.flush()

    def write_all(self, rows: list[dict]):
        self.begin()
        for r in rows:
            self.row(r)
        self.end(rows)


def _structured(row: dict) -> dict:
    if isinstance(row, FlatRow):  # pragma: no cover - json never resumes from csv
        raise UsageError("cannot render a CSV row as JSON")
    return {k: v for k, v in row.items() if k != "disclaimer"}


def jsonl_line(row: dict) -> str:
    d = dict(row)
    d["disclaimer"] = DISCLAIMER
    return json.dumps(d, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------
# resume


def journal_path(out_path: str | os.PathLike) -> Path:
    p = Path(out_path)
    return p.with_name(p.name + ".part")


def read_journal(path: Path) -> list[dict]:
    """Complete lines of a journal (a half-written last line, from a crash, is dropped)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                r = json.loads(line)
            except ValueError:
                break
            if isinstance(r, dict) and isinstance(r.get("row"), int):
                r.pop("disclaimer", None)
                rows.append(r)
    return rows


def read_previous(out_path: Path, fmt: str, carried: list[str]) -> list[dict] | None:
    """Rows of a complete previous output; None when the format cannot be read back."""
    if fmt == "jsonl":
        return read_journal(out_path)
    try:
        text = out_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--resume: cannot read {out_path}: {exc}") from None
    if fmt == "json":
        try:
            obj = json.loads(text)
            rows = obj["rows"]
            assert isinstance(rows, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise UsageError(f"--resume: {out_path} is not a JSON batch output") from None
        return rows
    if fmt in ("csv", "tsv"):
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="," if fmt == "csv" else "\t")
        if reader.fieldnames != header(carried):
            raise UsageError(f"--resume: {out_path} has other columns than this run would write")
        rows = []
        for d in reader:
            fr = FlatRow(d)
            try:
                fr.row_number = int(d["row"])  # type: ignore[attr-defined]
            except (TypeError, ValueError):
                raise UsageError(f"--resume: {out_path}: bad row number {d['row']!r}") from None
            rows.append(fr)
        return rows
    return None


def _row_no(r: dict) -> int:
    return r.row_number if isinstance(r, FlatRow) else r["row"]  # type: ignore[attr-defined]


def _check_done(done: list[dict], items: list[Item], where: Path) -> dict[int, dict]:
    by_row = {it.row: it for it in items}
    out: dict[int, dict] = {}
    for r in done:
        n = _row_no(r)
        it = by_row.get(n)
        if it is None or it.text != r["input"]:
            have = repr(it.text) if it else "missing"
            raise UsageError(f"--resume: {where} row {n} holds {r['input']!r} but input row {n} is {have}; "
                             "it is not the output of this input (remove it or run without --resume)")
        out[n] = r
    return out


# ------------------------------------------------------------------------------------------
# running


_W: dict = {}


def _worker_init(dirs: tuple[str, ...], base: Constraints, top: int, env: dict):
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the pool
    os.environ.update(env)
    _W["kb"] = load_cached(dirs[0], tuple(dirs[1:]))
    _W["base"], _W["top"] = base, top


def _worker_score(item: Item) -> dict:
    return score_item(_W["kb"], item, _W["base"], _W["top"])


def results(kb: Knowledge, items: list[Item], base: Constraints, top: int = 3, jobs: int = 1) -> Iterator[dict]:
    """Score ``items``; yield the rows in input order (``jobs`` worker processes when > 1)."""
    if jobs <= 1 or len(items) <= 1:
        for it in items:
            yield score_item(kb, it, base, top)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    env = {k: v for k, v in os.environ.items() if k.startswith("MSC_EV")}
    n = min(jobs, len(items))
    chunk = max(1, min(64, len(items) // (n * 8)))
    pool = ctx.Pool(n, initializer=_worker_init, initargs=(kb.dirs, base, top, env))
    try:
        yield from pool.imap(_worker_score, items, chunksize=chunk)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


class _StopAtRowBoundary:
    """Ctrl-C during a run stops it between two rows, never inside the rule engine.

    durable_rules swallows an exception raised inside a rule action (a KeyboardInterrupt there would
    come back as an engine error on that row and the run would go on), so the first SIGINT only sets
    a flag that the row loop checks; a second one interrupts at once.
    """

    def __init__(self):
        self.hit = False
        self._old = None

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                if self.hit:
                    raise KeyboardInterrupt
                self.hit = True

            try:
                self._old = signal.signal(signal.SIGINT, handler)
            except ValueError:  # pragma: no cover - not the main interpreter
                self._old = None
        return self

    def check(self):
        if self.hit:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


@dataclass
class Outcome:
    rows: list[dict]
    counts: dict
    resumed: int
    elapsed: float

    @property
    def failed(self) -> bool:
        return self.counts["ok"] != self.counts["rows"]


def _progress(total: int, done: int):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    p = Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                 console=Console(stderr=True), transient=True)
    task = p.add_task("scoring", total=total, completed=done)
    return p, task


def run(kb: Knowledge, items: list[Item], carried: list[str], *, base: Constraints = Constraints(),
        top: int = 3, jobs: int = 1, fmt: str = "csv", output: str | None = None,
        stdout: TextIO | None = None, resume: bool = False, progress: bool = False,
        notice: Callable[[str], None] | None = None) -> Outcome:
    """Score every item and write the output (see the module docstring for the guarantees)."""
    t0 = time.perf_counter()
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    check_constraints(kb, base)
    if resume and not output:
        raise UsageError("--resume needs an output file (-o FILE)")
    done: dict[int, dict] = {}
    journal = journal_path(output) if output else None
    if resume:
        target = Path(output)
        if journal.exists():
            done = _check_done(read_journal(journal), items, journal)
        elif target.exists():
            prev = read_previous(target, fmt, carried)
            if prev is None:
                if notice:
                    notice(f"--resume: {fmt} output cannot be read back; scoring every row again")
            else:
                done = _check_done(prev, items, target)
    todo = [it for it in items if it.row not in done]
    new: dict[int, dict] = {}
    bar = task = None
    if progress and todo:
        bar, task = _progress(len(items), len(done))
        bar.start()
    stop = _StopAtRowBoundary()
    try:
        stop.__enter__()
        if output:
            out_dir = Path(output).parent
            if not out_dir.is_dir():
                raise UsageError(f"cannot write {output}: directory {out_dir} does not exist")
            with open(journal, "w", encoding="utf-8") as jf:
                for r in sorted(done.values(), key=_row_no):
                    if not isinstance(r, FlatRow):
                        jf.write(jsonl_line(r))
                jf.flush()
                for r in results(kb, todo, base, top, jobs):
                    new[r["row"]] = r
                    jf.write(jsonl_line(r))
                    jf.flush()
                    if bar is not None:
                        bar.advance(task)
                    stop.check()
            rows = [done.get(it.row) or new[it.row] for it in items]
            _write_atomic(Path(output), fmt, rows, carried, base, top)
            try:
                journal.unlink()
            except OSError:  # pragma: no cover
                pass
        else:
            w = Writer(fmt, stdout or sys.stdout, carried, base, top)
            w.begin()
            rows = []
            for r in results(kb, todo, base, top, jobs):
                rows.append(r)
                if fmt != "json":
                    w.row(r)
                    w.fh.flush()
                if bar is not None:
                    bar.advance(task)
                stop.check()
            w.end(rows)
    finally:
        stop.__exit__(None, None, None)
        if bar is not None:
            bar.stop()
    counts = summary_counts(_status_rows(rows))
    return Outcome(rows, counts, len(done), time.perf_counter() - t0)


def _status_rows(rows):
    for r in rows:
        yield {"status": r["status"]}


def _mode_for(target: Path) -> int:
    """Keep an existing file's mode; a new file gets what the umask allows (mkstemp makes 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        um = os.umask(0)
        os.umask(um)
        return 0o666 & ~um


def _write_atomic(target: Path, fmt: str, rows: list[dict], carried: list[str], base: Constraints, top: int):
    fd, tmp = tempfile.mkstemp(dir=str(target.parent), prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            Writer(fmt, fh, carried, base, top).write_all(rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = ["FORMATS", "INPUT_FORMATS", "STATUSES", "InputError", "Item", "Outcome", "Writer",
           "detect_format", "read_input", "parse_text", "parse_table", "parse_data", "row_constraints",
           "score_item", "results", "run", "summary_line", "journal_path"]
