"""The durable-rules wrapper: one private host, one session per consultation, one at a time.

durable-rules' C engine holds the facts and does all the matching. Its Python host layer is used
only to compile and register the ruleset; :func:`run` drives the C functions itself (assert, take
the pending action, fire, complete), which is what the host loop does, without a Closure, a
session-state round trip and a lease timer per action (measured: about a third of a consultation).

durable-rules' hazards (docs/performance.md lists them with the tests that cover each), and the answer here:
- background threads: :class:`_QuietHost` never starts the timer threads, and nothing is
  dispatched by the host: every firing has happened when :func:`run` returns;
- global registry: the declared rules are compiled once, at import, and registered on this
  private host only;
- no thread safety: every engine call runs under one lock (parallel batch work uses processes);
- 1024 live sessions: each consultation gets a fresh sid and ``delete_state`` in ``finally``;
- deleting a session in which no rule ever matched crashes the process: such a session first gets
  the guard fact, which the guard rule alone matches (:func:`_guarded_delete`);
- floats: certainty factors travel as integers out of 1000;
- swallowed exceptions: an action's exception abandons the action and is raised as EngineError;
- identity: facts are identified by a 32-bit FNV-1a hash of their id, and a clash silently drops a
  fact. Every id asserted in a consultation (prepared or derived) is hashed first, exactly as the
  engine does; a clashing id gets a suffix until it is distinct. A duplicate id (the same fact
  twice) is refused before it reaches the engine, which aborts the process on some duplicates.

Facts cross into the engine as JSON (written by orjson) with only the fields some condition tests
(:func:`~msc_ev.rules.compile.engine_fields`); the actions read the whole facts, kept in the
:class:`Session`.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import orjson
from durable import engine as _durable

from ..rules import RULE_LIST, TIERS, Rule, actions
from ..rules.compile import GUARD, RULESET, compile_rules, engine_fields, kind_property, named_kinds
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
        self.full: dict[str, dict] = {}  # engine id -> the whole fact, as asserted (logical id)
        self.logical: dict[str, str] = {}  # engine id -> logical id (differs only after a hash clash)
        self.hashes: dict[int, str] = {}  # hash -> engine id
        self.clashes: list[tuple[str, str]] = []
        self.beside: set[str] = set()  # ids of the facts of a kind no condition names: kept here only

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

    def store(self, fact: dict, sid: str) -> dict | None:
        """The fact as the engine gets it: its engine id, the session, its kind and the fields some
        condition tests (:data:`FIELDS`); the whole fact stays here for the actions. None for a fact
        of a kind no condition names (:func:`accepts`): the engine would hold it and never look at it."""
        if not accepts(fact):
            if fact["id"] in self.beside or fact["id"] in self.stored:
                raise EngineError(f"fact {fact['id']!r} asserted twice in one consultation")
            self.beside.add(fact["id"])
            return None
        if fact["id"] in self.beside:
            raise EngineError(f"fact {fact['id']!r} asserted twice in one consultation")
        eid = self.engine_id(fact["id"])
        kind = fact["kind"]
        stored = {"id": eid, "sid": sid, "kind": kind, _KIND_PROPERTY[kind]: 1}
        for k in FIELDS.get(kind, ()):
            if k in fact:
                stored[k] = fact[k]
        self.stored[fact["id"]] = stored
        self.full[eid] = fact
        return stored


FIELDS = engine_fields(RULE_LIST)
_NAMED = named_kinds(RULE_LIST)
_KIND_PROPERTY = {k: kind_property(k) for k in _NAMED}


def accepts(fact: dict) -> bool:
    """Does some condition name the fact's kind? A fact of a kind no rule reads (a block, a context,
    a preference: what the advice is built from) is never part of a match, so it is kept here and
    not handed to the engine. (Judging each fact against the conditions' constant tests as well was
    measured: it costs more than the engine spends on the facts it would leave out.)"""
    return fact["kind"] in _NAMED


# durable-rules' C functions, driven directly (see run()); its Python host layer is used only to
# register the ruleset, which it compiles once.
_C = _durable.durable_rules_engine


def _check(result, what: str) -> int:
    """The state handle of an assert, or EngineError for what durable-rules' host would raise."""
    if result[0] == 1:  # pragma: no cover - the sink rule handles every kind
        raise EngineError(f"rule engine could not handle {what}")
    if result[0] == 2:
        raise EngineError(f"rule engine refused a fact it already holds (MessageObservedException): {what}")
    return result[1]


