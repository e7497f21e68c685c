"""Safe YAML loading that remembers where every key and item came from.

Uses libyaml (``CSafeLoader``) when present, the pure-Python ``SafeLoader`` otherwise. Mappings
become :class:`MDict` and sequences :class:`MList`; both carry 1-based ``(line, col)`` marks for
themselves and for each key or index, so a schema error can name ``file:line:col``. Duplicate
keys in one mapping are an error rather than a silent overwrite.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from .errors import UsageError
from .limits import LIMITS, MAX_KB_FILE_BYTES, LimitError, check_yaml_events, decode_utf8, read_bounded


class MDict(dict):
    __slots__ = ("mark", "marks")


class MList(list):
    __slots__ = ("mark", "marks")


class YamlProblem(Exception):
    def __init__(self, line: int, col: int, message: str):
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


def _pos(mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    out = MDict()
    out.mark = _pos(node.start_mark)
    out.marks = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise YamlProblem(*_pos(key_node.start_mark), "a mapping key must be a plain value")
        if key in out:
            line, col = _pos(key_node.start_mark)
            first = out.marks[key][0]
            raise YamlProblem(line, col, f"duplicate key {key!r} (first at line {first})")
        out[key] = loader.construct_object(value_node, deep=True)
        out.marks[key] = _pos(key_node.start_mark)
    return out


def _construct_sequence(loader, node):
    out = MList(loader.construct_object(child, deep=True) for child in node.value)
    out.mark = _pos(node.start_mark)
    out.marks = [_pos(child.start_mark) for child in node.value]
    return out


@lru_cache(maxsize=1)
def _loader():
    """The marked safe loader class, made on first use: PyYAML is imported only when a YAML file is
    read, so a start that finds the knowledge in the compile cache (advisor/kbcache.py) never pays
    for it. MDict, MList and YamlProblem need no PyYAML (the cache unpickles MDict and MList)."""
    import yaml

    try:  # pragma: no cover - depends on how PyYAML was built
        base = yaml.CSafeLoader
    except AttributeError:  # pragma: no cover
        base = yaml.SafeLoader

    class _MarkedLoader(base):
        pass

    _MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    _MarkedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
    return yaml, _MarkedLoader


def load_text(text: str):
    """Parse one YAML document with marks. Raises :class:`YamlProblem`.

    The declared limits (nesting depth, alias uses, size once aliases are expanded: see
    :mod:`advisor.limits`) are checked on the event stream before any object is built.
    """
    yaml, loader = _loader()
    try:
        check_yaml_events(text, "", loader.__mro__[1])
    except LimitError as exc:
        line, col = _where_of(exc.where)
        raise YamlProblem(line, col, f"{exc.what} (limit {exc.limit} = {LIMITS[exc.limit]:,})") from None
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except YamlProblem:
        raise
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise YamlProblem(1, 1, f"nested too deeply (limit MAX_DEPTH = {LIMITS['MAX_DEPTH']})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(line, col, f"invalid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, f"invalid YAML: {exc}") from None


def _where_of(where: str) -> tuple[int, int]:
    parts = where.split(":")
    try:
        return int(parts[-2]), int(parts[-1])
    except (IndexError, ValueError):
        return 1, 1


class EmptyFile(Exception):
    """A knowledge file with no YAML document in it (empty, or only comments)."""


def read_text(path: Path, limit: int = MAX_KB_FILE_BYTES) -> str:
    """A file's UTF-8 text, at most ``limit`` bytes. Raises :class:`YamlProblem` (size, encoding)
    or ``OSError``."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size  # a sparse 3 GB file is refused before a byte is read
        try:
            if size > limit:
                raise LimitError("", "MAX_KB_FILE_BYTES", f"larger than {limit:,} bytes")
            data = read_bounded(fh, limit, "MAX_KB_FILE_BYTES", "")
        except LimitError as exc:
            raise YamlProblem(1, 1, f"file {exc.what} (limit {exc.limit} = {limit:,})") from None
    try:
        return decode_utf8(data, "")
    except UsageError as exc:
        # decode_utf8 says ":LINE:COL: not UTF-8 text (...)"
        _, line, col, rest = str(exc).split(":", 3)
        raise YamlProblem(int(line), int(col), rest.strip()) from None


def load_file(path: Path):
    """Parse one knowledge file. Raises :class:`YamlProblem`, :class:`EmptyFile` or ``OSError``."""
    text = read_text(path)
    doc = load_text(text)
    if doc is None:
        raise EmptyFile(str(path))
    return doc
