"""Batch scoring: many diseases in one run, one output row per input row, in input order.

This module is the runner; reading the input (within the declared limits) and writing the
output formats live in :mod:`advisor.batch_io`, the worker processes in :mod:`advisor.batch_pool`.

Four input columns (mapping keys) are per-row constraints:

- ``exclude_source``: source ids separated by ``;``, added to the run-wide ``--exclude-source``;
- ``route``: route ids separated by ``;``, replacing the run-wide ``--route`` for that row;
- ``clinical_only``: ``true``/``false`` (also yes/no, 1/0), replacing ``--clinical-only``;
- ``population``: neonate, child, adult or elderly, replacing ``--population``.

An empty cell leaves the run-wide value; a repeated id counts once. A bad value makes that row
``error``; the run goes on. So does a disease text over the query limits (``MAX_QUERY_CHARS``,
``MAX_QUERY_WORDS``).

Output rows (:func:`score_item`) are dicts with ``row`` (1-based position among the input rows),
``input``, ``columns`` (the carried-through columns), ``status`` (``ok``, ``unknown``,
``ambiguous``, ``error``), ``disease_id``, ``disease_name``, ``matched_by``, ``level`` (the top
source's evidence level, from evidence for this disease), ``sources``/``routes``/``engineering`` (the top
N, each ``{rank, id, name, score, tier, level}``), ``citations`` (the key citations of those items),
``cautions`` (caution ids) and ``message`` (why a row is not ``ok``; for an ``ok`` row, how the words
were read when they were not matched verbatim, else empty).

Formats, and where each states the disclaimer (:data:`advisor.DISCLAIMER`):

- ``csv``/``tsv``: one header line, then one line per row; lists become ``id score; id score``;
  carried columns keep their names (prefixed ``input_`` if they clash with ours). The
  disclaimer is the last column, ``disclaimer``, on every row, so the file stays plain CSV.
- ``json``: one object ``{"rows": [...], "summary": {...}, "constraints": {...}, "top": N,
  "disclaimer": str}``; the summary has the counts per status (no timings: the output of the
  same input is byte-identical whatever ``--jobs``).
- ``jsonl``: one row object per line, with a ``disclaimer`` field.
- ``markdown``: a table, the summary, and the disclaimer before and after.

Streaming: no list of rows is kept. To standard output every format is written row by row as
the rows complete (in input order). To a file (``-o FILE``) every finished row is appended and
flushed to a journal, ``FILE.part`` (JSON lines); when all rows are done the final file is
rendered from the journal into ``.FILE.tmp`` in the same directory and moved over ``FILE`` with
``os.replace``. Memory stays flat in the number of rows.

Nothing is lost (:func:`run`): a crash, a kill or Ctrl-C leaves ``FILE`` as it was (or absent)
and the finished rows in ``FILE.part``, whose first line records the run's options and knowledge
(:func:`journal_header`). ``resume=True`` skips the rows found in ``FILE.part`` (a torn last line
is cut off and the journal appended to) when its header matches this run, and refuses otherwise;
a finished ``FILE`` (no journal) records neither, so every row is scored again. The rows already
done must match the input (same position, same text), or the run stops. A leftover ``.FILE.tmp``
(a kill during the final write) is removed by the next run, with a notice. ``-o`` is checked
before any row is scored (:func:`check_output`, advisor/fileio.py): a directory, device, FIFO,
read-only file, a place where nothing can be created, or the input itself is refused, and so is
a journal that is a link, a FIFO or a directory (it is opened with ``O_NOFOLLOW``).

Signals: SIGINT and SIGTERM stop the run between two rows (the rule engine swallows exceptions
raised inside its actions, so the handler only sets a flag; a second SIGINT interrupts at once);
:func:`run` then raises :class:`BatchInterrupted` (a ``KeyboardInterrupt`` carrying the signal)
and the CLI exits 130 or 143, quietly, with a resumable journal.

Parallel work (``jobs > 1``): :class:`advisor.batch_pool.WorkerPool` (``spawn`` processes,
each loads the knowledge base once). Results are consumed in input order, so the output is
byte-identical to ``jobs=1``. A worker that dies while scoring a row makes that row ``error``
("worker process died (SIGABRT)") and a new worker takes over; the batch goes on. With
``jobs=1`` rows are scored in this process, where such a crash ends the run (the journal keeps
the finished rows).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

# input and output live in batch_io; these names are re-exported for callers of advisor.batch
from . import fileio
from .fileio import discard
from .batch_io import (EXTENSIONS, FIXED, FORMATS, INPUT_FORMATS, JOURNAL_MAGIC, STATUSES, FlatRow, InputError, Item, Rows,
                       Writer, column_names, detect_format, flat, header, iter_journal, journal_path, jsonl_line,
                       new_counts, parse_data, parse_table, parse_text, read_header, read_input, read_journal, read_previous,
                       row_no, summary_counts, summary_line, temp_path)
from .consult import AXES, DISCLAIMER, Constraints, NoCandidates, check_constraints, consult, require_candidates
from .errors import AdvisorError, AmbiguousDisease, UnknownDisease, UsageError
from .kb import Knowledge
from .kbcache import load_cached
from .limits import MAX_CONSTRAINT_CHARS, LimitError, check_constraint_values, check_query, shown

CONSTRAINT_COLUMNS = ("exclude_source", "route", "clinical_only", "population")
MAX_CITATIONS = 5
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class BatchInterrupted(KeyboardInterrupt):
    """The run stopped on a signal (SIGINT or SIGTERM) between two rows; ``exit_code`` is 128 + signal."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + int(signum)


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
        raise UsageError(f"{what} must be ids separated by ';', got {shown(value)}")
    vals = [v for v in vals if v]
    check_constraint_values(what, vals)
    return tuple(dict.fromkeys(vals))  # a repeated id counts once


