"""The durable_rules wrapper: one private host, one session per consultation, one at a time.

What the notes in shared/notes/durable-rules.md measured, and the answer here:
- background threads: :class:`_QuietHost` never starts the timer threads, so every firing has
  happened when ``assert_facts`` returns;
- global registry: the ruleset is defined once at import (``rules.DEFINITION``) and registered on
  this private host only;
- no thread safety: every engine call runs under one lock (parallel batch work uses processes);
- 1024 live sessions: each consultation gets a fresh sid and ``delete_state`` in ``finally``;
- floats: certainty factors travel as integers out of 1000;
- swallowed exceptions: an action's exception is recorded and raised as EngineError;
- 32-bit identity hashes: after a run, the ids the actions asserted are compared with what the
  session holds; if any is missing the consultation is re-run with salted ids.
"""

from __future__ import annotations

import itertools
import threading

from durable import engine as _durable

from .. import rules
from ..rules.base import CURRENT, Consultation

from .errors import EngineError

MAX_ATTEMPTS = 4


class _QuietHost(_durable.Host):
    def _run(self):  # no background dispatch threads: actions run inside assert_facts
        pass


_LOCK = threading.Lock()
_HOST: _QuietHost | None = None
_SIDS = itertools.count(1)
STATS = {"consultations": 0, "salted_reruns": 0}


def host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        h = _QuietHost()
        h.register_rulesets(rules.DEFINITION)
        _HOST = h
    return _HOST


class HashClash(Exception):
    pass


def _once(facts: list[dict], weights: dict, salt: str, drop: set[str] | None = None) -> Consultation:
    h = host()
    ctx = Consultation(weights, salt)
    sid = f"c{next(_SIDS)}"
    CURRENT.append(ctx)
    try:
        stored = []
        for f in facts:
            g = dict(f)
            g["id"] = f["id"] + salt if salt else f["id"]
            g["sid"] = sid
            stored.append(g)
        try:
            state = h.assert_facts(rules.RULESET, stored)
        except _durable.MessageObservedException as exc:
            raise HashClash(str(exc)) from None
        if ctx.error is not None:
            raise EngineError(f"rule action failed: {type(ctx.error).__name__}: {ctx.error}")
        if isinstance(state, dict) and state.get("exception"):
            raise EngineError(f"rule engine reported: {state['exception']}")
        held = {f.get("id") for f in h.get_facts(rules.RULESET, sid)}
        if drop:  # test hook: pretend the store lost these facts
            held -= {d + salt for d in drop}
        expected = {f["id"] + salt for f in ctx.derived} | {g["id"] for g in stored}
        if expected - held:
            raise HashClash(", ".join(sorted(expected - held)))
        return ctx
    finally:
        CURRENT.pop()
        try:
            h.delete_state(rules.RULESET, sid)
        except Exception:  # pragma: no cover - state already gone
            pass


def run(facts: list[dict], weights: dict, *, _drop_once: set[str] | None = None) -> Consultation:
    """Assert ``facts`` in a fresh session and return the consultation (trace and derived facts)."""
    with _LOCK:
        STATS["consultations"] += 1
        last = ""
        for attempt in range(MAX_ATTEMPTS):
            salt = "" if attempt == 0 else f"~{attempt}"
            try:
                return _once(facts, weights, salt, _drop_once if attempt == 0 else None)
            except HashClash as exc:
                STATS["salted_reruns"] += 1
                last = str(exc)
        raise EngineError(f"rule engine lost facts on every attempt (identity hash clashes): {last}")
