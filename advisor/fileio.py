"""Small file helpers shared by the writers that replace a file atomically (ICD index, knowledge
cache, batch output), by the caches in the user's cache directory, and by the bounded walk of a
knowledge directory.

The caches (the knowledge compile cache, its derived tables, the rule declarations' JSON copies and
the ICD-10-CM index) live in one directory, :func:`cache_dir`. Each validates what it reads; what
this module adds is the behaviour they share when something goes wrong:

- :func:`note` prints one line on standard error, once per process for each kind of event, so a
  damaged or unwritable cache is said but never floods a batch;
- :func:`write_cache` writes a cache file through a temporary file in the same directory and
  removes that file on any failure. The first write that fails marks the cache directory
  unwritable for the rest of the process (one note), and later writes are not attempted, so
  nothing is left behind and nothing is retried on every query.

:func:`yaml_files` lists the knowledge files of a directory as ``sorted(d.rglob("*.yaml"))`` did,
but gives up with a :class:`~advisor.limits.LimitError` as soon as the walk sees more entries or
deeper subdirectories than the limits allow (``--kb /`` is refused at once, not walked).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_noted: set[str] = set()
_unwritable: dict[str, str] = {}  # cache directory -> why it could not be written (this process)


def discard(tmp) -> None:
    """Remove a temporary file left by a write that failed; a file already gone is fine."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


def cache_dir() -> Path:
    """``$MSC_EV_CACHE/msc-ev``, else ``$XDG_CACHE_HOME/msc-ev``, else ``~/.cache/msc-ev``."""
    base = os.environ.get("MSC_EV_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "msc-ev"


def note(kind: str, text: str) -> None:
    """``msc-ev: note: TEXT`` on standard error, the first time ``kind`` happens in this process."""
    if kind in _noted:
        return
    _noted.add(kind)
    try:
        sys.stderr.write(f"msc-ev: note: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed standard error: the note is only a courtesy
        pass


def unwritable_reason(directory: Path) -> str | None:
    """Why a write into ``directory`` failed in this process, or None."""
    return _unwritable.get(str(directory))


def cache_writable(directory: Path) -> bool:
    """False once a write into ``directory`` failed in this process."""
    return str(directory) not in _unwritable


def mark_unwritable(directory: Path, exc: OSError) -> None:
    """Remember that ``directory`` cannot be written, and say so once."""
    why = exc.strerror or str(exc)
    _unwritable.setdefault(str(directory), why)
    note("cache-unwritable", f"cannot write the cache directory {directory} ({why}); "
                             "working from memory in this process (slower)")


def write_cache(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically (a temporary file in the same directory, then a rename).

    False when it could not be written; nothing is left behind either way. A cache directory that
    cannot be created or written is said once and not tried again in this process; an entry that
    cannot be replaced (a full disk) is said once too. An empty directory in the entry's place
    (an entry that could not be read as a file) is replaced."""
    import tempfile

    directory = path.parent
    if not cache_writable(directory):
        return False
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        mark_unwritable(directory, exc)
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.replace(tmp, path)
        except IsADirectoryError:
            os.rmdir(path)
            os.replace(tmp, path)
    except OSError as exc:
        discard(tmp)
        note("cache-write-failed", f"cannot write the cache file {path} ({exc.strerror or exc}); "
                                   "it is made again next time")
        return False
    except BaseException:
        discard(tmp)
        raise
    return True


def yaml_files(directory: Path, max_entries: int | None = None, max_depth: int | None = None) -> list[Path]:
    """The paths under ``directory`` whose name ends in ``.yaml``, sorted (what
    ``sorted(directory.rglob("*.yaml"))`` gives: links to directories are not followed, a directory
    that cannot be listed is skipped). Raises :class:`~advisor.limits.LimitError` once more than
    ``max_entries`` files and directories have been seen (MAX_KB_FILES) or a directory lies more
    than ``max_depth`` levels below ``directory`` (MAX_KB_DEPTH)."""
    from .limits import MAX_KB_DEPTH, MAX_KB_FILES, LimitError

    max_entries = MAX_KB_FILES if max_entries is None else max_entries
    max_depth = MAX_KB_DEPTH if max_depth is None else max_depth
    found: list[Path] = []
    seen = 0
    todo = [(directory, 0)]
    while todo:
        here, depth = todo.pop()
        try:
            with os.scandir(here) as it:
                entries = sorted(it, key=lambda e: e.name)
        except (PermissionError, NotADirectoryError, FileNotFoundError):
            continue
        seen += len(entries)
        if seen > max_entries:
            raise LimitError(str(directory), "MAX_KB_FILES",
                             f"more than {max_entries:,} files and directories under this knowledge directory")
        for e in entries:
            path = here / e.name
            if e.name.endswith(".yaml"):
                found.append(path)
            try:
                is_dir = e.is_dir() and not e.is_symlink()
            except OSError:
                is_dir = False
            if is_dir:
                if depth + 1 > max_depth:
                    raise LimitError(str(path), "MAX_KB_DEPTH",
                                     f"more than {max_depth} levels of subdirectories in a knowledge directory")
                todo.append((path, depth + 1))
    return sorted(found)