def _fire(ctx: Session, rule: Rule, binds: tuple[str, ...], frames: list[dict], handle: int) -> None:
    """One round of ``rule``: durable-rules hands over every match it has at once (the rule is
    compiled with ``cap``, see rules/compile.py); each match is one firing, recorded as its own step,
    in the order of the ids of the facts it matched (as rules/interpret.py fires them). A match whose
    facts an earlier firing of the same round retracted does not fire (as when the engine is given
    matches one at a time, and as rules/interpret.py does). The engine's frames name the matched
    facts; the actions read the whole facts, kept here."""
    full = ctx.full
    matches = [[full[frame[b]["id"]] for b in binds] for frame in frames]
    if len(matches) > 1:
        matches.sort(key=lambda facts: [f["id"] for f in facts])
    batch: list[dict] = []
    sid = frames[0][binds[0]]["sid"]
    for facts in matches:
        matched = [f["id"] for f in facts]
        if any(m not in ctx.stored for m in matched):
            continue  # retracted by an earlier firing of this round
        step = Step(len(ctx.steps) + 1, rule.id, matched)
        ctx.steps.append(step)
        new, gone = actions.run(rule, dict(zip(binds, facts)), ctx.weights)
        for f in new:
            if f["id"] in ctx.stored or f["id"] in ctx.beside:
                continue  # already known: the step shows nothing new (a test keeps this from happening)
            held = ctx.store(f, sid)
            if held is not None:
                batch.append(held)
            step.asserted.append(f)
            ctx.derived[f["id"]] = f
        for g in gone:
            stored = ctx.stored.pop(g["id"], None)
            if stored is not None:
                ctx.derived.pop(g["id"], None)
                step.retracted.append(g["id"])
                if stored["sid"] != sid:  # a fact of a Part: held with the placeholder session id
                    stored = {**stored, "sid": sid}
                _check(_C.retract_fact(handle, _dumps(stored)), f"the retraction of {g['id']}")
    if batch:  # one crossing into the engine for everything the round derived
        _check(_C.assert_facts(handle, _dumps(batch)), "a derived fact")


def _dumps(obj) -> str:
    return orjson.dumps(obj).decode("utf-8")


class _QuietHost(_durable.Host):
    def _run(self):  # no background dispatch threads: nothing is ever dispatched by the host
        pass


def _mark(rule: Rule):
    """The action registered with durable-rules: a marker naming the rule. run() fires the rule
    itself (durable's host loop is not used), so this is never called."""
    def action(c):  # pragma: no cover - durable-rules checks the argument count: exactly one
        raise EngineError(f"rule {rule.id} was dispatched by durable-rules' host loop")

    action.rule = rule
    action.__name__ = rule.id.replace("-", "_")
    return action


DEFINITION = compile_rules(RULE_LIST, _mark)
# durable's name of each rule's action (r_0, r_1, ...) -> the rule and its bind names
_BY_NAME = {name: (d["run"].rule, tuple(cond.bind for cond in d["run"].rule.conditions))
            for name, d in DEFINITION[RULESET].items() if hasattr(d.get("run"), "rule")}
_GUARD_RULE = next(name for name, d in DEFINITION[RULESET].items() if getattr(d.get("run"), "guard", False))
_LOCK = threading.Lock()
_HOST: _QuietHost | None = None
_SIDS = itertools.count(1)
STATS = {"consultations": 0, "clashes": 0, "guarded": 0}


def host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        h = _QuietHost()
        h.register_rulesets(DEFINITION)
        _HOST = h
    return _HOST


def held(sid: str) -> list[dict]:
    """The facts the engine holds in session ``sid`` (for tests and checks)."""
    return orjson.loads(_C.get_facts(host().get_ruleset(RULESET)._handle, sid))


_PLACEHOLDER = "@sid@"  # the session id a Part's facts are written with; each run puts its own in


class Part:
    """Facts asserted in many runs (the facts of one concept, remembered by advisor/reuse.py), held in
    the form the engine gets them: written once, with their ids hashed once. :func:`run` given a Part
    copies its tables into the session and asserts its JSON with the run's session id put in.
    The facts must not change while the Part is used; they are kept alive by it."""

    def __init__(self, facts: list[dict]):
        s = Session(None)  # type: ignore[arg-type]
        stored = [x for f in facts if (x := s.store(f, _PLACEHOLDER)) is not None]
        self.facts = facts
        self.ids = frozenset(id(f) for f in facts)
        self.json = _dumps(stored)[1:-1]  # the list's items, without the brackets
        self.tables = (s.stored, s.full, s.logical, s.hashes, s.beside)
        self.clashes = s.clashes


