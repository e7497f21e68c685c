"""Batch input and output: reading rows within the declared limits, writing rows as they come.

Input (:func:`read_input`): a text file (one disease a line; blank lines and lines starting with
``#`` are skipped), CSV or TSV with a ``disease`` column, or a YAML / JSON list whose items are
strings or mappings with a ``disease`` key. The format comes from the extension (``.txt``,
``.csv``, ``.tsv``, ``.yaml``/``.yml``, ``.json``; anything else is text) or is given
explicitly; standard input (``-``) is text unless told otherwise. Other columns (mapping keys)
are carried through to the output.

Limits (:mod:`advisor.limits`, listed in ``docs/limits.md``) are checked before anything is
parsed: the input's size (read at most ``MAX_INPUT_BYTES`` + 1 bytes, so ``/dev/zero`` is
refused at once), UTF-8 (a bad byte is reported by line and column), the length of a line and of
a row, the nesting depth and the YAML alias expansion, and the number of rows and columns. A
broken input is one message and exit 2 before any row is scored.

Rows are not held in memory: :func:`read_input` returns a :class:`Rows`, a re-iterable sequence
that makes its :class:`Item` objects from the (bounded) text each time it is iterated.

Writers (:class:`Writer`) write row by row for every format (JSON too: the rows array is written
as it grows and the summary at the end), with the same bytes as one ``json.dumps(indent=2)``.
The journal helpers (:func:`journal_path`, :func:`read_journal`, :func:`read_previous`) read
back what an earlier run left.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

from .consult import AXES, DISCLAIMER, Constraints
from .echo import inert, markdown_text
from .errors import UsageError
from .limits import (MAX_COLUMNS, MAX_INPUT_BYTES, MAX_ROW_CHARS, MAX_ROWS, LimitError, check_json_depth,
                     check_lines, check_yaml_events, decode_utf8, read_bounded, shown)

STATUSES = ("ok", "unknown", "ambiguous", "error")
FORMATS = ("csv", "tsv", "json", "jsonl", "markdown")
INPUT_FORMATS = ("text", "csv", "tsv", "yaml", "json")
EXTENSIONS = {".txt": "text", ".text": "text", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
              ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
FIXED = ("status", "disease_id", "disease_name", "matched_by", "level", "sources", "routes",
         "engineering", "citations", "cautions", "message")


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


class Rows:
    """The input rows: ``len()`` is known up front; each iteration makes the items afresh."""

    def __init__(self, make: Callable[[], Iterator[Item]], count: int):
        self._make, self._count = make, count

    def __iter__(self) -> Iterator[Item]:
        return self._make()

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i):  # convenience for tests and small inputs
        return list(self)[i]


def detect_format(path: str, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in INPUT_FORMATS:
            raise InputError(f"unknown input format {shown(explicit)}; use one of {', '.join(INPUT_FORMATS)}")
        return explicit
    if path == "-":
        return "text"
    return EXTENSIONS.get(Path(path).suffix.lower(), "text")


def read_text(path: str, stdin=None) -> tuple[str, str]:
    """The UTF-8 text of ``path`` (``-``: standard input) and how to name it in messages."""
    if path == "-":
        where = "standard input"
        stream = stdin if stdin is not None else sys.stdin
        raw = getattr(stream, "buffer", None)
        if raw is not None:
            data = read_bounded(raw, MAX_INPUT_BYTES, "MAX_INPUT_BYTES", where)
        else:  # a text stream (tests, CliRunner)
            text = stream.read(MAX_INPUT_BYTES + 1)
            data = text.encode("utf-8", "surrogateescape")
            if len(data) > MAX_INPUT_BYTES:
                raise LimitError(where, "MAX_INPUT_BYTES", f"larger than {MAX_INPUT_BYTES:,} bytes")
    else:
        where = path if len(path) <= 200 else path[:200] + "..."
        try:
            with open(path, "rb") as fh:
                data = read_bounded(fh, MAX_INPUT_BYTES, "MAX_INPUT_BYTES", where)
        except OSError as exc:
            raise InputError(f"cannot read input {where}: {exc.strerror or exc}") from None
    try:
        return decode_utf8(data, where), where
    except UsageError as exc:
        raise InputError(str(exc)) from None


def read_input(path: str, fmt: str | None = None, stdin: TextIO | None = None) -> tuple[Rows, list[str]]:
    """Read the rows of ``path`` (``-``: standard input). Return the rows and the carried column names."""
    fmt = detect_format(path, fmt)
    text, where = read_text(path, stdin)
    if fmt == "text":
        return parse_text(text, where), []
    if fmt in ("csv", "tsv"):
        return parse_table(text, "," if fmt == "csv" else "\t", where)
    return parse_data(_load_data(text, fmt, where), where)


def _text_items(text: str) -> Iterator[Item]:
    n = 0
    for line in io.StringIO(text, newline=None):
        s = line.strip()
        if s and not s.startswith("#"):
            n += 1
            yield Item(n, s)


def parse_text(text: str, where: str = "input") -> Rows:
    check_lines(text, where)
    count = sum(1 for _ in _text_items(text))
    if count > MAX_ROWS:
        raise LimitError(where, "MAX_ROWS", f"more than {MAX_ROWS:,} rows")
    return Rows(lambda: _text_items(text), count)


def _table_header(reader, where: str, delimiter: str) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{where}: empty; expected a header line with a 'disease' column") from None
    except csv.Error as exc:
        raise InputError(f"{where}: not valid {'CSV' if delimiter == ',' else 'TSV'}: {exc}") from None
    return [h.strip() for h in header]


def parse_table(text: str, delimiter: str, where: str = "input") -> tuple[Rows, list[str]]:
    check_lines(text, where)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = _table_header(reader, where, delimiter)
    if len(header) > MAX_COLUMNS:
        raise LimitError(f"{where}:1", "MAX_COLUMNS", f"{len(header):,} columns")
    lowered = [h.lower() for h in header]
    if "disease" not in lowered:
        cols = ", ".join(shown(h, 30) for h in header[:10]) or "none"
        raise InputError(f"{where}: no 'disease' column (columns: {cols})")
    di = lowered.index("disease")
    carried = [h for i, h in enumerate(header) if i != di]
    # first pass: syntax, row sizes and count, before any row is scored
    count = 0
    start = 0  # the line the last record started on
    try:
        before = reader.line_num
        for cells in reader:
            start, before = before + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            count += 1
            if sum(len(c) for c in cells) > MAX_ROW_CHARS:
                raise LimitError(f"{where}:{reader.line_num}", "MAX_ROW_CHARS",
                                 f"row longer than {MAX_ROW_CHARS:,} characters")
            if count > MAX_ROWS:
                raise LimitError(where, "MAX_ROWS", f"more than {MAX_ROWS:,} rows")
        if start:
            _check_closed(text, delimiter, start, where)
    except csv.Error as exc:
        raise InputError(f"{where}: line {reader.line_num}: {exc}") from None

    def items() -> Iterator[Item]:
        rd = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        next(rd)
        n = 0
        for cells in rd:
            if not any(c.strip() for c in cells):
                continue  # blank line
            n += 1
            cols = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if i != di}
            disease = cells[di].strip() if di < len(cells) else ""
            problem = ""
            if len(cells) > len(header):
                problem = f"row has {len(cells)} fields but the header has {len(header)}"
            elif not disease:
                problem = "empty 'disease' cell"
            yield Item(n, disease, cols, problem)

    return Rows(items, count), carried


def _check_closed(text: str, delimiter: str, start: int, where: str) -> None:
    """The last record (from line ``start``) must not end inside a quoted field: an unterminated
    quote would otherwise swallow the rest of the file into one cell."""
    import itertools

    offset = sum(len(line) for line in itertools.islice(io.StringIO(text, newline=""), start - 1))
    try:
        for _ in csv.reader(io.StringIO(text[offset:], newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(f"{where}:{start}: unterminated quoted field: the quote opened on this line is "
                             "never closed") from None


def _load_data(text: str, fmt: str, where: str):
    if fmt == "json":
        check_json_depth(text, where)
        try:
            return json.loads(text)
        except RecursionError:  # pragma: no cover - the depth check comes first
            raise LimitError(where, "MAX_DEPTH", "nested too deeply") from None
        except ValueError as exc:
            raise InputError(f"{where}: not valid JSON: {exc}") from None
    import yaml

    check_yaml_events(text, where)
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise LimitError(where, "MAX_DEPTH", "nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" (line {mark.line + 1})" if mark is not None else ""
        what = str(getattr(exc, "problem", None) or exc)[:200]
        raise InputError(f"{where}: not valid YAML{pos}: {what}") from None


def _plain(v):
    """A carried value as JSON can hold it."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return str(v)