def row_constraints(base: Constraints, columns: dict) -> Constraints:
    """The constraints for one row: the run-wide ones with this row's constraint columns applied."""
    exclude = base.exclude_sources
    extra = _ids(columns.get("exclude_source"), "exclude_source")
    exclude = tuple(dict.fromkeys(exclude + extra))
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
            raise UsageError(f"clinical_only must be true or false, got {shown(co)}")
    population = base.population
    pop = columns.get("population")
    if pop is not None and str(pop).strip() != "":
        population = str(pop).strip()
        if len(population) > MAX_CONSTRAINT_CHARS:
            raise LimitError("population", "MAX_CONSTRAINT_CHARS", f"value {shown(population, 20)} is too long")
    return Constraints(exclude, routes, clinical, population)


def _blank(item: Item, status: str, message: str) -> dict:
    return {"row": item.row, "input": item.text, "columns": item.columns, "status": status,
            "disease_id": None, "disease_name": None, "matched_by": None, "level": None,
            "sources": [], "routes": [], "engineering": [], "citations": [], "cautions": [],
            "message": message}


def score_item(kb: Knowledge, item: Item, base: Constraints, top: int = 3,
               stability: tuple[int, int] | None = None, *, more: Callable | None = None) -> dict:
    """Score one input row. Never raises for a bad row: the status and message say what went wrong.
    ``more(kb, advice)``, if given, returns fields added to an ``ok`` row from the same consultation."""
    if item.problem:
        return _blank(item, "error", item.problem)
    try:
        check_query(item.text, "input")
        cons = row_constraints(base, item.columns)
        adv = consult(kb, item.text, cons)
        require_candidates(adv)  # as advise: nothing left to rank is not an answer
    except NoCandidates as exc:
        out = _blank(item, "error", exc.message())
        res = adv.resolution
        out.update(disease_id=res.id, disease_name=res.name, matched_by=res.matched_by)
        return out
    except UnknownDisease as exc:
        return _blank(item, "unknown", exc.message())
    except AmbiguousDisease as exc:
        return _blank(item, "ambiguous", exc.message())
    except AdvisorError as exc:
        return _blank(item, "error", exc.message())
    except Exception as exc:  # a bad row never stops the run
        return _blank(item, "error", f"internal error: {type(exc).__name__}: {str(exc)[:200]}")
    out = _blank(item, "ok", "; ".join(adv.resolution.notes))  # how the words were read, if not verbatim
    res = adv.resolution
    out.update(disease_id=res.id, disease_name=res.name, matched_by=res.matched_by)
    cites = []
    for axis in AXES:
        recs = adv.recs[axis][:top] if top else adv.recs[axis]
        out[axis] = [{"rank": r.rank, "id": r.id, "name": r.name, "score": round(r.score, 3),
                      "tier": r.tier, "level": r.level} for r in recs]
        for r in recs:
            if r.key_citation and r.key_citation not in cites:
                cites.append(r.key_citation)
    first = adv.recs["sources"][0] if adv.recs["sources"] else None
    out["level"] = first.level if first else None  # the top source's level: evidence for this disease
    if stability:  # (samples, seed): how often each axis' #1 stays #1 under perturbed weights
        from . import stability as S

        out["stability"] = S.stability_cell(adv, S.stability(kb, adv, *stability))
    out["citations"] = cites[:MAX_CITATIONS]
    out["cautions"] = [c["id"] for c in adv.cautions]
    if more is not None:
        out.update(more(kb, adv))
    return out