def _load(ctx: Session, facts: list[dict], part: "Part | None", sid: str) -> str:
    """The JSON list of ``facts`` as the engine gets them (a Part's contiguous run of facts written
    once, the others here), with every fact entered in ``ctx``."""
    if part is None:
        return _dumps([x for f in facts if (x := ctx.store(f, sid)) is not None])
    stored, full, logical, hashes, beside = part.tables
    ctx.stored, ctx.full, ctx.logical = dict(stored), dict(full), dict(logical)
    ctx.hashes, ctx.beside, ctx.clashes = dict(hashes), set(beside), list(part.clashes)
    before, after, seen = [], [], 0
    for f in facts:
        if id(f) in part.ids:
            seen += 1
            continue
        x = ctx.store(f, sid)
        if x is not None:
            (after if seen else before).append(x)
    if seen != len(part.facts):
        raise EngineError("the facts given with a Part do not hold all of its facts")
    pieces = [_dumps(before)[1:-1] if before else "", part.json.replace(f'"sid":"{_PLACEHOLDER}"', f'"sid":"{sid}"'),
              _dumps(after)[1:-1] if after else ""]
    return "[" + ",".join(p for p in pieces if p) + "]"


def run(facts: list[dict], weights: dict, *, verify: bool = False, part: Part | None = None) -> Session:
    """Assert ``facts`` in a fresh session; return the consultation (trace and derived facts).

    durable-rules' C engine does the matching. Its Python host loop (a Closure per action, the
    session state written back after each, timers) is replaced by this loop over the same C calls:
    start the pending action, fire its rule (:func:`_fire`), complete it and take the next. With
    ``verify``, the facts the engine holds at the end are compared with those asserted and not
    retracted (the tests do this on every curated disease). ``part``: a :class:`Part` holding some of
    ``facts`` (one contiguous run of them), written for the engine once."""
    w = actions.Weights.from_kb(weights, TIERS)
    with _LOCK:
        STATS["consultations"] += 1
        handle = host().get_ruleset(RULESET)._handle
        ctx = Session(w)
        sid = f"c{next(_SIDS)}"
        matched = False  # did any rule match in this session? (see _guarded_delete)
        try:
            loaded = _load(ctx, facts, part, sid)
            stored = loaded != "[]"
            state = _check(_C.assert_facts(handle, loaded), "a prepared fact") if stored else None
            started = _C.start_action_for_state(handle, state) if stored else None
            pending = started[1] if started else None
            matched = pending is not None
            while pending:
                (name, frames), = orjson.loads(pending).items()
                rule, binds = _BY_NAME[name]
                try:
                    _fire(ctx, rule, binds, frames, handle)
                except BaseException as exc:
                    _C.abandon_action(handle, state)
                    if isinstance(exc, EngineError) or not isinstance(exc, Exception):
                        raise  # Ctrl-C and exits stay what they are
                    raise EngineError(f"rule action failed: {type(exc).__name__}: {exc}") from exc
                pending = _C.complete_and_start_action(handle, state)
            if verify:
                have = {f.get("id") for f in held(sid)} if stored else set()
                expected = {s["id"] for s in ctx.stored.values()}
                if have != expected:
                    raise EngineError(f"rule engine lost facts: {', '.join(sorted(expected - have))}; "
                                      f"holds others: {', '.join(sorted(have - expected))}")
            STATS["clashes"] += len(ctx.clashes)
            return ctx
        finally:
            _guarded_delete(handle, sid, matched)


def _guarded_delete(handle: int, sid: str, matched: bool) -> None:
    """Delete the session ``sid``. durable-rules crashes the process (a segfault, or an abort in
    ``free``) when it deletes a session in which no rule ever matched; so when none did (facts that no
    rule joins, or no fact at all), the guard fact is asserted first: the guard rule matches it alone,
    its action is taken and completed here (it records nothing), and the session is then deleted as
    any other. A consultation never needs this (its query fact always matches a rule): only a
    degenerate fact set pays for it."""
    try:
        if not matched:
            STATS["guarded"] += 1
            result = _C.assert_facts(handle, _dumps([{"id": "guard", "sid": sid, "kind": GUARD,
                                                      kind_property(GUARD): 1}]))
            state = _check(result, "the guard fact")
            started = _C.start_action_for_state(handle, state)
            pending = started[1] if started else None
            while pending:  # the guard's own action (and nothing else: no other rule matched)
                (name, _frames), = orjson.loads(pending).items()
                if name != _GUARD_RULE:  # pragma: no cover - only the guard can match here
                    _C.abandon_action(handle, state)
                    break
                pending = _C.complete_and_start_action(handle, state)
        _C.delete_state(handle, sid)
    except Exception:  # pragma: no cover - state already gone
        pass