def _size(v) -> int:
    """Characters of a value written as JSON (bounded work: the value's size is bounded by the file)."""
    return len(json.dumps(_plain(v), ensure_ascii=False))


def parse_data(data, where: str = "input") -> tuple[Rows, list[str]]:
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InputError(f"{where}: expected a list of diseases (strings or mappings with a 'disease' key)")
    if len(data) > MAX_ROWS:
        raise LimitError(where, "MAX_ROWS", f"more than {MAX_ROWS:,} rows")
    carried: list[str] = []
    seen: set[str] = set()
    for i, x in enumerate(data, 1):
        if _size(x) > MAX_ROW_CHARS:
            raise LimitError(f"{where}: item {i}", "MAX_ROW_CHARS", f"item longer than {MAX_ROW_CHARS:,} characters")
        if isinstance(x, dict):
            for k in x:
                k = str(k)
                if k != "disease" and k not in seen:
                    seen.add(k)
                    carried.append(k)
                    if len(carried) > MAX_COLUMNS:
                        raise LimitError(f"{where}: item {i}", "MAX_COLUMNS", f"more than {MAX_COLUMNS:,} columns")

    def items() -> Iterator[Item]:
        for i, x in enumerate(data, 1):
            if isinstance(x, str):
                yield Item(i, x.strip(), {}, "" if x.strip() else "empty disease")
            elif isinstance(x, dict):
                cols = {str(k): _plain(v) for k, v in x.items() if str(k) != "disease"}
                d = x.get("disease")
                if not isinstance(d, str) or not d.strip():
                    yield Item(i, "" if d is None else json.dumps(_plain(d)) if not isinstance(d, str) else d,
                               cols, "item has no 'disease' text")
                else:
                    yield Item(i, d.strip(), cols)
            else:
                yield Item(i, "" if x is None else json.dumps(_plain(x)), {},
                           f"item is a {type(x).__name__}, not a disease name or a mapping")

    return Rows(items, len(data)), carried


