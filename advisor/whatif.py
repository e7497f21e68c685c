"""What-if analysis on top of the public consultation API: stability, what would put an item
first, and what a knowledge overlay changes.

Nothing here re-decides what the rules decided. Every answer comes from the rule engine:

- :func:`stability` re-scores one consultation under ``n`` seeded random perturbations of every
  certainty strength in ``kb.weights`` (each leaf within +/-``spread``, sign kept, inside [-1, 1]).
  The rule firings do not depend on these strengths, so by default the firings of the one real
  consultation are kept and only the arithmetic is redone ("rescored"): each contribution's
  certainty factor is scaled by the ratio of the perturbed to the original value of every weight
  it was built from. That model is checked before it is used: it must reproduce every baseline
  score and the baseline order, and one perturbed setting is re-run through the engine and must
  agree contribution by contribution. If any check fails, every setting is re-consulted instead
  ("re-consulted"; slower, same answer by construction).
- :func:`to_rank_first` searches for the smallest change of three kinds (new evidence, a
  constraint, one weight) that puts an item first, and keeps a suggestion only when re-running the
  consultation with that change applied really puts the item first.
- :func:`diff` compares the consultations of two knowledge bases (with and without an overlay).

This module has no terminal or Rich imports (the core stays free of them).
"""

from __future__ import annotations

import copy
import itertools
import random
from dataclasses import dataclass, field, replace
from typing import Iterable

from .axes import AXIS_WORD
from . import kb as _kb
from .consult import AXES, Advice, Constraints, consult
from .errors import UnknownItem
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
    """MYCIN combination (DESIGN.md 4.1): positives, negatives, then the mixed formula."""
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


def _pref(rec) -> int:
    p = getattr(rec, "preference", None)
    return int(p) if isinstance(p, (int, float)) and not isinstance(p, bool) else 0


def order_key(tier: int, pref: int, score: float, item: str):
    """The order of DESIGN.md 4.1: tier, then preference (more first), then score, then id."""
    return (tier, -pref, -round(score, 3), item)


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
    pref: int
    contribs: list[_Contrib]


def _contribution_leaves(kb: Knowledge, axis: str, rec, c, index: dict) -> list[int]:
    """The weights a contribution's certainty factor was multiplied from (DESIGN.md 4.1)."""
    found: list[tuple[str, ...]] = []
    w = kb.weights
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
    if isinstance(w.get("rules"), dict) and c.rule in w["rules"]:
        found.append(("rules", c.rule))
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
        for axis in AXES:
            items = []
            for r in adv.recs[axis]:
                cs = [_Contrib(_contrib_key(axis, r.id, c), c.cf, _contribution_leaves(kb, axis, r, c, index))
                      for c in r.support]
                items.append(_Item(axis, r.id, _tier(r), _pref(r), cs))
                if abs(cf_combine(c.cf for c in cs) - r.score) > 0.0015:
                    raise ModelMismatch(f"{axis} {r.id}: contributions do not combine to its score")
            self.items[axis] = items
            order = [it.id for it in sorted(items, key=lambda it: order_key(it.tier, it.pref, self._score(it, None), it.id))]
            if order != [r.id for r in adv.recs[axis]]:
                raise ModelMismatch(f"{axis}: the baseline order is not tier, preference, score, id")

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
        return {axis: [it.id for it in sorted(self.items[axis],
                                              key=lambda it: order_key(it.tier, it.pref, self._score(it, ratios), it.id))]
                for axis in axes}


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


# ------------------------------------------------------------------------------------------
# what would put an item first


def find_axis(kb: Knowledge, item: str) -> str:
    for axis in AXES:
        if item in kb.section(axis):
            return axis
    import difflib

    pool = [i for axis in AXES for i in kb.section(axis)]
    raise UnknownItem("item", item, difflib.get_close_matches(item.lower(), pool, n=3, cutoff=0.5))


_NUMBER = {1: "one", 2: "two", 3: "three"}
_MODEL_WORDS = {"in-vitro": "in-vitro", "in-vivo": "in-vivo", "case-report": "case-report",
                "clinical-completed": "completed clinical"}


def hypothetical_kb(kb: Knowledge, disease: str, axis: str, item: str, model: str, count: int,
                    carrier: str) -> Knowledge:
    """``kb`` plus ``count`` invented supporting studies (one paper each) of ``item`` for ``disease``.

    ``carrier`` is the MSC source the invented study used when ``item`` is a route or an
    engineering option. The studies are human-donor exosome studies of this very disease.
    """
    new = copy.copy(kb)
    new.evidence = dict(kb.evidence)
    new.references = dict(kb.references)
    for i in range(1, count + 1):
        key = f"whatifstudy{i}"
        new.references[key] = {"key": key, "authors": "Hypothetical A", "title": "A study that does not exist",
                               "journal": "What-if", "year": 2099, "cited_in": {}}
        new.evidence[f"whatif-study-{i}"] = {
            "id": f"whatif-study-{i}", "source": item if axis == "sources" else carrier,
            "vesicle": "exosome", "species": "human", "model": model, "disease": disease,
            "route": item if axis == "routes" else None,
            "engineering": [item] if axis == "engineering" else [],
            "effect": "A hypothetical study used to test what would change the ranking.",
            "direction": "supports", "cites": [key],
        }
    new.strength = {}
    _kb._index(new)
    return new


