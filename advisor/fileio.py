"""The one writer of every file msc-ev writes for a user (``-o FILE`` of every command, the batch
output and its journal), and the checks that run before any work.

- :func:`check_target` refuses, before anything is computed, a target that is a directory, a
  device, a FIFO or a socket (or a symbolic link to one, or to nothing), a read-only file (one
  whose mode has no write bit at all: for root, who may write anything, that is what read-only
  means here; for other users :func:`os.access` decides too), a directory that does not exist or
  in which no file can be created (``/proc``, ``/sys``, a read-only mount: a probe file is made
  and removed), and a target that is one of the inputs (same ``st_dev``/``st_ino``). Standard
  output (no ``-o``, or ``-o -``) is the way to write to a pipe or a device.
- :class:`AtomicFile` writes a temporary file in the target's directory (never following a
  link), fsyncs it, gives it the mode of the file it replaces (a new file: what the umask
  allows) and renames it over the target, after checking once more that the target is still a
  regular file or absent. A failed write (a full disk) leaves the target as it was.
- :func:`open_journal` / :func:`open_for_reading` open an append-only journal without following
  links (``O_NOFOLLOW``) and without blocking on a FIFO (``O_NONBLOCK``), and refuse anything
  that is not a regular file.

Every failure is an :class:`OutputError` (exit 2) whose message is one line naming the target.

It also holds the small file helpers shared by the writers that replace a file atomically (ICD index, knowledge
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

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import Iterable

from ..cachefiles import (cache_dir, cache_settings, cache_writable, discard, mark_unwritable, note,  # noqa: F401
                          unwritable_reason, write_cache)
from .errors import OutputError
from .echo import inert

MAX_PATH_SHOWN = 200


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


def name_of(path) -> str:
    """A path as a message shows it: control characters escaped, at most 200 characters."""
    return inert(os.fspath(path), MAX_PATH_SHOWN)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    for test, word in _KINDS:
        if test(mode):
            return word
    return "not a regular file"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _umask_mode() -> int:
    um = os.umask(0)
    os.umask(um)
    return 0o666 & ~um


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _input_stats(inputs: Iterable) -> list[os.stat_result]:
    out = []
    for p in inputs:
        if p is None or p == "-":
            continue
        try:
            out.append(os.stat(p))
        except OSError:
            pass
    return out


def _probe(directory: str, shown: str) -> None:
    """Create and remove a file in ``directory``: a place where nothing can be created is found now."""
    probe = os.path.join(directory, f".msc-ev-probe-{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: no file can be created in {name_of(directory)} ({_why(exc)})") from None
    os.close(fd)
    discard(probe)


def check_target(output, inputs: Iterable = (), what: str = "") -> Path:
    """The path a file for ``output`` will be renamed to, checked as the module docstring says.

    ``inputs``: files this run reads; the target may not be one of them. ``what`` names the file
    in messages when it is not the user's own ``-o`` (e.g. "its journal").
    """
    shown = name_of(output)
    label = f"{what} {shown}" if what else shown
    path = os.path.abspath(os.fspath(output))
    if not os.fspath(output):
        raise OutputError("cannot write an empty file name; give -o FILE, or -o - for standard output")
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        lst = None
    except OSError as exc:
        raise OutputError(f"cannot write {label}: {_why(exc)}") from None
    if lst is not None and stat.S_ISLNK(lst.st_mode):
        try:
            st = os.stat(path)
        except OSError:
            raise OutputError(f"cannot write {label}: it is a symbolic link to a missing file") from None
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"cannot write {label}: it is a symbolic link to {kind_of(st.st_mode)}; "
                              "write to standard output instead (no -o, or -o -)")
        path = os.path.realpath(path)  # the file the link names is replaced; the link stays
        lst = st
    if lst is not None:
        if stat.S_ISDIR(lst.st_mode):
            raise OutputError(f"cannot write {label}: it is a directory; give a file name (-o DIR/out.csv)")
        if not stat.S_ISREG(lst.st_mode):
            raise OutputError(f"cannot write {label}: it is {kind_of(lst.st_mode)}, not a regular file; "
                              "write to standard output instead (no -o, or -o -)")
        if not lst.st_mode & 0o222 or not os.access(path, os.W_OK):
            raise OutputError(f"cannot write {label}: it is read-only (mode {stat.S_IMODE(lst.st_mode):04o})")
        for st in _input_stats(inputs):
            if same_file(st, lst):
                raise OutputError(f"cannot write {label}: it is the input file; give another output name")
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {label}: directory {name_of(directory)} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {label}: directory {name_of(directory)} is not writable")
    _probe(directory, label)
    return Path(path)


class AtomicFile:
    """``with AtomicFile(target) as fh: fh.write(...)``: the text lands in ``target`` only if the
    block ends normally; ``target`` is checked first (:func:`check_target`) unless ``checked``.

    ``tmp`` names the temporary file (default: a random name beside the target); it is created
    exclusively, never through a link.
    """

    def __init__(self, target, *, tmp=None, checked: bool = False, shown=None, newline: str | None = "\n"):
        self.shown = shown or name_of(target)
        self.target = Path(target) if checked else check_target(target)
        self.tmp = Path(tmp) if tmp is not None else self.target.with_name(
            f".{self.target.name[:100]}.{os.urandom(6).hex()}.tmp")
        self.newline = newline
        self.fh = None

    def _fail(self, exc: OSError, extra: str = ""):
        raise OutputError(f"cannot write {self.shown}: {_why(exc)}{extra}") from None

    def __enter__(self):
        try:
            fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            self._fail(exc, f" ({name_of(self.tmp.name)})")
        self.fh = os.fdopen(fd, "w", encoding="utf-8", newline=self.newline)
        return self.fh

    def __exit__(self, etype, exc, tb):
        fh, self.fh = self.fh, None
        if etype is not None:
            try:
                fh.close()
            except OSError:
                pass
            discard(self.tmp)
            if isinstance(exc, OSError):
                self._fail(exc)
            return False
        try:
            fh.flush()
            os.fsync(fh.fileno())
            try:
                st = os.lstat(self.target)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISREG(st.st_mode):  # replaced since it was checked
                raise OutputError(f"cannot write {self.shown}: it is now {kind_of(st.st_mode)}, not a regular file")
            os.fchmod(fh.fileno(), stat.S_IMODE(st.st_mode) if st is not None else _umask_mode())
            fh.close()
            os.replace(self.tmp, self.target)
        except OSError as exc:
            try:
                fh.close()
            except OSError:
                pass
            discard(self.tmp)
            self._fail(exc)
        except BaseException:
            try:
                fh.close()
            except OSError:
                pass
            discard(self.tmp)
            raise
        try:  # the rename itself survives a crash once the directory is synced
            dfd = os.open(self.target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
        return False


def write_file(target, text: str, *, checked: bool = False) -> None:
    """Write ``text`` to ``target`` through :class:`AtomicFile`."""
    with AtomicFile(target, checked=checked) as fh:
        fh.write(text)


# ------------------------------------------------------------------------------------------ journals

_NOFOLLOW = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _regular_fd(fd: int, label: str) -> int:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise OutputError(f"cannot use {label}: it is {kind_of(st.st_mode)}, not a regular file; remove it")
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    return fd


def _open_nofollow(path, flags: int, label: str, mode: int = 0o666) -> int:
    try:
        fd = os.open(path, flags | _NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"cannot use {label}: it is a symbolic link; remove it") from None
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise OutputError(f"cannot use {label}: it is a FIFO (named pipe), not a regular file; remove it") from None
        if exc.errno == errno.EISDIR:
            raise OutputError(f"cannot use {label}: it is a directory, not a regular file; remove it") from None
        raise OutputError(f"cannot use {label}: {_why(exc)}") from None
    return _regular_fd(fd, label)


def check_journal(path, label: str) -> None:
    """Refuse, before any work, a journal path that is a link or not a regular file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot use {label}: {_why(exc)}") from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"cannot use {label}: it is a symbolic link; remove it")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"cannot use {label}: it is {kind_of(st.st_mode)}, not a regular file; remove it")


def open_journal(path, keep_bytes: int | None, label: str):
    """The journal opened for appending, as a text file: emptied (``keep_bytes`` None: a new run) or
    cut to ``keep_bytes`` (a resumed run). Never through a link, never blocking on a FIFO."""
    if keep_bytes is None:
        fd = _open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, label)
    else:
        fd = _open_nofollow(path, os.O_RDWR, label)
        try:
            os.ftruncate(fd, keep_bytes)
            os.lseek(fd, keep_bytes, os.SEEK_SET)
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"cannot use {label}: {_why(exc)}") from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")


def open_for_reading(path, label: str):
    """A binary reader of a regular file, opened without following a link or blocking on a FIFO."""
    return os.fdopen(_open_nofollow(path, os.O_RDONLY, label), "rb")


__all__ = ["AtomicFile", "OutputError", "check_journal", "check_target", "discard", "kind_of", "name_of",
           "open_for_reading", "open_journal", "same_file", "write_file"]
