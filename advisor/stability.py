"""Stability of a ranking under perturbed certainty strengths, and the weight arithmetic it needs.

Nothing here re-decides what the rules decided. :func:`stability` re-scores one consultation under
``n`` seeded random perturbations of every certainty strength in ``kb.weights`` (each leaf within
+/-``spread``, sign kept, inside [-1, 1]). The rule firings do not depend on these strengths, so by
default the firings of the one real consultation are kept and only the arithmetic is redone
("rescored"): each contribution's certainty factor is scaled by the ratio of the perturbed to the
original value of every weight it was built from. That model is checked before it is used: it must
reproduce every baseline score and the baseline order, and one perturbed setting is re-run through
the engine and must agree contribution by contribution. If any check fails, every setting is
re-consulted instead ("re-consulted"; slower, same answer by construction).

Batch scoring uses it for its stability column; the what-if views (:mod:`msc_ev.views.whatif`)
build on the same weight helpers.
"""


from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Iterable

from . import kb as _kb
from ..rules import RULES
from .consult import AXES, Advice, consult, order, reorderings
from .kb import Knowledge

SPREAD = 0.25          # each weight is multiplied by a factor drawn uniformly from [1 - SPREAD, 1 + SPREAD]
DEFAULT_SAMPLES = 200
DEFAULT_SEED = 0
TOLERANCE = 0.003      # |predicted - engine| certainty factor allowed by the rescoring check


# ------------------------------------------------------------------------------------------
# weights


def with_weights(kb: Knowledge, weights: dict, *, keep_selection: bool = False) -> Knowledge:
    """A copy of ``kb`` that uses ``weights``, with the derived per-evidence strengths recomputed.

    The copy shares the (read-only) records of ``kb``; only the weights and what the loader derives
    from them are new. With ``keep_selection`` only the strengths are new and every other index
    (e.g. which evidence of a category is strongest, hence asserted) stays as in ``kb``: a change of
    certainty strengths then changes no limit that decides which facts are asserted.
    """
    scratch = copy.copy(kb)
    scratch.weights = weights
    scratch.strength = {}
    _kb._index(scratch)
    if not keep_selection:
        return scratch
    new = copy.copy(kb)
    new.weights = weights
    new.strength = scratch.strength
    return new


def _is_limit(path: tuple[str, ...]) -> bool:
    return any("limit" in p for p in path)


def weight_leaves(weights: dict, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], float]]:
    """Every certainty strength in ``weights``: numeric leaves in [-1, 1], sorted by path.

    Limits (keys containing ``limit``: how many facts are asserted) and values outside [-1, 1]
    are not certainty strengths and are left alone.
    """
    out: list[tuple[tuple[str, ...], float]] = []
    for k, v in weights.items():
        path = (*prefix, str(k))
        if isinstance(v, dict):
            out.extend(weight_leaves(v, path))
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and -1 <= v <= 1 and not _is_limit(path):
            out.append((path, float(v)))
    return sorted(out)


def _get(weights: dict, path: tuple[str, ...]):
    node = weights
    for p in path:
        node = node[p]
    return node


def set_weight(weights: dict, path: tuple[str, ...], value: float) -> dict:
    """A deep copy of ``weights`` with the leaf at ``path`` set to ``value``."""
    out = copy.deepcopy(weights)
    node = out
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return out


def _perturbed(weights: dict, leaves, factors: list[float]) -> dict:
    out = copy.deepcopy(weights)
    for (path, base), f in zip(leaves, factors):
        node = out
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = round(max(-1.0, min(1.0, base * f)), 4)
    return out


def settings(weights: dict, n: int, seed: int, spread: float = SPREAD) -> list[list[float]]:
    """``n`` perturbed values of every leaf (in :func:`weight_leaves` order), from ``Random(seed)``."""
    rng = random.Random(seed)
    leaves = weight_leaves(weights)
    out = []
    for _ in range(n):
        out.append([round(max(-1.0, min(1.0, base * (1 + rng.uniform(-spread, spread)))), 4)
                    for _, base in leaves])
    return out


# ------------------------------------------------------------------------------------------
# ranking and the rescoring model


def cf_combine(cfs: Iterable[float]) -> float:
    """MYCIN combination (docs/design.md, "Scoring"): positives, negatives, then the mixed formula."""
    cfs = list(cfs)
    p = n = 0.0
    for x in sorted((x for x in cfs if x > 0), reverse=True):
        p = p + x * (1 - p)
    for x in sorted(x for x in cfs if x < 0):
        n = n + x * (1 + n)
    if p and n:
        d = 1 - min(abs(p), abs(n))
        return (p + n) / d if d else 0.0
    return p or n


