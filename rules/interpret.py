"""The same rule declarations, evaluated in plain Python.

Three uses, one reading of the declarations (no second copy of any condition):
- ``why-not``: :func:`first_failure` walks a rule's conditions in order over a consultation's facts
  and names the first condition that no fact satisfies, with the nearest fact and the test it failed;
- the speed baseline in ``bench/``: :func:`run` forward-chains to a fixpoint without durable-rules;
- a differential test: :func:`run` must derive exactly the facts durable-rules derives.

Semantics follow the engine as the advisor uses it: rules fire by priority, then by their place in
the file; an activation fires once; a retracted fact no longer matches. The rule base is confluent
(what is derived does not depend on the order of firings within a priority), which the
differential test checks on every curated disease.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import actions
from .declare import Condition, Ref, Rule, Test


def _val(v, bound: dict):
    return bound[v.bind][v.field] if isinstance(v, Ref) else v


def test_ok(t: Test, fact: dict, bound: dict) -> bool:
    """Does ``fact`` pass test ``t`` given the facts bound so far?"""
    if t.field not in fact:
        return False
    x = fact[t.field]
    if t.op == "eq":
        return x == _val(t.value, bound)
    if t.op == "ne":
        return x != _val(t.value, bound)
    if t.op == "in":
        return x in t.value
    if t.op == "has":
        return isinstance(x, list) and t.value in x
    if t.op == "has-any":
        return isinstance(x, list) and any(v in x for v in t.value)
    y = _val(t.value, bound)
    if isinstance(x, str) != isinstance(y, str):
        return False
    return {"lt": x < y, "gt": x > y, "le": x <= y, "ge": x >= y}[t.op]


class Facts:
    """Alive facts by kind, with equality indexes built on demand."""

    def __init__(self, facts=()):
        self.by_id: dict[str, dict] = {}
        self.by_kind: dict[str, list[dict]] = defaultdict(list)
        self.version: dict[str, int] = defaultdict(int)  # changes per kind: lets run() skip idle rules
        self._index: dict[tuple[str, str], dict] = {}
        for f in facts:
            self.add(f)

    def add(self, f: dict) -> None:
        self.by_id[f["id"]] = f
        self.by_kind[f["kind"]].append(f)
        self.version[f["kind"]] += 1
        self._index = {}

    def remove(self, fid: str) -> None:
        f = self.by_id.pop(fid, None)
        if f is not None:
            self.by_kind[f["kind"]] = [g for g in self.by_kind[f["kind"]] if g["id"] != fid]
            self.version[f["kind"]] += 1
            self._index = {}

    def candidates(self, cond: Condition, bound: dict) -> list[dict]:
        for t in cond.tests:  # use an equality join when there is one
            if t.op == "eq" and isinstance(t.value, Ref):
                key = (cond.fact, t.field)
                idx = self._index.get(key)
                if idx is None:
                    idx = defaultdict(list)
                    for f in self.by_kind.get(cond.fact, ()):
                        if t.field in f:
                            idx[f[t.field]].append(f)
                    self._index[key] = idx
                return idx.get(_val(t.value, bound), [])
        return self.by_kind.get(cond.fact, [])


def matches(rule: Rule, facts: Facts, bound: dict | None = None, start: int = 0):
    """Every way the rule's conditions (from ``start`` on) bind facts, as dicts bind -> fact."""
    bound = dict(bound or {})
    conds = rule.conditions
    if start == len(conds):
        yield bound
        return
    cond = conds[start]
    for f in facts.candidates(cond, bound):
        if all(test_ok(t, f, bound) for t in cond.tests):
            bound[cond.bind] = f
            yield from matches(rule, facts, bound, start + 1)
            del bound[cond.bind]


@dataclass
class Firing:
    rule: str
    matched: list[str]
    asserted: list[str]
    retracted: list[str] = field(default_factory=list)


def run(rules: tuple[Rule, ...], facts: list[dict], weights: actions.Weights) -> tuple[list[dict], list[Firing]]:
    """Forward-chain to a fixpoint; return the derived facts still alive and the firings in order."""
    store = Facts(facts)
    fired: set[tuple[str, tuple[str, ...]]] = set()
    firings: list[Firing] = []
    derived: dict[str, dict] = {}
    order = sorted(rules, key=lambda r: (r.priority, r.index))
    kinds = {r.id: sorted({c.fact for c in r.conditions}) for r in rules}
    idle: dict[str, tuple] = {}  # rule -> the kinds' versions when it last had nothing to fire
    while True:
        for rule in order:
            seen = tuple(store.version[k] for k in kinds[rule.id])
            if idle.get(rule.id) == seen:
                continue  # nothing it reads has changed since it last had nothing to fire
            acts = []
            for b in matches(rule, store):
                key = (rule.id, tuple(b[c.bind]["id"] for c in rule.conditions))
                if key not in fired:
                    acts.append((key, dict(b)))
            if acts:
                break
            idle[rule.id] = seen
        else:
            return [derived[k] for k in derived], firings
        acts.sort(key=lambda a: a[0][1])
        for key, b in acts:
            if any(b[c.bind]["id"] not in store.by_id for c in rule.conditions):
                continue  # retracted by an earlier firing of this round
            fired.add(key)
            new, gone = actions.run(rule, b, weights)
            asserted = []
            for f in new:
                if f["id"] in store.by_id:
                    continue
                store.add(f)
                derived[f["id"]] = f
                asserted.append(f["id"])
            for g in gone:
                store.remove(g["id"])
                derived.pop(g["id"], None)
            firings.append(Firing(rule.id, list(key[1]), asserted, [g["id"] for g in gone]))


@dataclass
class Failure:
    """The first condition of a rule that no fact satisfies, and the closest the facts came."""

    condition: Condition
    bound: dict  # what the earlier conditions bound
    nearest: dict | None  # a fact of the right kind that passed the most tests
    failed_test: Test | None  # the first test the nearest fact failed


def first_failure(rule: Rule, facts: Facts, fixed: dict[str, dict[str, object]] | None = None) -> Failure | None:
    """Walk ``rule``'s conditions in order; ``fixed`` adds tests (bind -> field -> value), e.g. that
    the fact bound as ``f`` has ``source == 'ad-msc'``. Returns None when the rule matches."""
    fixed = fixed or {}

    def extra_ok(cond: Condition, f: dict) -> bool:
        return all(f.get(k) == v for k, v in fixed.get(cond.bind, {}).items())

    best: Failure | None = None
    best_score = -1

    def walk(i: int, bound: dict) -> bool:
        nonlocal best, best_score
        if i == len(rule.conditions):
            return True
        cond = rule.conditions[i]
        pool = facts.by_kind.get(cond.fact, [])
        nearest, near_score, near_test = None, -1, None
        for f in pool:
            ok = True
            score = 0
            failed = None
            for t in cond.tests:
                if test_ok(t, f, bound):
                    score += 1
                else:
                    ok = False
                    failed = failed or t
            if not extra_ok(cond, f):
                ok = False
            if ok:
                bound[cond.bind] = f
                if walk(i + 1, bound):
                    return True
                del bound[cond.bind]
            elif extra_ok(cond, f) and score > near_score:
                nearest, near_score, near_test = f, score, failed
        # the deepest condition that fails; among bindings failing there, the one whose nearest fact
        # passes the most tests (a join names the binding it almost matched, not the first one tried)
        if best is None or i > len(best.bound) or (i == len(best.bound) and near_score > best_score):
            best, best_score = Failure(cond, dict(bound), nearest, near_test), near_score
        return False

    return None if walk(0, {}) else best