def _first(adv: Advice, axis: str) -> str | None:
    return adv.recs[axis][0].id if adv.recs[axis] else None


def _evidence_change(kb, adv, axis, item) -> dict | None:
    res = adv.resolution
    if not res.curated or res.id not in kb.diseases:
        return None
    carrier = _first(adv, "sources") or next(iter(sorted(kb.sources)))
    models = ["clinical-completed"] if adv.constraints.clinical_only else ["in-vitro", "in-vivo", "clinical-completed"]
    models = [m for m in models if m in kb.weights.get("model", {})]
    for count in (1, 2, 3):
        for model in models:
            alt = consult(hypothetical_kb(kb, res.id, axis, item, model, count, carrier), adv.text,
                          adv.constraints, resolution=res)
            if _first(alt, axis) == item:
                rec = alt.recs[axis][0]
                what = {"sources": f"of {item} EVs",
                        "routes": f"giving {carrier} EVs by the {item} route",
                        "engineering": f"of {carrier} EVs with {item}"}[axis]
                studies = "study" if count == 1 else "studies"
                tier = getattr(rec, "tier", None)
                at = f" (tier {tier})" if tier is not None else ""
                return {"change": f"{_NUMBER[count]} {_MODEL_WORDS.get(model, model)} {studies} {what} "
                                  f"for {res.name}{at}",
                        "kind": "evidence", "verified_top": item}
    return None


def _names(ids) -> str:
    ids = list(ids)
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]


def _constraint_change(kb, adv, axis, item) -> dict | None:
    cons = adv.constraints
    tries: list[tuple[Constraints, str]] = []
    if axis == "sources" and item in cons.exclude_sources:
        tries.append((replace(cons, exclude_sources=tuple(s for s in cons.exclude_sources if s != item)),
                      f"not excluding {item}"))
    if axis == "routes" and cons.routes and item not in cons.routes:
        tries.append((replace(cons, routes=(*cons.routes, item)), f"allowing the {item} route"))
    ranked = [r.id for r in adv.recs[axis]]
    above = ranked[:ranked.index(item)] if item in ranked else []
    if axis in ("sources", "routes") and above:
        for size in range(1, min(len(above), 3) + 1):
            for subset in itertools.combinations(above, size):
                if axis == "sources":
                    c = replace(cons, exclude_sources=tuple(sorted({*cons.exclude_sources, *subset})))
                    text = f"excluding {_names(subset)}"
                else:
                    allowed = cons.routes or tuple(sorted(kb.routes))
                    c = replace(cons, routes=tuple(r for r in allowed if r not in subset))
                    text = f"ruling out the {_names(subset)} route{'s' if size > 1 else ''}"
                tries.append((c, text))
        if len(above) > 3:  # nothing smaller can do it: everything ranked above it
            if axis == "sources":
                tries.append((replace(cons, exclude_sources=tuple(sorted({*cons.exclude_sources, *above}))),
                              f"excluding {_names(tuple(above))}"))
            else:
                allowed = cons.routes or tuple(sorted(kb.routes))
                tries.append((replace(cons, routes=tuple(r for r in allowed if r not in above)),
                              f"ruling out the {_names(tuple(above))} routes"))
    for c, text in tries[:25] + tries[-1:] * (len(tries) > 25):
        alt = consult(kb, adv.text, c, resolution=adv.resolution)
        if _first(alt, axis) == item:
            return {"change": text, "kind": "constraint", "verified_top": item}
    return None


_LEAF_WORDS = {"model": "{} strength", "species": "{} donor weight", "vesicle": "{} vesicle weight",
               "tier": "tier {} discount", "rules": "rule {} certainty factor"}


def _leaf_label(path: tuple[str, ...]) -> str:
    if len(path) == 2 and path[0] in _LEAF_WORDS:
        return _LEAF_WORDS[path[0]].format(path[1])
    return " ".join(p.replace("_", " ") for p in path) + " weight"


def _weight_change(kb, adv, axis, item) -> dict | None:
    try:
        rescorer = Rescorer(kb, adv)
    except ModelMismatch:
        return None
    if item not in [it.id for it in rescorer.items[axis]]:
        return None
    found = []  # (size of change, path, value)
    for i, (path, base) in enumerate(rescorer.leaves):
        lo, hi = (0.0, 1.0) if base >= 0 else (-1.0, 0.0)
        for target in (hi, lo):
            step = 0.01 if target > base else -0.01
            steps = int(round(abs(target - base) / 0.01))
            for k in range(1, steps + 1):
                v = round(base + k * step, 2)
                if v == 0:
                    break  # a weight of zero removes the evidence: not a change of strength
                values = list(rescorer.base)
                values[i] = v
                if rescorer.ranking(values, (axis,))[axis][0] == item:
                    found.append((abs(v - base), path, v))
                    break
    for _, path, v in sorted(found)[:5]:
        base = _get(kb.weights, path)
        alt = consult(with_weights(kb, set_weight(kb.weights, path, v), keep_selection=True), adv.text, adv.constraints,
                      resolution=adv.resolution)
        if _first(alt, axis) == item:
            way = "raised" if v > base else "lowered"
            return {"change": f"{_leaf_label(path)} {way} from {base:.2f} to {v:.2f} "
                              f"(weights.{'.'.join(path)})",
                    "kind": "weight", "verified_top": item}
    return None