def _tier(rec) -> int:
    t = getattr(rec, "tier", None)
    return int(t) if t is not None else 0


class ModelMismatch(Exception):
    """The rescoring model does not reproduce the engine: fall back to re-consulting."""


@dataclass
class _Contrib:
    key: tuple
    cf: float
    leaves: list[int]  # indices into the leaf list


@dataclass
class _Item:
    axis: str
    id: str
    tier: int
    contribs: list[_Contrib]


def _contribution_leaves(kb: Knowledge, axis: str, rec, c, index: dict) -> list[int]:
    """The weights a contribution's certainty factor was multiplied from (docs/design.md, "Scoring")."""
    found: list[tuple[str, ...]] = []
    if c.evidence:
        ev = kb.evidence.get(c.evidence[0])
        if ev is not None:
            found += [("model", ev["model"]), ("species", ev["species"]), ("vesicle", ev["vesicle"])]
            tier = getattr(c, "tier", None)
            if tier is not None:
                found.append(("tier", str(tier)))
            if axis == "sources" and ev["source"] != rec.id:
                found.append(("source_rollup",))
            if axis == "sources" and ev["source"] == "msc":
                found.append(("unspecified_source",))
    weight = RULES[c.rule].weight if c.rule in RULES else None
    if weight and "." in weight:  # a rule's own certainty factor: rules.<id>, reach.local, ...
        found.append(tuple(weight.split(".")))
    return [index[p] for p in found if p in index]


def _contrib_key(axis: str, item: str, c) -> tuple:
    return (axis, item, c.rule, tuple(c.evidence))


class Rescorer:
    """Re-ranks one consultation under other weights without running the engine again."""

    def __init__(self, kb: Knowledge, adv: Advice):
        self.leaves = weight_leaves(kb.weights)
        self.base = [v for _, v in self.leaves]
        index = {p: i for i, (p, _) in enumerate(self.leaves)}
        self.items: dict[str, list[_Item]] = {}
        self.moves = reorderings(kb, adv.derived)
        for axis in AXES:
            items = []
            for r in adv.recs[axis]:
                cs = [_Contrib(_contrib_key(axis, r.id, c), c.cf, _contribution_leaves(kb, axis, r, c, index))
                      for c in r.support]
                items.append(_Item(axis, r.id, _tier(r), cs))
                if abs(cf_combine(c.cf for c in cs) - r.score) > 0.0015:
                    raise ModelMismatch(f"{axis} {r.id}: contributions do not combine to its score")
            self.items[axis] = items
            if self._order(axis, None) != [r.id for r in adv.recs[axis]]:
                raise ModelMismatch(f"{axis}: the baseline order is not tier, score, id with this disease's comparisons")

    def _order(self, axis: str, ratios: list[float] | None) -> list[str]:
        return order([(it.tier, self._score(it, ratios), it.id) for it in self.items[axis]], self.moves[axis])

    def _ratios(self, values: list[float]) -> list[float]:
        return [(v / b) if b else 1.0 for v, b in zip(values, self.base)]

    def _score(self, it: _Item, ratios: list[float] | None) -> float:
        if ratios is None:
            return cf_combine(c.cf for c in it.contribs)
        out = []
        for c in it.contribs:
            cf = c.cf
            for i in c.leaves:
                cf *= ratios[i]
            out.append(round(cf, 3))  # the engine carries CFs in thousandths
        return cf_combine(out)

    def contributions(self, values: list[float]) -> dict[tuple, float]:
        ratios = self._ratios(values)
        out = {}
        for axis in AXES:
            for it in self.items[axis]:
                for c in it.contribs:
                    cf = c.cf
                    for i in c.leaves:
                        cf *= ratios[i]
                    out[c.key] = cf
        return out

    def ranking(self, values: list[float], axes: Iterable[str] = AXES) -> dict[str, list[str]]:
        ratios = self._ratios(values)
        return {axis: self._order(axis, ratios) for axis in axes}


def _engine_contributions(adv: Advice) -> dict[tuple, float]:
    return {_contrib_key(axis, r.id, c): c.cf for axis in AXES for r in adv.recs[axis] for c in r.support}


def _ranking(adv: Advice) -> dict[str, list[str]]:
    return {axis: [r.id for r in adv.recs[axis]] for axis in AXES}


def _leaf_values_to_weights(kb: Knowledge, leaves, values) -> dict:
    out = copy.deepcopy(kb.weights)
    for (path, _), v in zip(leaves, values):
        node = out
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = v
    return out


