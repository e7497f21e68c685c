"""Worker processes for batch scoring that survive a worker's death and stop quietly.

:class:`WorkerPool` runs ``score(state, item)`` in ``n`` processes started with ``spawn`` (the rule
engine is not fork-safe), ``state = init(*init_args)`` once per worker. :meth:`WorkerPool.map`
yields the results in input order while it reads items lazily, with a bounded number in flight,
so memory does not grow with the input.

Each worker has its own pipe and gets a chunk of items at a time, returning the chunk's results in
one message (one pickle and one wake-up of the parent per chunk, not per row). Before each item it
writes the item's sequence number into a word of shared memory, so the parent always knows which item
a worker is on without a message per row. When a worker dies (the engine aborting the process, the
out-of-memory killer...), that item gets ``on_death(item, reason)`` as its result, the other items
the worker held (those it finished but had not sent yet, and those after) are handed out again, and a
fresh worker takes its place: the batch goes on. A worker whose ``init`` fails stops the pool with
:class:`PoolError`.

Stopping: workers ignore SIGINT (the parent decides), exit quietly when their pipe closes, and
are ended with SIGTERM when the parent stops early; there are no queues or semaphores, so no
"leaked semaphore" or BrokenPipe noise. ``check`` (called about every 0.2 s and after each
result) lets the caller stop the run between two results by raising.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections import deque
from typing import Any, Callable, Iterable, Iterator

CHUNK = 16  # items sent to a worker at a time (fewer, larger messages: a row takes about a millisecond)
WINDOW = 4  # chunks in flight per worker at most (bounds the reorder buffer)
POLL = 0.2  # seconds between calls of check() when nothing arrives


class PoolError(RuntimeError):
    """A worker could not start (its init failed)."""


def _worker_main(conn, init, init_args, score, on):  # pragma: no cover - runs in the child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        state = init(*init_args)
    except BaseException as exc:  # report and leave
        try:
            conn.send(("init-error", f"{type(exc).__name__}: {exc}"[:500]))
        finally:
            os._exit(3)
    try:
        conn.send(("ready", None))
        while True:
            chunk = conn.recv()
            if chunk is None:
                break
            if chunk[0] == "setup":  # what this run scores with (sent once, before any chunk)
                state.update(chunk[1])
                continue
            out = []
            for seq, item in chunk:
                on.value = seq  # read by the parent only if this process dies
                try:
                    out.append((seq, ("ok", score(state, item))))
                except Exception as exc:  # a scorer bug is that row's problem, not the pool's
                    out.append((seq, ("raised", f"{type(exc).__name__}: {exc}"[:500])))
            conn.send(("done", out))
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass
    os._exit(0)


@contextlib.contextmanager
def _main_not_rerun(*functions):
    """While a worker starts: hide the parent's main module from ``spawn``, which would otherwise
    import it again in the child (for ``msc-ev`` that is the whole terminal: Typer, Rich and the
    commands, about 0.1 s of CPU per worker, for nothing a worker runs). Only when the worker's
    functions do not live in that module (a script's own worker functions still need it)."""
    main = sys.modules.get("__main__")
    if main is None or any(getattr(f, "__module__", None) == "__main__" for f in functions):
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    try:
        main.__dict__.pop("__file__", None)
        main.__spec__ = None
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def death_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker process vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker process died ({name})"
    return f"worker process exited with status {exitcode}"


class _Worker:
    def __init__(self, ctx, init, init_args, score):
        self.conn, child = ctx.Pipe(duplex=True)
        self.on = ctx.RawValue("q", -1)  # the sequence number of the item the worker is scoring
        self.proc = ctx.Process(target=_worker_main, args=(child, init, init_args, score, self.on), daemon=True)
        # The child starts with SIGINT ignored (an ignored signal stays ignored across exec, and Python
        # then installs no KeyboardInterrupt handler): a Ctrl-C to the whole process group during a
        # worker's start-up (imports) must not print a traceback. The parent ignores SIGINT only
        # for the moment of the start.
        try:
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # pragma: no cover - not the main thread
            old = None
        try:
            with _main_not_rerun(init, score):
                self.proc.start()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        child.close()
        self.inflight: deque = deque()  # (seq, item) sent, no result yet
        self.ready = False

    def stop(self, hard: bool):
        try:
            if not hard and self.proc.is_alive():
                self.conn.send(None)
        except (OSError, ValueError):
            hard = True
        self.proc.join(timeout=0 if hard else 5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
            if self.proc.is_alive():  # pragma: no cover
                self.proc.kill()
                self.proc.join()
        try:
            self.conn.close()
        except OSError:  # pragma: no cover
            pass


class WorkerPool:
    """``n`` workers. They start with :meth:`start` (so that a caller can start them and read its input
    while they import and load) or with the first :meth:`map`. ``setup`` (a dict), when given, is
    merged into every worker's state before its first item (:meth:`configure` sets it later, for a
    pool started before the run's settings were known)."""

    def __init__(self, n: int, init: Callable, init_args: tuple, score: Callable,
                 on_death: Callable[[Any, str], Any], on_raise: Callable[[Any, str], Any] | None = None,
                 setup: dict | None = None):
        import multiprocessing as mp

        self.ctx = mp.get_context("spawn")
        self.n, self.init, self.init_args, self.score = n, init, init_args, score
        self.on_death = on_death
        self.on_raise = on_raise or on_death
        self.setup = setup
        self.workers: list[_Worker] = []
        self.deaths = 0

    def _spawn(self) -> _Worker:
        w = _Worker(self.ctx, self.init, self.init_args, self.score)
        if self.setup is not None:
            self._send_setup(w)
        return w

    def _send_setup(self, w: _Worker) -> None:
        try:
            w.conn.send(("setup", self.setup))
        except (OSError, ValueError):  # it died: found by its sentinel
            pass

    def start(self) -> "WorkerPool":
        """Start the workers now (they import and load while the caller goes on)."""
        if not self.workers:
            self.workers = [self._spawn() for _ in range(self.n)]
        return self

    def configure(self, setup: dict) -> None:
        """Set what every worker merges into its state before its first item (started ones included)."""
        self.setup = setup
        for w in self.workers:
            self._send_setup(w)

    def close(self) -> None:
        """Stop the workers (of a pool started and then not used)."""
        for w in self.workers:
            w.stop(True)
        self.workers = []

    def map(self, items: Iterable, check: Callable[[], None] = lambda: None) -> Iterator:
        from multiprocessing.connection import wait

        source = iter(enumerate(items))
        retry: deque = deque()  # (seq, item) to send again (their worker died holding them)
        done: dict[int, Any] = {}
        next_out = 0
        exhausted = False
        self.start()
        hard = True
        try:
            while True:
                # hand out work: retried items first, then new ones, within the window
                for w in self.workers:
                    if not w.ready:
                        continue
                    while len(w.inflight) < CHUNK * 2:
                        chunk = []
                        while len(chunk) < CHUNK:
                            if retry:
                                chunk.append(retry.popleft())
                                continue
                            if exhausted:
                                break
                            if len(done) + sum(len(x.inflight) for x in self.workers) + len(chunk) \
                                    >= WINDOW * CHUNK * self.n:
                                break
                            nxt = next(source, None)
                            if nxt is None:
                                exhausted = True
                                break
                            chunk.append(nxt)
                        if not chunk:
                            break
                        w.inflight.extend(chunk)
                        try:
                            w.conn.send(chunk)
                        except (OSError, ValueError):
                            break  # it died: found below by its sentinel
                busy = any(w.inflight for w in self.workers)
                if exhausted and not retry and not busy and not done:
                    break
                ready = wait([w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers],
                             timeout=POLL)
                for w in list(self.workers):
                    if w.conn in ready or w.proc.sentinel in ready:
                        self._drain(w, done)
                    if not w.proc.is_alive() and (w.proc.sentinel in ready or w.inflight or not w.ready):
                        self._replace(w, done, retry)
                while next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
                    check()
                check()
            hard = False
        finally:
            for w in self.workers:
                w.stop(hard)
            self.workers = []

    def _drain(self, w: _Worker, done: dict):
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "ready":
                    w.ready = True
                elif msg[0] == "init-error":
                    raise PoolError(f"a batch worker could not start: {msg[1]}")
                else:
                    for seq, (kind, value) in msg[1]:  # a chunk's results, in the order sent
                        item = None
                        if w.inflight and w.inflight[0][0] == seq:
                            item = w.inflight.popleft()[1]
                        else:  # pragma: no cover - results come back in the order sent
                            for i, (s, it) in enumerate(w.inflight):
                                if s == seq:
                                    item = it
                                    del w.inflight[i]
                                    break
                        done[seq] = value if kind == "ok" else self.on_raise(item, value)
        except (EOFError, OSError):
            pass

    def _replace(self, w: _Worker, done: dict, retry: deque):
        w.proc.join(timeout=5)
        reason = death_reason(w.proc.exitcode)
        if not w.ready:
            w.stop(True)
            raise PoolError(f"a batch worker could not start: {reason}")
        if w.inflight:
            # the item it was on (its results of the chunk so far were never sent: they are scored
            # again, with the items after it)
            on = w.on.value
            held = list(w.inflight)
            at = next((i for i, (seq, _) in enumerate(held) if seq == on), 0)
            seq, item = held.pop(at)
            done[seq] = self.on_death(item, reason)
            self.deaths += 1
            retry.extendleft(reversed(held))
            w.inflight.clear()
        w.stop(True)
        i = self.workers.index(w)
        self.workers[i] = self._spawn()