def to_rank_first(kb: Knowledge, text: str, constraints: Constraints, item: str) -> dict | None:
    """The smallest verified change that would put ``item`` first for ``text``, or None.

    Tried in this order, each verified by re-running the consultation with the change applied:
    new evidence (1-3 invented studies of this disease, weakest kind first), a constraint
    (excluding the fewest candidates ranked above it), then one weight (the smallest move of a
    single weight). None when ``item`` is already first or nothing of these kinds puts it first;
    :func:`to_rank_first_text` says which.
    """
    adv = consult(kb, text, constraints)
    axis = find_axis(kb, item)
    if _first(adv, axis) == item:
        return None
    for search in (_evidence_change, _constraint_change, _weight_change):
        found = search(kb, adv, axis, item)
        if found:
            return found
    return None


def to_rank_first_text(adv: Advice, item: str, result: dict | None, axis: str | None = None) -> str:
    """One sentence for the end of why-not."""
    if result is not None:
        how = {"evidence": "new evidence", "constraint": "a constraint", "weight": "a weight change"}[result["kind"]]
        return (f"To rank first ({how}, checked by re-running the consultation): {result['change']}.")
    axes = [axis] if axis else [a for a in AXES if any(r.id == item for r in adv.recs[a])]
    if axes and adv.recs[axes[0]] and adv.recs[axes[0]][0].id == item:
        return f"{item} is already ranked first."
    return (f"No single change tried (up to three new studies of this disease, excluding up to three "
            f"candidates, one weight anywhere in its range) puts {item} first.")


# ------------------------------------------------------------------------------------------
# what an overlay changes


def _firing(step: dict) -> tuple:
    return (step["rule"], tuple(step["matched"]), tuple(step["asserted"]))


def _rec_view(r) -> dict:
    return {"rank": r.rank, "tier": getattr(r, "tier", None), "score": round(r.score, 3)}


def diff_one(before: Advice, after: Advice) -> dict:
    """Recommendations whose rank or tier changed, and the rule firings only one side has."""
    changes = []
    for axis in AXES:
        a = {r.id: r for r in before.recs[axis]}
        b = {r.id: r for r in after.recs[axis]}
        for item in sorted(set(a) | set(b), key=lambda i: (a[i].rank if i in a else 10**6, b[i].rank if i in b else 10**6, i)):
            ra, rb = a.get(item), b.get(item)
            va = _rec_view(ra) if ra else None
            vb = _rec_view(rb) if rb else None
            if va is None or vb is None or (va["rank"], va["tier"]) != (vb["rank"], vb["tier"]):
                changes.append({"axis": axis, "id": item, "before": va, "after": vb})
    fa = [_firing(s) for s in before.trace]
    fb = [_firing(s) for s in after.trace]
    ca, cb = _count(fa), _count(fb)
    removed = [f for f in _unique(fa) if ca[f] > cb.get(f, 0)]
    added = [f for f in _unique(fb) if cb[f] > ca.get(f, 0)]
    as_json = lambda f: {"rule": f[0], "matched": list(f[1]), "asserted": list(f[2])}  # noqa: E731
    return {"changes": changes, "firings": {"removed": [as_json(f) for f in removed],
                                            "added": [as_json(f) for f in added]}}


def _count(items) -> dict:
    out: dict = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _unique(items) -> list:
    seen, out = set(), []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def diff(base: Knowledge, overlaid: Knowledge, diseases: Iterable[str] | None = None,
         constraints: Constraints = Constraints()) -> list[dict]:
    """For each disease (as typed; every curated disease of ``base`` by default), what changes
    when the overlay is added. The disease is resolved once, in ``base``, and kept for both runs."""
    texts = list(diseases) if diseases is not None else sorted(base.diseases)
    out = []
    for text in texts:
        before = consult(base, text, constraints)
        res = before.resolution
        if res.curated and res.id not in overlaid.diseases:  # pragma: no cover - overlays only add
            raise UnknownItem("disease", res.id, [])
        after = consult(overlaid, text, constraints, resolution=res)
        d = diff_one(before, after)
        out.append({"disease": {"id": before.resolution.id, "name": before.resolution.name}, **d})
    return out


def diff_changed(entries: list[dict]) -> bool:
    return any(e["changes"] for e in entries)


__all__ = ["DEFAULT_SAMPLES", "DEFAULT_SEED", "SPREAD", "ModelMismatch", "Rescorer", "Stability",
           "advice_json", "attach_stability", "cf_combine", "diff", "diff_changed", "diff_one",
           "hypothetical_kb", "order_key", "set_weight", "settings", "stability", "stability_cell", "stability_words",
           "to_rank_first", "to_rank_first_text", "weight_leaves", "with_weights"]
