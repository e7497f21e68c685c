"""Standard output that cannot crash the program: closed, full, broken or in an odd encoding.

:func:`install` (the first thing ``cli.main`` does) replaces ``sys.stdout`` with a text stream
over a guarded raw writer of file descriptor 1:

- a write that fails (``ENOSPC`` on ``/dev/full``, ``EPIPE`` on a closed pipe, ``EBADF``...)
  raises :class:`~msc_ev.advisor.errors.OutputError` (an ``AdvisorError``, exit 2) once; the
  stream then discards everything, so the interpreter's last flush cannot print a traceback;
- a standard output that was closed before the program started (``msc-ev ... >&-``) fails in
  the same way at the first write, and descriptors 0, 1 and 2 are held open on ``/dev/null`` so
  that no file the program opens can land on them (an error message written into an output file);
- a character the output encoding cannot hold (``PYTHONIOENCODING=ascii``) is written as a JSON
  style escape (``\\u00e9``, a surrogate pair beyond the BMP), so JSON stays valid JSON with the
  same content and text stays whole; a UTF-8 output is byte for byte what it was.

:func:`finish` flushes and returns the exit code: 2, with one line on standard error, when
standard output failed at any point and no one reported it yet.
"""

from __future__ import annotations

import codecs
import io
import os
import sys

from ..advisor.errors import OutputError

HANDLER = "msc-ev-escape"
_state = {"failed": None, "reported": False}


def _escape(exc: UnicodeError):
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start:exc.end]:
        c = ord(ch)
        if c > 0xFFFF:
            c -= 0x10000
            out.append(f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}")
        else:
            out.append(f"\\u{c:04x}")
    return "".join(out), exc.end


class _GuardedRaw(io.RawIOBase):
    """File descriptor 1, whose first failing write becomes an OutputError and the rest no-ops."""

    def __init__(self, fd: int, closed_before: bool = False):
        super().__init__()
        self._fd = fd
        self._closed_before = closed_before

    def writable(self):
        return True

    def fileno(self):
        return self._fd

    def isatty(self):
        return False if self._closed_before else os.isatty(self._fd)

    def write(self, b):
        if _state["failed"] is not None:
            return len(b)
        if self._closed_before:
            self._fail("it is closed")
        try:
            return os.write(self._fd, b)
        except InterruptedError:  # pragma: no cover - retried by the buffer
            return 0
        except OSError as exc:
            self._fail(exc.strerror or str(exc))

    def _fail(self, why: str):
        err = OutputError(f"cannot write to standard output: {why}")
        _state["failed"] = err
        raise err


def reported(exc) -> None:
    """Called when an error line is printed: the failure of standard output needs no second line."""
    if exc is not None and exc is _state["failed"]:
        _state["reported"] = True


def _hold(fd: int) -> bool:
    """Keep ``fd`` open (on /dev/null if it was closed); True if it was closed."""
    try:
        os.fstat(fd)
        return False
    except OSError:
        pass
    new = os.open(os.devnull, os.O_RDWR)
    if new != fd:
        os.dup2(new, fd)
        os.close(new)
    return True


def install() -> None:
    """Guard ``sys.stdout`` (see the module docstring); cheap, and safe to call twice (each call
    starts a new run: an earlier failure is forgotten)."""
    _state["failed"], _state["reported"] = None, False
    if isinstance(getattr(sys.stdout, "buffer", None), io.BufferedWriter) and \
            isinstance(getattr(sys.stdout.buffer, "raw", None), _GuardedRaw):
        return
    try:
        codecs.lookup_error(HANDLER)
    except LookupError:
        codecs.register_error(HANDLER, _escape)
    closed = {fd: _hold(fd) for fd in (0, 1, 2)}
    old = sys.stdout
    try:
        if old is not None and old.fileno() != 1:
            return  # a test harness or an embedding program owns standard output: leave it alone
    except (AttributeError, OSError, ValueError):
        return
    encoding = getattr(old, "encoding", None) or "utf-8"
    line = bool(getattr(old, "line_buffering", False))
    through = bool(getattr(old, "write_through", False))
    if old is not None:
        try:
            old.flush()
        except (OSError, ValueError):
            pass
    raw = _GuardedRaw(1, closed_before=closed[1] or old is None)
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding, errors=HANDLER,
                                  line_buffering=line, write_through=through)
    if sys.stderr is not None:
        try:
            sys.stderr.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):  # pragma: no cover
            pass


def finish(code) -> int:
    """Flush standard output; the exit code to leave with (2 if standard output failed)."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OutputError:
        pass
    except (OSError, ValueError):  # a stream we did not guard
        pass
    err = _state["failed"]
    if err is not None:
        if not _state["reported"]:
            _state["reported"] = True
            try:
                sys.stderr.write(f"msc-ev: {err.message()}\n")
                sys.stderr.flush()
            except (AttributeError, OSError, ValueError):
                pass
        return 2
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:  # sys.exit("message") prints the message and exits 1
        sys.stderr.write(f"{code}\n")
    except (AttributeError, OSError, ValueError):
        pass
    return 1


__all__ = ["HANDLER", "finish", "install", "reported"]
