"""Rule metadata, tracing and fact emission shared by every stage.

A rule is a durable_rules action wrapped by :func:`rule`. The wrapper records the firing (rule id,
the ids of the facts the engine matched, the facts the action asserted) into the consultation
that is running, in the order the engine calls the actions, so the trace is what really fired.
Actions never print and never decide outside the engine: they compute a certainty factor for the
conclusion (premise CF x rule strength) and assert facts through :func:`emit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

RULESET = "msc_ev"

STAGES = ("classify", "evidence", "heuristic", "route", "engineering", "caution", "constraint")


@dataclass(frozen=True)
class RuleMeta:
    id: str
    stage: str
    description: str
    conditions: tuple[str, ...]
    conclusion: str
    cites: tuple[str, ...] = ()
    weight: bool = False  # True when the rule's certainty factor comes from weights.rules[id]


RULES: dict[str, RuleMeta] = {}


@dataclass
class Step:
    step: int
    rule: str
    matched: list[str]
    asserted: list[dict] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)


class Consultation:
    """Per-consultation state the actions read and write (one at a time: see advisor.engine)."""

    def __init__(self, weights: dict, salt: str = ""):
        self.weights = weights
        self.salt = salt
        self.steps: list[Step] = []
        self.derived: list[dict] = []
        self.known: set[str] = set()
        self.stored: dict[str, dict] = {}
        self.error: BaseException | None = None

    def rule_cf(self, rule_id: str) -> int:
        return int(round(self.weights["rules"][rule_id] * 1000))


CURRENT: list[Consultation] = []  # the running consultation (a stack of at most one)


def ident(fact_id: str) -> str:
    """The id stored in the engine: salted when a consultation is re-run after a hash clash."""
    ctx = CURRENT[-1] if CURRENT else None
    return fact_id + ctx.salt if ctx and ctx.salt else fact_id


def unsalt(fact_id: str) -> str:
    ctx = CURRENT[-1] if CURRENT else None
    if ctx and ctx.salt and fact_id.endswith(ctx.salt):
        return fact_id[: -len(ctx.salt)]
    return fact_id


def emit(c, fact: dict) -> None:
    """Assert a derived fact and record it on the current firing.

    Conclusions are idempotent: a fact already derived in this consultation (same id) is not
    asserted again (durable_rules would reject the duplicate), so two firings that reach the same
    conclusion leave one fact, and the second firing's trace step shows nothing new.
    """
    ctx = CURRENT[-1]
    if fact["id"] in ctx.known:
        return
    ctx.known.add(fact["id"])
    shown = dict(fact)
    ctx.steps[-1].asserted.append(shown)
    ctx.derived.append(shown)
    stored = dict(fact)
    stored["id"] = ident(fact["id"])
    ctx.stored[fact["id"]] = stored
    c.assert_fact(stored)


def retract(c, fact_id: str) -> None:
    """Withdraw a fact this consultation derived earlier; the trace records the retraction."""
    ctx = CURRENT[-1]
    stored = ctx.stored.pop(fact_id, None)
    if stored is None:
        return
    ctx.derived = [f for f in ctx.derived if f["id"] != fact_id]
    ctx.known.discard(fact_id)
    ctx.steps[-1].retracted.append(fact_id)
    c.retract_fact(dict(stored))


def mul(a: int, b: int) -> int:
    """Product of two certainty factors held as integers out of 1000 (MYCIN's tally)."""
    p = a * b
    return (p + 500) // 1000 if p >= 0 else -((-p + 500) // 1000)


def rule(rule_id: str, *, stage: str, description: str, conditions: list[str], conclusion: str,
         cites: list[str] = (), weight: bool = False) -> Callable:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    if rule_id in RULES:
        raise ValueError(f"rule {rule_id!r} defined twice")
    RULES[rule_id] = RuleMeta(rule_id, stage, description, tuple(conditions), conclusion,
                              tuple(cites), weight)

    def deco(fn: Callable) -> Callable:
        def action(c):
            ctx = CURRENT[-1]
            matched = c._m if isinstance(c._m, dict) else {}
            ids = [unsalt(v.get("id", "")) for v in matched.values() if isinstance(v, dict)]
            ctx.steps.append(Step(len(ctx.steps) + 1, rule_id, ids))
            try:
                fn(c, ctx)
            except BaseException as exc:  # surfaced by advisor.engine after the run
                ctx.error = exc
                raise

        action.__name__ = fn.__name__
        action.rule_id = rule_id
        return action

    return deco