# ------------------------------------------------------------------------------------------
# running


def _worker_init(dirs: tuple[str, ...], env: dict):
    """A worker's state: the knowledge base (the run's settings arrive as the pool's setup)."""
    os.environ.update(env)
    return {"kb": load_cached(dirs[0], tuple(dirs[1:]))}


def _worker_score(state: dict, item: Item) -> dict:
    return score_item(state["kb"], item, state["base"], state["top"], state.get("stability"))


def _died(item: Item, reason: str) -> dict:
    return _blank(item, "error", f"{reason} while scoring this row; the batch went on")


def _raised(item: Item, reason: str) -> dict:
    return _blank(item, "error", f"internal error: {reason}")


# The functions a worker runs: (init, score); a test may swap in its own (module-level) pair.
WORKER = (_worker_init, _worker_score)


def results(kb: Knowledge, items: Iterable[Item], base: Constraints, top: int = 3, jobs: int = 1,
            check: Callable[[], None] = lambda: None, worker=None,
            stability: tuple[int, int] | None = None, pool=None) -> Iterator[dict]:
    """Score ``items``; yield the rows in input order (``jobs`` worker processes when > 1: those of
    ``pool`` when one was started, :func:`start_pool`)."""
    try:
        n_items = len(items)  # type: ignore[arg-type]
    except TypeError:
        n_items = None
    if jobs <= 1 or (n_items is not None and n_items <= 1):
        extra = (stability,) if stability else ()  # score_item's signature stays (kb, item, base, top) otherwise
        for it in items:
            yield score_item(kb, it, base, top, *extra)
        return
    setup = {"base": base, "top": top, "stability": stability}
    if pool is None or worker is not None:
        n = min(jobs, n_items) if n_items is not None else jobs
        pool = start_pool(kb, n, worker)
    pool.configure(setup)
    yield from pool.map(items, check)


def start_pool(kb: Knowledge, jobs: int, worker=None):
    """Start ``jobs`` worker processes for a batch over ``kb`` now, so that they import and load the
    knowledge base while the caller reads its input; hand the pool to :func:`run` (``pool=``), or
    ``close()`` it. The environment's ``MSC_EV_*`` settings (``--no-reuse`` among them) go with them."""
    from .batch_pool import WorkerPool

    init, score = worker or WORKER
    jobs = max(1, min(int(jobs), cores()))  # before any worker starts (run caps it at the rows too)
    env = {k: v for k, v in os.environ.items() if k.startswith("MSC_EV")}
    return WorkerPool(jobs, init, (kb.dirs, env), score, on_death=_died, on_raise=_raised).start()


