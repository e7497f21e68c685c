"""What a rule's action asserts, computed from the facts its conditions bound.

Shared by the durable-rules actions (:mod:`.compile`) and the plain-Python interpreter
(:mod:`.interpret`), so both derive the same facts. An action decides nothing: the rule's conditions
did. It only builds facts with stable ids and does the certainty-factor arithmetic, on integers out
of 1000 (MYCIN's tally; durable-rules mishandles floats).
"""

from __future__ import annotations

from dataclasses import dataclass

from .declare import Rule

HEURISTIC_ORDER = 9_999_999_999  # heuristics carry no paper: they never supersede anything


def mul(a: int, b: int) -> int:
    """Product of two certainty factors held as integers out of 1000, rounded half away from zero."""
    p = a * b
    return (p + 500) // 1000 if p >= 0 else -((-p + 500) // 1000)


def order_key(tier: int, cf: int, ev_order: int) -> int:
    """Lower is stronger: tier first, then the size of the CF, then a stable evidence order."""
    return tier * 10**8 + (1000 - min(abs(cf), 1000)) * 10**4 + ev_order


@dataclass
class Weights:
    """The weights an action needs, as integers out of 1000."""

    named: dict[str, int]  # a rule's own certainty factor by the name of its weight: "rules.<id>", "reach.local"
    tier: dict[int, int]
    source_rollup: int
    tiers: dict[str, dict[str, int]]

    @classmethod
    def from_kb(cls, weights: dict, tiers: dict) -> "Weights":
        ms = lambda x: int(round(x * 1000))  # noqa: E731
        named = {f"rules.{k}": ms(v) for k, v in weights["rules"].items()}
        named.update({f"reach.{k}": ms(v) for k, v in (weights.get("reach") or {}).items()})
        return cls(named, {int(k): ms(v) for k, v in weights["tier"].items()}, ms(weights["source_rollup"]), tiers)


def _contribution(rule: Rule, axis: str, item: str, *, cf: int, tier: int, basis: str, paper: str, evidence: str,
                  origin: str, clinical: int, model: str, order: int, comparison: str = "") -> dict:
    return {"id": f"contribution:{axis}:{item}:{rule.id}:{evidence or comparison}", "kind": "contribution",
            "axis": axis, "item": item, "cf": cf, "tier": tier, "basis": basis, "paper": paper, "evidence": evidence,
            "comparison": comparison, "origin": origin, "rule": rule.id, "clinical": clinical, "model": model,
            "order": order}


def run(rule: Rule, bound: dict[str, dict], w: Weights) -> tuple[list[dict], list[dict]]:
    """The facts ``rule`` asserts (and retracts) for one match ``bound`` (bind name -> fact)."""
    p = {}
    for k, b, f in rule.param_plan:
        if b is None:
            p[k] = f
        else:
            fact = bound[b]
            p[k] = fact if f is None else fact[f]
    a = rule.action
    if a == "relate":
        return [{"id": f"relation:{p['disease']}", "kind": "relation", "disease": p["disease"],
                 "basis": p["basis"], "how": p["how"], "same_organ": p["same_organ"], "rule": rule.id}], []
    if a == "block":
        ev = p.get("evidence", "")
        return [{"id": f"blocked:{p['axis']}:{p['item']}:{ev}", "kind": "blocked", "axis": p["axis"],
                 "item": p["item"], "evidence": ev, "reason": p["reason"], "rule": rule.id}], []
    if a == "contribute":
        if "evidence" in p:
            e, r = p["evidence"], p["relation"]
            tier = w.tiers[r["basis"]][e["model"]]
            cf = mul(e["strength"], w.tier[tier])
            if e["direction"] == "opposes":
                cf = -cf
            return [_contribution(rule, p["axis"], p["item"], cf=cf, tier=tier, basis=r["basis"],
                                  paper=e["paper"], evidence=e["evidence"], origin="evidence",
                                  clinical=e["clinical"], model=e["model"], order=order_key(tier, cf, e["order"]))], []
        if "contribution" in p:
            s = p["contribution"]
            scale = {"source_rollup": w.source_rollup}[p["scale"]]
            return [_contribution(rule, p["axis"], p["item"], cf=mul(s["cf"], scale), tier=s["tier"], basis=s["basis"],
                                  paper=s["paper"], evidence=s["evidence"], origin="rollup",
                                  clinical=s["clinical"], model=s["model"], order=s["order"])], []
        cf = w.named[rule.weight]
        if "comparison" in p:  # a comparison about a process, an organ or the cells: one cited contribution
            k = p["comparison"]
            return [_contribution(rule, p["axis"], p["item"], cf=cf, tier=4, basis="indirect", paper=k["paper"],
                                  evidence="", origin="comparison", clinical=0, model="review-inference",
                                  # weaker than any evidence item of the same paper, whatever the weights:
                                  # one paper counts once, by its study before a general statement citing it
                                  order=order_key(4, 0, HEURISTIC_ORDER % 10**4), comparison=k["comparison"])], []
        return [_contribution(rule, p["axis"], p["item"], cf=cf, tier=4, basis=p.get("basis", "indirect"),
                              paper="", evidence="", origin="heuristic", clinical=0, model="review-inference",
                              order=HEURISTIC_ORDER)], []
    if a == "exclude":
        return [{"id": f"exclusion:{p['axis']}:{p['item']}:{rule.id}", "kind": "exclusion", "axis": p["axis"],
                 "item": p["item"], "reason": p["reason"], "rule": rule.id}], []
    if a == "set-aside":
        s = p["contribution"]
        return [{"id": f"aside:{s['id']}", "kind": "set-aside", "contribution": s["id"], "rule": rule.id}], []
    if a == "population":
        return [{"id": f"population:{p['population']}", "kind": "population", "population": p["population"],
                 "via": p["via"], "rule": rule.id}], []
    if a == "context":
        if "comparison" in p:
            return [{"id": f"context:{p['type']}:{p['comparison']}", "kind": "context", "type": p["type"],
                     "evidence": "", "comparison": p["comparison"], "rule": rule.id}], []
        ev = p["evidence"]
        return [{"id": f"context:{p['type']}:{ev}", "kind": "context", "type": p["type"], "evidence": ev,
                 "comparison": "", "rule": rule.id}], []
    if a == "prefer":
        k = p["comparison"]
        via = "+".join(sorted(f["id"] for f in bound.values() if f is not k))  # a comparison may apply twice
        return [{"id": f"preference:{k['comparison']}:{via}", "kind": "preference", "comparison": k["comparison"],
                 "axis": k["axis"], "type": k["type"], "scope": k["scope"], "better": k["better"],
                 "candidate": k["candidate"], "cancer": k["cancer"], "paper": k["paper"], "rule": rule.id}], []
    if a == "supersede":
        b, s = p["weaker"], p["stronger"]
        return [{"id": f"superseded:{b['id']}:{s['id']}", "kind": "superseded", "contribution": b["id"],
                 "by": s["id"], "rule": rule.id}], []
    if a == "caution":
        item, ev = p.get("item", ""), p.get("evidence", "")
        return [{"id": f"caution:{p['name']}:{item}:{ev}", "kind": "caution", "name": p["name"], "item": item,
                 "evidence": ev, "rule": rule.id}], []
    if a == "withdraw":
        k, f = p["caution"], p["by"]
        return [{"id": f"withdrawn:{k['id']}", "kind": "withdrawn", "caution": k["name"], "by": f["evidence"],
                 "rule": rule.id}], [k]
    raise ValueError(f"unknown action {a!r}")  # pragma: no cover - declare.ACTIONS is closed