# ------------------------------------------------------------------------------------------
# writers


def _cell(v) -> str:
    """A CSV/TSV/Markdown cell: one line of inert text (control characters shown escaped)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "; ".join(_cell(x) for x in v)
    if isinstance(v, dict):
        return inert(json.dumps(v, ensure_ascii=False, sort_keys=True))
    return inert(v)


def _recs_cell(recs: list[dict]) -> str:
    """One axis in a text cell: each item with its tier next to its score, ``uc-msc T2 0.894``.

    The tier is shown because it orders the items before the score does: without it a lower score
    ranked above a higher one reads as a mistake."""
    return "; ".join(f"{r['id']} T{r['tier']} {r['score']:.3f}" for r in recs)


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


def header(carried: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """The CSV/TSV columns; ``extra`` are optional computed columns (``stability`` with --stability)."""
    return ["row", "input", *(n for n, _ in column_names(carried)), *FIXED, *extra, "disclaimer"]


class FlatRow(dict):
    """A row read back from a previous CSV/TSV output: written again exactly as it was."""


def flat(row: dict, carried: list[str], extra: tuple[str, ...] = ()) -> dict:
    if isinstance(row, FlatRow):
        return row
    d = {"row": str(row["row"]), "input": inert(row["input"])}
    for name, c in column_names(carried):
        d[name] = _cell(row["columns"].get(c))
    for k in FIXED:
        v = row[k]
        d[k] = _recs_cell(v) if k in AXES else _cell(v)
    for k in extra:
        d[k] = _cell(row.get(k))
    d["disclaimer"] = DISCLAIMER
    return d


def _md(v: str) -> str:
    return markdown_text(v).replace("\\", "\\\\").replace("|", "\\|")


def new_counts() -> dict:
    return {"rows": 0, **{s: 0 for s in STATUSES}}


def summary_counts(rows: Iterable[dict]) -> dict:
    counts = new_counts()
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


def _indented(obj, level: int) -> str:
    """``json.dumps(obj, indent=2)`` as it appears ``level`` indents deep inside a bigger dump."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    pad = "  " * level
    return text.replace("\n", "\n" + pad)