class _StopAtRowBoundary:
    """SIGINT or SIGTERM during a run stops it between two rows, never inside the rule engine.

    A row is never cut in half (an interrupted consultation would leave a row half scored and its
    engine session to clean up), so a signal only sets a flag that the row loop checks; a second
    SIGINT interrupts at once.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.hit: int | None = None
        self._old: dict = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                if self.hit is not None and signum == signal.SIGINT:
                    raise BatchInterrupted(signum)
                self.hit = signum

            for s in self.SIGNALS:
                try:
                    self._old[s] = signal.signal(s, handler)
                except (ValueError, OSError):  # pragma: no cover - not the main interpreter
                    pass
        return self

    def check(self):
        if self.hit is not None:
            raise BatchInterrupted(self.hit)

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old = {}
        return False


@dataclass
class Outcome:
    rows: list[dict]  # only when run(..., collect=True); empty otherwise (rows are streamed)
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


def check_output(output: str, inputs=()) -> Path:
    """Refuse, before any row is scored, an output that cannot be written (advisor/fileio.py), one
    that is an input, and a journal ``OUTPUT.part`` that is a link, a FIFO, a directory or an input."""
    target = fileio.check_target(output, inputs)
    journal = journal_path(output)
    label = f"the journal {fileio.name_of(journal)}"
    fileio.check_journal(journal, label)
    try:
        jst = os.stat(journal)
    except OSError:
        jst = None
    if jst is not None:
        for p in inputs:
            try:
                if p and p != "-" and fileio.same_file(os.stat(p), jst):
                    raise fileio.OutputError(f"cannot use {label}: it is the input file; give another output name")
            except OSError:
                pass
    return target


def cores() -> int:
    """The processor cores this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


JOURNAL_VERSION = 1


def journal_header(kb: Knowledge, base: Constraints, top: int, stability, carried: list[str]) -> dict:
    """What the rows of a run depend on: its options and its knowledge (a digest of the files)."""
    from hashlib import blake2b

    h = blake2b(digest_size=16)
    for f in getattr(kb, "files", ()):
        h.update(f.encode("utf-8", "surrogateescape") + b"\0")
    for d in getattr(kb, "dirs", ()):
        for p in sorted(Path(d).rglob("*.yaml")):
            try:
                h.update(p.read_bytes())
            except OSError:
                h.update(b"?")
    from . import __version__

    return {"journal": JOURNAL_MAGIC, "version": JOURNAL_VERSION, "msc_ev": __version__,
            "options": {"top": top, **base.as_json(), "stability": list(stability) if stability else None,
                        "columns": list(carried)},
            "knowledge": {"dirs": list(getattr(kb, "dirs", ())), "digest": h.hexdigest()}}


