"""The durable-rules wrapper: one private host, one session per consultation, one at a time.

What shared/notes/durable-rules.md measured, and the answer here:
- background threads: :class:`_QuietHost` never starts the timer threads, so every firing has
  happened when ``assert_facts`` returns;
- global registry: the declared rules are compiled once, at import, and registered on this
  private host only;
- no thread safety: every engine call runs under one lock (parallel batch work uses processes);
- 1024 live sessions: each consultation gets a fresh sid and ``delete_state`` in ``finally``;
- floats: certainty factors travel as integers out of 1000;
- swallowed exceptions: an action's exception is recorded and raised as EngineError;
- identity: facts are identified by a 32-bit FNV-1a hash of their id, and a clash silently drops a
  fact. Every id asserted in a consultation (prepared or derived) is hashed first, exactly as the
  engine does; a clashing id gets a suffix until it is distinct. A duplicate id (the same fact
  twice) is refused before it reaches the engine, which aborts the process on some duplicates.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import time

import orjson
from durable import engine as _durable

from ..rules import RULE_LIST, TIERS, Rule, actions
from ..rules.compile import RULESET, compile_rules
from ..rules.declare import HOST_ONLY
from .errors import EngineError


@lru_cache(maxsize=1 << 16)
def fnv1a32(fact_id: str) -> int:
    """The hash durable-rules keys a fact by: FNV-1a over the id as written in JSON, bytes signed as C ``char``."""
    h = 0x811C9DC5
    for b in json.dumps(fact_id)[1:-1].encode("utf-8"):
        h ^= (b - 256 if b > 127 else b) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


@dataclass
class Step:
    step: int
    rule: str
    matched: list[str]
    asserted: list[dict] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)


class Session:
    """One consultation's state, read and written by the rule actions (one at a time)."""

    def __init__(self, weights: actions.Weights):
        self.weights = weights
        self.steps: list[Step] = []
        self.derived: dict[str, dict] = {}  # logical id -> fact, alive
        self.stored: dict[str, dict] = {}  # logical id -> the fact as the engine holds it
        self.logical: dict[str, str] = {}  # engine id -> logical id (differs only after a hash clash)
        self.hashes: dict[int, str] = {}  # hash -> engine id
        self.clashes: list[tuple[str, str]] = []
        self.error: BaseException | None = None

    def engine_id(self, fid: str) -> str:
        """A distinct engine id for logical id ``fid`` (itself unless its hash clashes)."""
        cand, n = fid, 0
        while True:
            h = fnv1a32(cand)
            other = self.hashes.get(h)
            if other is None:
                self.hashes[h] = cand
                self.logical[cand] = fid
                if cand != fid:
                    self.clashes.append((fid, other_was))
                return cand
            if other == cand:
                raise EngineError(f"fact {fid!r} asserted twice in one consultation")
            n += 1
            other_was = self.logical.get(other, other)
            cand = f"{fid}~{n}"

    def store(self, fact: dict, sid: str) -> dict:
        eid = self.engine_id(fact["id"])
        drop = HOST_ONLY.get(fact["kind"])
        stored = dict(fact, id=eid, sid=sid) if not drop else {
            **{k: v for k, v in fact.items() if k not in drop}, "id": eid, "sid": sid}
        self.stored[fact["id"]] = stored
        return stored


_CURRENT: list[Session] = []  # the running consultation (a stack of at most one)