class Writer:
    """Writes rows in order as they come: ``begin``, ``row`` for each row, then ``end``.

    It counts the statuses itself, so ``end`` needs no list of rows (``end(rows)`` is accepted
    for callers that have one; the counts are the same).
    """

    def __init__(self, fmt: str, fh: TextIO, carried: list[str], constraints: Constraints, top: int,
                 extra: tuple[str, ...] = ()):
        if fmt not in FORMATS:
            raise UsageError(f"unknown output format {shown(fmt)}; use one of {', '.join(FORMATS)}")
        self.fmt, self.fh, self.carried, self.constraints, self.top = fmt, fh, carried, constraints, top
        self.extra = extra
        self._csv = None
        self.counts = new_counts()

    def begin(self):
        if self.fmt in ("csv", "tsv"):
            self._csv = csv.DictWriter(self.fh, fieldnames=header(self.carried, self.extra),
                                       delimiter="," if self.fmt == "csv" else "\t",
                                       lineterminator="\n", extrasaction="raise")
            self._csv.writeheader()
        elif self.fmt == "json":
            self.fh.write('{\n  "rows": [')
        elif self.fmt == "markdown":
            cols = ["row", "input", *(n for n, _ in column_names(self.carried)), "status", "disease",
                    "matched by", "level", "sources", "routes", "engineering", "key citations", "message",
                    *self.extra]
            self.fh.write("# MSC-EV batch advice\n\n")
            self.fh.write(f"> {DISCLAIMER}\n\n")
            active = {k: v for k, v in self.constraints.as_json().items() if v}
            if active:
                self.fh.write("Constraints: " + ", ".join(f"{k}={_cell(v)}" for k, v in active.items()) + "\n\n")
            self.fh.write("| " + " | ".join(cols) + " |\n")
            self.fh.write("|" + "---|" * len(cols) + "\n")

    def row(self, row: dict):
        self.counts["rows"] += 1
        self.counts[row["status"]] += 1
        if self.fmt in ("csv", "tsv"):
            self._csv.writerow(flat(row, self.carried, self.extra))
        elif self.fmt == "jsonl":
            self.fh.write(jsonl_line(row))
        elif self.fmt == "json":
            sep = "\n    " if self.counts["rows"] == 1 else ",\n    "
            self.fh.write(sep + _indented(_structured(row), 2))
        elif self.fmt == "markdown":
            f = flat(row, self.carried, self.extra)
            disease = f"`{f['disease_id']}` {f['disease_name']}" if f["disease_id"] else ""
            cells = [f["row"], f["input"], *(f[n] for n, _ in column_names(self.carried)), f["status"],
                     disease, f["matched_by"], f["level"], f["sources"], f["routes"], f["engineering"],
                     f["citations"], f["message"], *(f[k] for k in self.extra)]
            self.fh.write("| " + " | ".join(_md(c) for c in cells) + " |\n")

    def end(self, rows: Iterable[dict] | None = None):
        counts = self.counts
        if self.fmt == "json":
            self.fh.write("\n  ]," if counts["rows"] else "],")
            tail = {"summary": counts, "constraints": self.constraints.as_json(), "top": self.top,
                    "disclaimer": DISCLAIMER}
            body = _indented(tail, 0)  # "{\n  "summary": ...\n}"
            self.fh.write(body[1:] + "\n")
        elif self.fmt == "markdown":
            self.fh.write("\n" + summary_line(counts).replace("batch: ", "Summary: ", 1) + "\n\n")
            self.fh.write(f"_{DISCLAIMER}_\n")
        self.fh.flush()

    def write_all(self, rows: Iterable[dict]):
        self.begin()
        for r in rows:
            self.row(r)
        self.end()


def _structured(row: dict) -> dict:
    if isinstance(row, FlatRow):  # pragma: no cover - json never resumes from csv
        raise UsageError("cannot render a CSV row as JSON")
    return {k: v for k, v in row.items() if k != "disclaimer"}