def _open_journal(journal: Path, keep_bytes: int | None, output: str, header: dict | None = None):
    """The journal, opened for appending without following a link: cut to ``keep_bytes`` (resume)
    or emptied and started with its header line (a new run)."""
    fh = fileio.open_journal(journal, keep_bytes, f"the journal {fileio.name_of(journal_path(output))}")
    if keep_bytes is None and header is not None:
        try:
            fh.write(json.dumps(header, ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
        except OSError as exc:
            fh.close()
            raise fileio.OutputError(f"cannot write the journal {fileio.name_of(journal.name)}: "
                                     f"{exc.strerror or exc}") from None
    return fh


def _differences(old: dict, new: dict) -> list[str]:
    out = []
    for k in ("msc_ev",):
        if old.get(k) != new.get(k):
            out.append(f"msc-ev {old.get(k)} (now {new.get(k)})")
    for k, v in new["options"].items():
        was = (old.get("options") or {}).get(k)
        if was != v:
            out.append(f"{k} {fileio.inert(json.dumps(was, sort_keys=True), 80)} (now "
                       f"{fileio.inert(json.dumps(v, sort_keys=True), 80)})")
    if old.get("knowledge") != new["knowledge"]:
        out.append("another knowledge base (its files or --kb/--kb-extra differ)")
    return out


def _check_header(journal: Path, found, header: dict) -> None:
    shown_j = fileio.name_of(journal)
    if not isinstance(found, dict) or found.get("journal") != JOURNAL_MAGIC:
        raise UsageError(f"--resume: {shown_j} does not start with the header of an msc-ev batch journal; "
                         "remove it or run without --resume")
    diff = _differences(found, header)
    if diff:
        raise UsageError(f"--resume: {shown_j} was started with other options or knowledge: {'; '.join(diff)}; "
                         "run with the same ones, or without --resume")


def _remove_leftover(target: Path, notice) -> None:
    tmp = temp_path(target)
    if tmp.exists() or tmp.is_symlink():
        try:
            tmp.unlink()
        except OSError as exc:
            raise UsageError(f"cannot remove the leftover temporary file {tmp}: {exc.strerror or exc}") from None
        if notice:
            notice(f"removed {tmp.name}, left by an interrupted final write")


def _done_from_journal(journal: Path, header: dict) -> tuple[dict[int, dict], int, bool]:
    """Rows already in the journal: ({row: {"input": text}}, bytes of complete lines, in row order).
    The journal's header must record the options and knowledge of this run."""
    found, keep = read_header(journal)
    _check_header(journal, found, header)
    done: dict[int, dict] = {}
    in_order, last = True, 0
    for offset, r in iter_journal(journal):
        done[r["row"]] = {"input": r["input"]}  # only what the check needs: the rows are read again later
        keep = offset
        if r["row"] <= last:
            in_order = False
        last = r["row"]
    return done, keep, in_order


def _check_done(done: dict[int, dict], items: Iterable[Item], where: Path) -> None:
    """Every row already done must be the same input row (position and text)."""
    left = set(done)
    for it in items:
        r = done.get(it.row)
        if r is None:
            continue
        left.discard(it.row)
        if it.text != r["input"]:
            raise UsageError(f"--resume: {where} row {it.row} holds {shown(r['input'])} but input row {it.row} "
                             f"is {shown(it.text)}; it is not the output of this input "
                             "(remove it or run without --resume)")
    if left:
        n = min(left)
        raise UsageError(f"--resume: {where} row {n} holds {shown(done[n]['input'])} but the input has no row {n}; "
                         "it is not the output of this input (remove it or run without --resume)")


def _final_rows(items: Iterable[Item], kept: dict[int, dict], journal: Path, in_order: bool) -> Iterator[dict]:
    """The rows in input order: rows kept from a previous output, the others read back from the journal."""
    if not in_order:  # a journal that is not in row order (unusual): index it in memory
        by_row = {r["row"]: r for _, r in iter_journal(journal)}
        for it in items:
            yield kept.get(it.row) or by_row[it.row]
        return
    rows = (r for _, r in iter_journal(journal))
    for it in items:
        r = kept.get(it.row)
        if r is None:
            r = next(rows, None)
            while r is not None and r["row"] < it.row:  # pragma: no cover - rows of another input
                r = next(rows, None)
            if r is None or r["row"] != it.row:
                raise UsageError(f"row {it.row} is missing from the journal {journal}; run again with --resume")
        yield r


def run(kb: Knowledge, items: Iterable[Item], carried: list[str], *, base: Constraints = Constraints(),
        top: int = 3, jobs: int = 1, fmt: str = "csv", output: str | None = None,
        stdout: TextIO | None = None, resume: bool = False, progress: bool = False,
        notice: Callable[[str], None] | None = None, collect: bool = False, worker=None,
        stability: tuple[int, int] | None = None, pool=None, inputs: Iterable[str] = ()) -> Outcome:
    """Score every item and write the output (see the module docstring for the guarantees).

    ``collect=True`` also returns every row in ``Outcome.rows`` (for small runs and tests; the
    CLI streams and keeps none). ``pool``: workers started beforehand (:func:`start_pool`); it is
    closed when the run ends, used or not. ``inputs``: the files the items were read from (the
    output and its journal may not be one of them). ``jobs`` is capped at the cores this process
    may use and at the rows left to score.
    """
    try:
        return _run(kb, items, carried, base=base, top=top, jobs=jobs, fmt=fmt, output=output, stdout=stdout,
                    resume=resume, progress=progress, notice=notice, collect=collect, worker=worker,
                    stability=stability, pool=pool, inputs=inputs)
    finally:
        if pool is not None:
            pool.close()


def _run(kb: Knowledge, items: Iterable[Item], carried: list[str], *, base: Constraints, top: int, jobs: int,
         fmt: str, output: str | None, stdout: TextIO | None, resume: bool, progress: bool,
         notice: Callable[[str], None] | None, collect: bool, worker, stability: tuple[int, int] | None,
         pool, inputs: Iterable[str] = ()) -> Outcome:
    t0 = time.perf_counter()
    extra = ("stability",) if stability else ()
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {shown(fmt)}; use one of {', '.join(FORMATS)}")
    check_constraints(kb, base)
    if resume and not output:
        raise UsageError("--resume needs an output file (-o FILE)")
    if not isinstance(items, (list, tuple, Rows)):
        items = list(items)
    total = len(items)
    kept: dict[int, dict] = {}  # rows of a previous complete output (resume), not in the journal
    journal = journal_path(output) if output else None
    target = check_output(output, tuple(inputs)) if output else None
    header = journal_header(kb, base, top, stability, carried) if output else None
    keep_bytes: int | None = None
    in_order = True
    if target is not None:
        _remove_leftover(target, notice)
    if resume:
        if os.path.lexists(journal):
            kept, keep_bytes, in_order = _done_from_journal(journal, header)
            _check_done(kept, items, journal)
        elif target.exists() and notice:
            # a finished output records neither its options nor its knowledge: it cannot be checked
            notice(f"--resume: no journal {fileio.name_of(journal.name)} (the run finished); "
                   "scoring every row again")
    in_journal = set(kept) if keep_bytes is not None else set()  # resumed rows already journalled
    resumed = len(kept)
    if keep_bytes is not None:
        kept = {}  # they are read back from the journal, not held
    todo = (it for it in items if it.row not in in_journal and it.row not in kept)
    jobs = max(1, min(int(jobs), cores(), total - resumed))  # before any worker starts
    collected: list[dict] = []
    bar = task = None
    if progress and resumed < total:
        bar, task = _progress(total, resumed)
        bar.start()
    stop = _StopAtRowBoundary()
    counts = new_counts()
    try:
        stop.__enter__()
        if output:
            last = max(in_journal) if in_journal else 0
            with _open_journal(journal, keep_bytes, output, header) as jf, \
                    contextlib.closing(results(kb, todo, base, top, jobs, stop.check, worker, stability, pool)) as scored:
                for r in scored:
                    if r["row"] <= last:
                        in_order = False
                    last = r["row"]
                    try:
                        jf.write(jsonl_line(r))
                        jf.flush()
                    except OSError as exc:
                        raise fileio.OutputError(
                            f"cannot write the journal {fileio.name_of(journal.name)}: {exc.strerror or exc}; "
                            "the rows written so far are kept: run again with --resume") from None
                    if bar is not None:
                        bar.advance(task)
                    stop.check()
            rows = _final_rows(items, kept, journal, in_order)
            counts = _write_atomic(target, fmt, rows, carried, base, top, collected if collect else None, extra)
            try:
                journal.unlink()
            except OSError:  # pragma: no cover
                pass
        else:
            w = Writer(fmt, stdout or sys.stdout, carried, base, top, extra)
            w.begin()
            with contextlib.closing(results(kb, todo, base, top, jobs, stop.check, worker, stability, pool)) as scored:
                for r in scored:
                    w.row(r)
                    w.fh.flush()
                    if collect:
                        collected.append(r)
                    if bar is not None:
                        bar.advance(task)
                    stop.check()
            w.end()
            counts = w.counts
    finally:
        stop.__exit__(None, None, None)
        if bar is not None:
            bar.stop()
    return Outcome(collected, counts, resumed, time.perf_counter() - t0)


def _write_atomic(target: Path, fmt: str, rows: Iterable[dict], carried: list[str], base: Constraints, top: int,
                  collected: list | None = None, extra: tuple[str, ...] = ()) -> dict:
    """Render ``rows`` into ``.TARGET.tmp`` and move it over ``target`` (advisor/fileio.py: fsynced,
    the mode of the file it replaces, never through a link); return the counts."""
    try:
        with fileio.AtomicFile(target, tmp=temp_path(target), checked=True, newline="") as fh:
            w = Writer(fmt, fh, carried, base, top, extra)
            w.begin()
            for r in rows:
                w.row(r)
                if collected is not None:
                    collected.append(r)
            w.end()
    except fileio.OutputError as exc:
        raise fileio.OutputError(f"{exc}; the finished rows are in {fileio.name_of(journal_path(target).name)}: "
                                 "run again with --resume") from None
    return w.counts


__all__ = ["FORMATS", "INPUT_FORMATS", "STATUSES", "BatchInterrupted", "check_output", "cores", "InputError", "Item", "Outcome", "Rows",
           "Writer", "detect_format", "read_input", "parse_text", "parse_table", "parse_data", "row_constraints",
           "score_item", "results", "run", "summary_line", "journal_path", "temp_path"]