def _make_action(rule: Rule):
    """The rule's action. durable-rules hands it every match available at once (the rule is compiled
    with ``cap``, see rules/compile.py); each match is one firing, recorded as its own step, in the
    order of the ids of the facts it matched (as rules/interpret.py fires them). A match whose facts
    an earlier firing of the same batch retracted does not fire (as when the engine is given matches
    one at a time, and as rules/interpret.py does)."""
    binds = tuple(cond.bind for cond in rule.conditions)

    def action(c):  # durable-rules checks the argument count: exactly one
        ctx = _CURRENT[-1]
        try:
            batch: list[dict] = []
            frames = [frame._d for frame in c.m]
            if len(frames) > 1:  # in the order of the matched facts' ids, as rules/interpret.py fires them
                frames.sort(key=lambda raw: [ctx.logical.get(raw[b]["id"], raw[b]["id"]) for b in binds])
            for raw in frames:
                if ctx.clashes:  # some engine ids differ from the logical ones: translate them back
                    bound = {}
                    for b in binds:
                        f = dict(raw[b])
                        f["id"] = ctx.logical.get(f["id"], f["id"])
                        bound[b] = f
                else:  # the facts as the engine handed them over (decoded afresh for this batch)
                    bound = raw
                matched = [bound[b]["id"] for b in binds]
                if any(m not in ctx.stored for m in matched):
                    continue  # retracted by an earlier firing of this batch
                step = Step(len(ctx.steps) + 1, rule.id, matched)
                ctx.steps.append(step)
                new, gone = actions.run(rule, bound, ctx.weights)
                sid = raw[binds[0]]["sid"]
                for f in new:
                    if f["id"] in ctx.stored:
                        continue  # already known: the step shows nothing new (a test keeps this from happening)
                    batch.append(ctx.store(f, sid))
                    step.asserted.append(f)
                    ctx.derived[f["id"]] = f
                for g in gone:
                    stored = ctx.stored.pop(g["id"], None)
                    if stored is not None:
                        ctx.derived.pop(g["id"], None)
                        step.retracted.append(g["id"])
                        c.retract_fact(stored)
            if batch:  # one crossing into the engine for everything the batch derived
                c._ruleset.assert_facts(batch)
        except BaseException as exc:  # surfaced by run() after assert_facts returns
            ctx.error = exc
            raise

    action.__name__ = rule.id.replace("-", "_")
    return action


class _OrJSON:
    """durable-rules' codec: every fact crosses into the C engine as JSON text, and every firing's
    matched facts come back as JSON text (``durable.engine`` calls ``json.dumps``/``json.loads`` through
    its module-level ``json``). orjson writes the same JSON, compact, and reads it back to equal values;
    measured: consultations ~25% faster (bench/bench.py). Facts hold only strings, ints and lists
    of them (engine.py's own rule), which orjson handles as json does. The swap is process-wide:
    another durable-rules ruleset in the same process gets the same codec (unlike json, orjson
    refuses non-string keys and writes NaN as null)."""

    @staticmethod
    def dumps(obj, ensure_ascii=False, **_kw) -> str:  # durable passes ensure_ascii=False everywhere
        return orjson.dumps(obj).decode("utf-8")

    loads = staticmethod(orjson.loads)


def _unix_now() -> float:
    """durable-rules times each action (a lease of 10 s) with two datetime computations per firing;
    a monotonic clock measures the same intervals for less."""
    return time.monotonic()


_durable.json = _OrJSON
_durable._unix_now = _unix_now


class _QuietHost(_durable.Host):
    def _run(self):  # no background dispatch threads: actions run inside assert_facts
        pass


DEFINITION = compile_rules(RULE_LIST, _make_action)
_LOCK = threading.Lock()
_HOST: _QuietHost | None = None
_SIDS = itertools.count(1)
STATS = {"consultations": 0, "clashes": 0}


def host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        h = _QuietHost()
        h.register_rulesets(DEFINITION)
        _HOST = h
    return _HOST


def run(facts: list[dict], weights: dict) -> Session:
    """Assert ``facts`` in a fresh session; return the consultation (trace and derived facts)."""
    w = actions.Weights.from_kb(weights, TIERS)
    with _LOCK:
        STATS["consultations"] += 1
        h = host()
        ctx = Session(w)
        sid = f"c{next(_SIDS)}"
        _CURRENT.append(ctx)
        try:
            stored = [ctx.store(f, sid) for f in facts]
            try:
                state = h.assert_facts(RULESET, stored)
            except _durable.MessageObservedException as exc:  # pragma: no cover - ids are checked first
                raise EngineError(f"rule engine refused a fact it already holds: {exc}") from None
            if ctx.error is not None:
                raise EngineError(f"rule action failed: {type(ctx.error).__name__}: {ctx.error}")
            if isinstance(state, dict) and state.get("exception"):
                raise EngineError(f"rule engine reported: {state['exception']}")
            held = {f.get("id") for f in h.get_facts(RULESET, sid)}
            expected = {s["id"] for s in ctx.stored.values()}
            if expected - held:  # pragma: no cover - would mean a clash the check missed
                raise EngineError(f"rule engine lost facts: {', '.join(sorted(expected - held))}")
            STATS["clashes"] += len(ctx.clashes)
            return ctx
        finally:
            _CURRENT.pop()
            try:
                h.delete_state(RULESET, sid)
            except Exception:  # pragma: no cover - state already gone
                pass
