"""Declared limits on what the advisor reads: one place, listed in ``docs/limits.md``.

Every limit is checked before the text is parsed (or, for the YAML nesting and alias limits,
while PyYAML's event stream is read, before any Python object is built), and the message names
the limit by its name here so a user can find it in the documentation. Messages never embed an
unbounded value: :func:`shown` cuts any value to :data:`MAX_SHOWN` characters first.
"""

from __future__ import annotations

import io
import re

from . import echo as _echo
from .echo import inert, shown  # noqa: F401  (the sanitiser: one place, re-exported here)
from .errors import UsageError

# --- sizes of what is read --------------------------------------------------------------------
MAX_INPUT_BYTES = 32 * 1024 * 1024  # a batch input file (or standard input)
MAX_KB_FILE_BYTES = 4 * 1024 * 1024  # one knowledge YAML file (shipped ones are under 60 kB), checked by stat first
MAX_KB_FILES = 10_000  # files and directories seen under one knowledge directory (the shipped one has under 30, 100x growth ~120)
MAX_KB_DEPTH = 8  # levels of subdirectories in a knowledge directory (the shipped one has 1)
MAX_LINE_CHARS = 16_384  # one physical line of a batch text/CSV/TSV input
MAX_ROW_CHARS = 16_384  # one batch row (a CSV record or a YAML/JSON list item, all cells together)
MAX_ROWS = 1_000_000  # rows in one batch input
MAX_COLUMNS = 256  # columns of a batch CSV/TSV input (or distinct keys of its YAML/JSON mappings)
# --- structure -------------------------------------------------------------------------------
MAX_DEPTH = 32  # nesting of JSON arrays/objects or YAML collections
MAX_ALIASES = 100  # YAML alias uses (*name) in one document
MAX_NODES = 1_000_000  # YAML nodes after expanding every alias (the "billion laughs" guard)
# --- one query ---------------------------------------------------------------------------------
MAX_QUERY_CHARS = 200  # the disease text of one consultation (the longest curated name is < 100)
MAX_QUERY_WORDS = 24  # words in it
MAX_CONSTRAINT_VALUES = 64  # values of one repeatable constraint (--exclude-source, --route)
MAX_CONSTRAINT_CHARS = 64  # one constraint value (ids are short kebab-case words)
MAX_DISEASE_WORDS = 12  # distinct words of a disease name, once repeated words are dropped (resolution)
MAX_DISEASE_CHARS = 300  # characters of those distinct words (resolution)
# --- messages ----------------------------------------------------------------------------------
MAX_SHOWN = _echo.MAX_SHOWN  # characters of a user's value quoted in a message
MAX_ECHO = _echo.MAX_ECHO  # characters of any input echoed anywhere (a message, an answer in ask, a path)
MAX_NUMBER_DIGITS = 100  # digits of one number in a batch input or a knowledge file

# --- what one process remembers (not a limit on input: a bound on memory) -----------------------
REUSE_ENTRIES = 512  # fact sets whose conclusions are kept for reuse, and concepts whose facts are kept (advisor/reuse.py)

LIMITS = {name: value for name, value in globals().items() if name.startswith("MAX_")}


class LimitError(UsageError):
    """An input exceeds a declared limit (exit 2)."""

    def __init__(self, where: str, limit: str, what: str):
        self.where, self.limit, self.what = where, limit, what
        super().__init__(f"{where}: {what} (limit {limit} = {LIMITS[limit]:,})")


def read_bounded(fh, limit: int, limit_name: str, where: str) -> bytes:
    """Read a binary stream; raise :class:`LimitError` as soon as it holds more than ``limit`` bytes."""
    chunks, total = [], 0
    while True:
        chunk = fh.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise LimitError(where, limit_name, f"larger than {limit:,} bytes")
    return b"".join(chunks)