def check_rescorer(kb: Knowledge, adv: Advice, rescorer: Rescorer, values: list[float]) -> None:
    """Re-run the engine once under ``values`` and compare it with the rescoring model."""
    alt = consult(with_weights(kb, _leaf_values_to_weights(kb, rescorer.leaves, values), keep_selection=True), adv.text,
                  adv.constraints, resolution=adv.resolution)
    got, want = _engine_contributions(alt), rescorer.contributions(values)
    if set(got) != set(want):
        raise ModelMismatch("the perturbed weights changed which rules fired")
    for k, v in want.items():
        if abs(got[k] - v) > TOLERANCE:
            raise ModelMismatch(f"{k}: predicted {v:.3f}, engine {got[k]:.3f}")


# ------------------------------------------------------------------------------------------
# stability


@dataclass
class Stability:
    samples: int
    seed: int
    spread: float
    method: str                       # "rescored" or "re-consulted"
    perturbed: list[str]              # the weight paths that were perturbed
    per_item: dict[tuple[str, str], dict] = field(default_factory=dict)  # (axis, id) -> Rec JSON field
    note: str = ""                    # why the rescoring model was not used, if it was not

    def settings_json(self) -> dict:
        return {"samples": self.samples, "seed": self.seed, "range": f"+/-{round(self.spread * 100)}%",
                "method": self.method, "perturbed": self.perturbed}


def stability(kb: Knowledge, adv: Advice, n: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED, *,
              spread: float = SPREAD, exact: bool = False) -> Stability:
    """Share of ``n`` perturbed weight settings in which each recommendation keeps its rank / is #1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    leaves = weight_leaves(kb.weights)
    samples = settings(kb.weights, n, seed, spread)
    method, note = "re-consulted", ""
    rankings: list[dict[str, list[str]]] = []
    if not exact:
        try:
            rescorer = Rescorer(kb, adv)
            probe = settings(kb.weights, 1, seed + 7919, spread)[0]  # an extra, independent setting
            check_rescorer(kb, adv, rescorer, probe)
            rankings = [rescorer.ranking(v) for v in samples]
            method = "rescored"
        except ModelMismatch as exc:
            note = str(exc)
    if not rankings:
        for values in samples:
            alt = consult(with_weights(kb, _leaf_values_to_weights(kb, leaves, values), keep_selection=True), adv.text,
                          adv.constraints, resolution=adv.resolution)
            rankings.append(_ranking(alt))
    out = Stability(n, seed, spread, method, [".".join(p) for p, _ in leaves], note=note)
    for axis in AXES:
        positions = [{item: i for i, item in enumerate(rk[axis], 1)} for rk in rankings]
        for r in adv.recs[axis]:
            kept = sum(1 for pos in positions if pos.get(r.id) == r.rank)
            first = sum(1 for pos in positions if pos.get(r.id) == 1)
            out.per_item[(axis, r.id)] = {"rank_kept": round(kept / n, 3), "top1": round(first / n, 3),
                                          "samples": n, "seed": seed}
    return out


def attach_stability(adv: Advice, stab: Stability) -> None:
    """Set ``rec.stability`` (the JSON field) on every Rec of ``adv``."""
    for axis in AXES:
        for r in adv.recs[axis]:
            r.stability = stab.per_item.get((axis, r.id))


def advice_json(adv: Advice, stab: Stability | None) -> dict:
    """``adv.as_json()`` with ``"stability"`` on each Rec and the perturbation settings at the top."""
    doc = adv.as_json()
    if stab is None:
        return doc
    for axis in AXES:
        for rj in doc[axis]:
            rj["stability"] = stab.per_item.get((axis, rj["id"]))
    out = {}
    for k, v in doc.items():
        if k == "disclaimer":
            out["perturbation"] = stab.settings_json()
        out[k] = v
    return out


def stability_words(s: dict | None, rank: int) -> str:
    """"#1 in 87% of settings" (or "keeps #3 in 64% of settings")."""
    if not s:
        return ""
    if rank == 1:
        return f"#1 in {_pct(s['top1'])} of settings"
    text = f"keeps #{rank} in {_pct(s['rank_kept'])} of settings"
    if s["top1"]:
        text += f", #1 in {_pct(s['top1'])}"
    return text


def stability_cell(adv: Advice, stab: Stability) -> str:
    """One cell for ``batch --stability``: how often each axis' #1 stays #1."""
    parts = []
    for axis in AXES:
        if adv.recs[axis]:
            r = adv.recs[axis][0]
            parts.append(f"{r.id} #1 in {_pct(stab.per_item[(axis, r.id)]['top1'])}")
    return "; ".join(parts)


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"




__all__ = ["DEFAULT_SAMPLES", "DEFAULT_SEED", "SPREAD", "ModelMismatch", "Rescorer", "Stability", "advice_json",
           "attach_stability", "cf_combine", "set_weight", "settings", "stability", "stability_cell",
           "stability_words", "weight_leaves", "with_weights"]
