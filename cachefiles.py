"""The user's cache directory, shared by every layer (the rule declarations' JSON copies, the
knowledge compile cache, the ICD-10-CM index): where it is, one note per kind of trouble, and one
way to write an entry that leaves nothing behind. It imports nothing of the project, so the rule
base (rules/) and the library (advisor/) can both use it.

- :func:`note` prints one line on standard error, once per process for each kind of event;
- :func:`write_cache` writes an entry through a temporary file in the same directory and removes
  that file on any failure; the first write that fails marks the directory unwritable for the rest
  of the process (one note), and later writes are not attempted.
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


_SETTINGS = ("MSC_EV_CACHE", "XDG_CACHE_HOME", "HOME")  # what cache_dir() reads, in its order


def cache_settings() -> tuple:
    """The settings :func:`cache_dir` is chosen by (equal settings, the same directory): cheap to
    compare, for a caller that remembers what it opened there."""
    env = os.environ
    return tuple(env.get(k) for k in _SETTINGS)


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