def decode_utf8(data: bytes, where: str) -> str:
    """UTF-8 text (a leading BOM dropped); a bad byte is reported by line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[start:exc.start].decode("utf-8", "replace")) + 1
        raise UsageError(f"{where}:{line}:{col}: not UTF-8 text (byte 0x{data[exc.start]:02x}: {exc.reason})") from None
    return text[1:] if text.startswith("\ufeff") else text


def check_lines(text: str, where: str, limit: int = MAX_LINE_CHARS) -> int:
    """Raise :class:`LimitError` naming the first line longer than ``limit``; return the line count."""
    n = 0
    for n, line in enumerate(io.StringIO(text, newline=None), 1):
        if len(line.rstrip("\r\n")) > limit:
            raise LimitError(f"{where}:{n}", "MAX_LINE_CHARS", f"line longer than {limit:,} characters")
    return n


def check_json_depth(text: str, where: str, limit: int = MAX_DEPTH) -> None:
    """Nesting depth of JSON text and the length of its numbers (``MAX_NUMBER_DIGITS``), found by a
    scan that builds nothing (strings are skipped)."""
    depth = 0
    i, n = 0, len(text)
    find = text.find
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while True:
                j = find('"', j)
                if j < 0:
                    return  # unterminated string: the parser reports it
                k = j - 1
                while text[k] == "\\":
                    k -= 1
                if (j - 1 - k) % 2 == 0:
                    break
                j += 1
            i = j + 1
            continue
        if c in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, i) + 1
                col = i - (text.rfind("\n", 0, i) + 1) + 1
                raise LimitError(f"{where}:{line}:{col}", "MAX_DEPTH", f"nested deeper than {limit} levels")
        elif c in "]}":
            depth -= 1
        elif c in _DIGITS:
            j = i + 1
            while j < n and text[j] in _DIGITS:
                j += 1
            if j - i > MAX_NUMBER_DIGITS:
                line = text.count("\n", 0, i) + 1
                col = i - (text.rfind("\n", 0, i) + 1) + 1
                raise LimitError(f"{where}:{line}:{col}", "MAX_NUMBER_DIGITS", f"a number of {j - i:,} digits")
            i = j
            continue
        i += 1


_NUMBERISH = re.compile(r"[-+]?[0-9a-fA-FxXoObB_.:+-]+")  # what YAML 1.1 could read as an int or a float
_DIGITS = frozenset("0123456789")


def check_yaml_events(text: str, where: str, loader_cls=None) -> None:
    """Walk the YAML event stream (no objects built): nesting depth, alias uses and expanded size.

    The size counts every node as if each alias were copied where it is used; an anchor's size
    is known when its node ends. Raises :class:`LimitError`; a syntax error is left to the parser.
    """
    import yaml

    loader = (loader_cls or getattr(yaml, "CSafeLoader", yaml.SafeLoader))(text)
    sizes: dict[str, int] = {}
    stack: list[list] = []  # [anchor, size so far]
    depth = aliases = 0

    def fail(ev, limit, what):
        m = ev.start_mark
        loc = f"{where}:{m.line + 1}:{m.column + 1}" if m is not None else where
        raise LimitError(loc, limit, what)

    try:
        while True:
            ev = loader.get_event()
            if ev is None:
                break
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    fail(ev, "MAX_DEPTH", f"nested deeper than {MAX_DEPTH} levels")
                stack.append([ev.anchor, 1])
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
                anchor, size = stack.pop()
                if anchor is not None:
                    sizes[anchor] = size
                if stack:
                    stack[-1][1] += size
                    if stack[-1][1] > MAX_NODES:
                        fail(ev, "MAX_NODES", f"more than {MAX_NODES:,} nodes once aliases are expanded")
            elif isinstance(ev, (yaml.ScalarEvent, yaml.AliasEvent)):
                if (isinstance(ev, yaml.ScalarEvent) and ev.implicit[0] and len(ev.value) > MAX_NUMBER_DIGITS
                        and _NUMBERISH.fullmatch(ev.value)):
                    fail(ev, "MAX_NUMBER_DIGITS", f"a number of {len(ev.value):,} characters")
                if isinstance(ev, yaml.AliasEvent):
                    aliases += 1
                    if aliases > MAX_ALIASES:
                        fail(ev, "MAX_ALIASES", f"more than {MAX_ALIASES} alias uses")
                    size = sizes.get(ev.anchor, 1)
                else:
                    size = 1
                    if ev.anchor is not None:
                        sizes[ev.anchor] = 1
                if stack:
                    stack[-1][1] += size
                    if stack[-1][1] > MAX_NODES:
                        fail(ev, "MAX_NODES", f"more than {MAX_NODES:,} nodes once aliases are expanded")
            elif isinstance(ev, yaml.DocumentEndEvent):
                sizes.clear()
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # libyaml's own guard (1,000 flow levels) fired first
            m = getattr(exc, "problem_mark", None)
            loc = f"{where}:{m.line + 1}:{m.column + 1}" if m is not None else where
            raise LimitError(loc, "MAX_DEPTH", f"nested deeper than {MAX_DEPTH} levels") from None
        return  # the parser proper reports syntax errors with their place
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose:
            dispose()


def check_query(text: str, what: str = "disease") -> None:
    """The disease text of one consultation: at most MAX_QUERY_CHARS characters and MAX_QUERY_WORDS words."""
    if len(text) > MAX_QUERY_CHARS:
        raise LimitError(what, "MAX_QUERY_CHARS", f"text of {len(text):,} characters is too long")
    words = len(text.split())
    if words > MAX_QUERY_WORDS:
        raise LimitError(what, "MAX_QUERY_WORDS", f"text of {words:,} words is too long")


def check_constraint_values(option: str, values) -> None:
    if len(values) > MAX_CONSTRAINT_VALUES:
        raise LimitError(option, "MAX_CONSTRAINT_VALUES", f"{len(values):,} values given")
    for v in values:
        if len(v) > MAX_CONSTRAINT_CHARS:
            raise LimitError(option, "MAX_CONSTRAINT_CHARS", f"value {shown(v, 20)} is too long")