def jsonl_line(row: dict) -> str:
    d = dict(row)
    d["disclaimer"] = DISCLAIMER
    return json.dumps(d, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------
# journal and resume


def journal_path(out_path: str | os.PathLike) -> Path:
    p = Path(out_path)
    return p.with_name(p.name + ".part")


def temp_path(out_path: str | os.PathLike) -> Path:
    """The one temporary file the final write uses (a fixed name, so a leftover can be found)."""
    p = Path(out_path)
    return p.with_name(f".{p.name}.tmp")


JOURNAL_MAGIC = "msc-ev batch journal"


def _open_regular(path: Path):
    from .fileio import name_of, open_for_reading

    return open_for_reading(path, name_of(path))


def read_header(path: Path) -> tuple[dict | None, int]:
    """The header line of a journal (the options and knowledge of its run) and its length in bytes;
    (None, 0) when the file does not start with one."""
    with _open_regular(path) as fh:
        raw = fh.readline(64 * MAX_ROW_CHARS + 1)
    if not raw.endswith(b"\n"):
        return None, 0
    try:
        h = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None, 0
    if isinstance(h, dict) and h.get("journal") == JOURNAL_MAGIC:
        return h, len(raw)
    return None, 0


def iter_journal(path: Path) -> Iterator[tuple[int, dict]]:
    """(byte offset after the line, row) for each complete row line after the header line (if any);
    stops at a torn last line. The file is opened without following a link or blocking on a FIFO."""
    offset = 0
    longest = 64 * MAX_ROW_CHARS  # a row line is far shorter; a longer "line" is not ours: stop there
    first = True
    with _open_regular(path) as fh:
        while True:
            raw = fh.readline(longest + 1)
            if not raw.endswith(b"\n"):
                break
            try:
                r = json.loads(raw.decode("utf-8"))
            except (ValueError, RecursionError):
                break
            if first and isinstance(r, dict) and r.get("journal") == JOURNAL_MAGIC:
                first = False
                offset += len(raw)
                continue
            first = False
            if not (isinstance(r, dict) and isinstance(r.get("row"), int) and isinstance(r.get("input"), str)
                    and r.get("status") in STATUSES):
                break
            offset += len(raw)
            r.pop("disclaimer", None)
            yield offset, r


def read_journal(path: Path) -> list[dict]:
    """Complete lines of a journal (a half-written last line, from a crash, is dropped)."""
    return [r for _, r in iter_journal(path)]


def read_previous(out_path: Path, fmt: str, carried: list[str], extra: tuple[str, ...] = ()) -> list[dict] | None:
    """Rows of a complete previous output; None when the format cannot be read back."""
    if fmt == "jsonl":
        return read_journal(out_path)
    try:
        with open(out_path, "rb") as fh:
            data = read_bounded(fh, MAX_INPUT_BYTES * 8, "MAX_INPUT_BYTES", str(out_path))
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--resume: cannot read {out_path}: {getattr(exc, 'strerror', None) or exc}") from None
    if fmt == "json":
        try:
            check_json_depth(text, str(out_path))
            obj = json.loads(text)
            rows = obj["rows"]
            assert isinstance(rows, list)
            assert all(isinstance(r, dict) and isinstance(r.get("row"), int) and isinstance(r.get("input"), str)
                       and r.get("status") in STATUSES for r in rows)
        except (ValueError, KeyError, TypeError, AssertionError, RecursionError):
            raise UsageError(f"--resume: {out_path} is not a JSON batch output") from None
        return rows
    if fmt in ("csv", "tsv"):
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="," if fmt == "csv" else "\t")
        try:
            if reader.fieldnames != header(carried, extra):
                raise UsageError(f"--resume: {out_path} has other columns than this run would write")
            rows = []
            for d in reader:
                fr = FlatRow(d)
                try:
                    fr.row_number = int(d["row"])  # type: ignore[attr-defined]
                except (TypeError, ValueError):
                    raise UsageError(f"--resume: {out_path}: bad row number {shown(d['row'])}") from None
                if d.get("status") not in STATUSES or not isinstance(d.get("input"), str):
                    raise UsageError(f"--resume: {out_path}: row {fr.row_number} is not a batch output row")
                rows.append(fr)
        except csv.Error as exc:
            raise UsageError(f"--resume: {out_path}: not valid {fmt.upper()}: {exc}") from None
        return rows
    return None


def row_no(r: dict) -> int:
    return r.row_number if isinstance(r, FlatRow) else r["row"]  # type: ignore[attr-defined]
