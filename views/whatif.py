"""What-if analysis on top of the public consultation API: what would put an item first, and
what a knowledge overlay changes.

Nothing here re-decides what the rules decided. Every answer comes from the rule engine:

- :func:`to_rank_first` searches for the smallest change of three kinds (new evidence, a
  constraint, one weight) that puts an item first, and keeps a suggestion only when re-running the
  consultation with that change applied really puts the item first.
- :func:`diff` compares the consultations of two knowledge bases (with and without an overlay).

Stability under perturbed weights lives in the library (:mod:`msc_ev.advisor.stability`) and is
re-exported here. This module has no terminal or Rich imports.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import replace
from typing import Iterable

from ..advisor import kb as _kb
from ..advisor.consult import AXES, Advice, Constraints, consult
from ..advisor.errors import UnknownItem
from ..advisor.kb import Knowledge
from ..advisor.stability import (DEFAULT_SAMPLES, DEFAULT_SEED, SPREAD, ModelMismatch, Rescorer,  # noqa: F401
                                 Stability, _get, advice_json, attach_stability, cf_combine,
                                 set_weight, settings, stability, stability_cell, stability_words,
                                 weight_leaves, with_weights)

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
           "hypothetical_kb", "set_weight", "settings", "stability", "stability_cell", "stability_words",
           "to_rank_first", "to_rank_first_text", "weight_leaves", "with_weights"]  # stability's names re-exported
