"""Compile the rule declarations into one durable-rules ruleset (defined once, at import).

Each declared condition becomes ``c.<bind> << (m.is_<kind> == 1) & <tests>``; each rule becomes
``when_all(pri(priority), *conditions)`` with an action that records the firing in the running
:class:`~msc_ev.advisor.engine.Session` and asserts what :func:`.actions.run` computes. A sink rule
observes every fact kind and never fires, so that no fact is "unhandled" (see
docs/performance.md). A guard rule matches the guard fact alone: the engine asserts it only in a
session where no other rule matched, so that the session can be deleted (durable-rules crashes when
it deletes a session in which no rule ever matched). The definition is removed from durable's global
registry: the advisor registers it on a private host of its own.

Why ``is_<kind> == 1`` and not ``kind == KIND``: durable-rules' alpha network is hashed on the
property *name*, so every ``kind == X`` test of every rule sits under the one key ``kind`` and is
compared in turn for every fact asserted; a property of its own per kind puts each fact kind's
conditions under their own key (:func:`kind_property`; the engine writes it on every fact it hands
over).
"""

from __future__ import annotations

from durable.lang import _rulesets, c, cap, item, m, pri, ruleset, when_all

from .declare import Condition, Ref, Rule, Test

RULESET = "msc_ev"
# Each action is handed every match the engine has for its rule at once (durable-rules' ``cap``), up
# to this many: one crossing from C to Python per rule and round instead of one per match. Each
# match is still one firing in the trace (advisor/engine.py).
CAP = 100_000


def _operand(v):
    if isinstance(v, Ref):
        return getattr(getattr(c, v.bind), v.field)
    return v


def _test(t: Test):
    f = getattr(m, t.field)
    if t.op == "eq":
        return f == _operand(t.value)
    if t.op == "ne":
        return f != _operand(t.value)
    if t.op == "lt":
        return f < _operand(t.value)
    if t.op == "gt":
        return f > _operand(t.value)
    if t.op == "le":
        return f <= _operand(t.value)
    if t.op == "ge":
        return f >= _operand(t.value)
    if t.op == "in":
        expr = f == t.value[0]
        for v in t.value[1:]:
            expr = expr | (getattr(m, t.field) == v)
        return expr
    if t.op == "has":
        return f.anyItem(item == t.value)
    if t.op == "has-any":
        # one anyItem per value, joined outside: durable-rules reads an uninitialised node when an
        # anyItem holds an OR (rete.c createAlpha), and create_ruleset then fails at random with error 102
        expr = f.anyItem(item == t.value[0])
        for v in t.value[1:]:
            expr = expr | getattr(m, t.field).anyItem(item == v)
        return expr
    raise ValueError(f"unknown operator {t.op!r}")  # pragma: no cover - declare.OPS is closed


GUARD = "engine-guard"  # the kind of the guard fact; no declared rule names it


def kind_property(kind: str) -> str:
    """The property a fact of ``kind`` carries (value 1) in the engine, and its conditions test."""
    return "is_" + kind.replace("-", "_")


def _condition(cond: Condition):
    expr = getattr(m, kind_property(cond.fact)) == 1
    for t in cond.tests:
        expr = expr & _test(t)
    return getattr(c, cond.bind) << expr


def engine_fields(rules: tuple[Rule, ...]) -> dict[str, tuple[str, ...]]:
    """Fact kind -> the fields some condition tests (directly, or through a ``$bind.field`` of a later
    condition). Only these, with ``id``, ``sid`` and ``kind``, need to reach the engine: an action
    reads the whole fact on the host side (advisor/engine.py), so a field no condition mentions is
    never looked at by durable-rules."""
    out: dict[str, set[str]] = {}
    for r in rules:
        kind_of = {cond.bind: cond.fact for cond in r.conditions}
        for cond in r.conditions:
            for t in cond.tests:
                out.setdefault(cond.fact, set()).add(t.field)
                if isinstance(t.value, Ref) and t.value.field is not None:
                    out.setdefault(kind_of[t.value.bind], set()).add(t.value.field)
    return {k: tuple(sorted(v)) for k, v in sorted(out.items())}


def named_kinds(rules: tuple[Rule, ...]) -> frozenset[str]:
    """The fact kinds some condition names: a fact of any other kind can never be part of a match."""
    return frozenset(cond.fact for r in rules for cond in r.conditions)


def compile_rules(rules: tuple[Rule, ...], make_action) -> dict:
    """Build the durable-rules definition; ``make_action(rule)`` returns the one-argument action."""
    with ruleset(RULESET):
        for r in rules:
            when_all(cap(CAP), pri(r.priority), *[_condition(cond) for cond in r.conditions])(make_action(r))

        @when_all(+m.kind, m.__never__ == 1)
        def _sink(c):  # pragma: no cover - never fires; makes every fact "handled"
            pass

        def _guard(c):  # pragma: no cover - advisor/engine.py completes its action itself
            pass

        _guard.guard = True
        when_all(getattr(m, kind_property(GUARD)) == 1)(_guard)

    name, definition = _rulesets.pop(RULESET).define()
    return {name: definition}
