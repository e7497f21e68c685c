"""One consultation: resolve the disease, prepare the facts, run the rules, rank the results.

``consult(kb, text, constraints)`` is the library entry point the CLI (and a notebook) calls.
Python here only prepares facts and combines the certainty factors the rules concluded; what
is supported, opposed, excluded or flagged is decided by the rules in :mod:`rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..rules import RULES

from . import engine
from .errors import UsageError
from .kb import Knowledge, categories_of
from .resolve import Resolution, resolve
from .scoring import combine, strongest, words

DISCLAIMER = (
    "Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings "
    "from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient."
)
AXES = ("sources", "routes", "engineering")
AXIS_OF = {"source": "sources", "route": "routes", "engineering": "engineering"}
POPULATIONS = ("neonate", "child", "adult", "elderly")


@dataclass(frozen=True)
class Constraints:
    exclude_sources: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    clinical_only: bool = False
    population: str | None = None

    def as_json(self) -> dict:
        return {
            "exclude_sources": list(self.exclude_sources),
            "routes": list(self.routes),
            "clinical_only": self.clinical_only,
            "population": self.population,
        }


@dataclass
class Contribution:
    rule: str
    cf: float
    evidence: list[str]
    citations: list[str]
    text: str
    match: str = ""
    model: str = ""

    def as_json(self) -> dict:
        return {"rule": self.rule, "cf": round(self.cf, 3), "evidence": self.evidence,
                "citations": self.citations, "text": self.text}


@dataclass
class Rec:
    axis: str
    id: str
    name: str
    score: float
    level: str | None
    support: list[Contribution]
    arithmetic: list[str]
    rank: int = 0

    def as_json(self) -> dict:
        return {"rank": self.rank, "id": self.id, "name": self.name, "score": round(self.score, 3),
                "level": self.level, "support": [s.as_json() for s in self.support]}


@dataclass
class Advice:
    text: str
    resolution: Resolution
    constraints: Constraints
    recs: dict[str, list[Rec]]
    excluded: list[dict]
    cautions: list[dict]
    trace: list[dict]
    references: dict[str, dict]
    classes: list[dict] = field(default_factory=list)
    related: list[dict] = field(default_factory=list)
    populations: list[dict] = field(default_factory=list)
    facts_asserted: int = 0
    disclaimer: str = DISCLAIMER

    def find(self, item: str) -> Rec | None:
        for axis in AXES:
            for r in self.recs[axis]:
                if r.id == item:
                    return r
        return None

    def as_json(self) -> dict:
        return {
            "query": {"text": self.text, "disease": self.resolution.as_json(),
                      "constraints": self.constraints.as_json()},
            "sources": [r.as_json() for r in self.recs["sources"]],
            "routes": [r.as_json() for r in self.recs["routes"]],
            "engineering": [r.as_json() for r in self.recs["engineering"]],
            "excluded": self.excluded,
            "cautions": self.cautions,
            "trace": self.trace,
            "references": self.references,
            "disclaimer": self.disclaimer,
        }


# ------------------------------------------------------------------------------------------
# constraints


def check_constraints(kb: Knowledge, constraints: Constraints) -> None:
    import difflib

    for s in constraints.exclude_sources:
        if s not in kb.sources:
            close = difflib.get_close_matches(s, list(kb.sources), n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(close)}?" if close else f"; known: {', '.join(sorted(kb.sources))}"
            raise UsageError(f"unknown source for --exclude-source: {s!r}{hint}")
    for r in constraints.routes:
        if r not in kb.routes:
            close = difflib.get_close_matches(r, list(kb.routes), n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(close)}?" if close else f"; known: {', '.join(sorted(kb.routes))}"
            raise UsageError(f"unknown route for --route: {r!r}{hint}")
    if constraints.population is not None and constraints.population not in POPULATIONS:
        raise UsageError(
            f"unknown population for --population: {constraints.population!r}; use one of {', '.join(POPULATIONS)}"
        )


# ------------------------------------------------------------------------------------------
# facts


def _ms(x: float) -> int:
    return int(round(x * 1000))


def prepare(kb: Knowledge, res: Resolution, constraints: Constraints) -> list[dict]:
    """The facts for this query only: the disease, its relatives, the evidence that could match."""
    w = {"match": {"exact": 1.0, "parent": 0.7, "child": 0.7, "sibling": 0.5, "category": 0.35},
         "unspecified_source": 0.5, "category_limit": 12, **kb.weights}  # TEMPORARY until the rule rewrite
    facts: list[dict] = []
    q = res.id
    clinical_only = 1 if constraints.clinical_only else 0
    facts.append({
        "id": "query", "kind": "query", "disease": q, "one": 1, "indirect": 0 if res.curated else 1,
        "clinical_only": clinical_only, "min_clinical": clinical_only,
        "w_exact": _ms(w["match"]["exact"]), "w_parent": _ms(w["match"]["parent"]),
        "w_child": _ms(w["match"]["child"]), "w_sibling": _ms(w["match"]["sibling"]),
        "w_category": _ms(w["match"]["category"]), "w_rollup": _ms(w["source_rollup"]), "w_unspecified": _ms(w["unspecified_source"]),
    })
    cat_kind = {cid: c["kind"] for cid, c in kb.categories.items()}
    diseases: dict[str, str] = {}  # disease -> parent ('' for none), the disease facts to assert
    evidence_diseases: list[str] = []
    query_cats = list(res.categories)
    if res.curated:
        d = kb.diseases[q]
        parent = d.get("parent") or ""
        diseases[q] = parent
        for ch in kb.children.get(q, ()):
            diseases[ch] = q
        evidence_diseases += [q, *kb.children.get(q, ())]
        if parent:
            diseases[parent] = kb.diseases[parent].get("parent") or ""
            evidence_diseases.append(parent)
            for sib in kb.children.get(parent, ()):
                if sib != q:
                    diseases[sib] = parent
                    evidence_diseases.append(sib)
            query_cats += [c for c in categories_of(kb.diseases[parent]) if c not in query_cats]
        for pop in sorted(d.get("populations") or ()):
            facts.append({"id": f"dpop:{q}:{pop}", "kind": "disease_pop", "disease": q, "population": pop})
    else:
        for rel in res.relatives:
            facts.append({"id": f"icdrel:{rel}", "kind": "icd_relative", "disease": rel})
            evidence_diseases.append(rel)
    for did, parent in diseases.items():
        facts.append({"id": f"disease:{did}", "kind": "disease", "disease": did, "parent": parent})
    incat: set[tuple[str, str]] = set()
    for cat in res.categories:
        incat.add((q, cat))
    if res.curated and kb.diseases[q].get("parent"):
        for cat in categories_of(kb.diseases[kb.diseases[q]["parent"]]):
            incat.add((kb.diseases[q]["parent"], cat))
    # same-category evidence: the strongest few per organ-system/population category
    seen = set(evidence_diseases)
    limit = w["category_limit"]
    category_evidence: list[str] = []
    for cat in query_cats:
        if cat_kind.get(cat) == "process":
            continue
        taken = 0
        for _, eid, other in kb.category_evidence.get(cat, ()):  # strongest first
            if taken >= limit:
                break
            if other in seen:
                continue
            category_evidence.append(eid)
            incat.add((other, cat))
            taken += 1
    for dis, cat in sorted(incat):
        facts.append({"id": f"incat:{dis}:{cat}", "kind": "in_category", "disease": dis,
                      "category": cat, "ckind": cat_kind[cat]})
    ev_ids = [e for d in evidence_diseases for e in kb.evidence_by_disease.get(d, ())]
    ev_ids += category_evidence
    done: set[str] = set()
    for eid in ev_ids:
        if eid in done or kb.strength[eid] == 0:
            continue
        done.add(eid)
        ev = kb.evidence[eid]
        facts.append({
            "id": f"ev:{eid}", "kind": "evidence", "evidence": eid, "disease": ev["disease"],
            "source": ev["source"], "vesicle": ev["vesicle"], "species": ev["species"],
            "model": ev["model"], "route": ev.get("route") or "", "direction": ev["direction"],
            "clinical": 1 if ev["model"].startswith("clinical") else 0, "strength": kb.strength[eid],
        })
        for e in ev.get("engineering") or ():
            facts.append({"id": f"eveng:{eid}:{e}", "kind": "ev_eng", "evidence": eid, "engineering": e})
    for sid, s in sorted(kb.sources.items()):
        if s.get("parent"):
            facts.append({"id": f"srcpart:{sid}", "kind": "source_parent", "child": sid, "parent": s["parent"]})
    cats = set(query_cats)
    for rid, r in sorted(kb.routes.items()):
        facts.append({"id": f"route:{rid}", "kind": "route_info", "route": rid, "invasiveness": r["invasiveness"]})
        for cat in r.get("reaches") or ():
            if cat in cats:
                facts.append({"id": f"reach:{rid}:{cat}", "kind": "route_reach", "route": rid, "category": cat})
    for eid, e in sorted(kb.engineering.items()):
        for cat in e.get("fits") or ():
            if cat in cats:
                facts.append({"id": f"fit:{eid}:{cat}", "kind": "eng_fit", "engineering": eid, "category": cat})
        for p in e.get("purposes") or ():
            facts.append({"id": f"purpose:{eid}:{p}", "kind": "eng_purpose", "engineering": eid, "purpose": p})
    for s in constraints.exclude_sources:
        facts.append({"id": f"con:exclude-source:{s}", "kind": "constraint", "type": "exclude-source", "value": s})
    if constraints.routes:
        for rid in sorted(kb.routes):
            if rid not in constraints.routes:
                facts.append({"id": f"con:route-not-allowed:{rid}", "kind": "constraint",
                              "type": "route-not-allowed", "value": rid})
    if constraints.clinical_only:
        facts.append({"id": "con:clinical-only", "kind": "constraint", "type": "clinical-only", "value": "yes"})
    if constraints.population:
        facts.append({"id": f"con:population:{constraints.population}", "kind": "constraint",
                      "type": "population", "value": constraints.population})
    return facts


# ------------------------------------------------------------------------------------------
# ranking


def _rule_citations(kb: Knowledge, rule_id: str) -> list[str]:
    meta = RULES[rule_id]
    return kb.citations({"cites": list(meta.cites)})


def _evidence_text(kb: Knowledge, eid: str, match: str) -> str:
    ev = kb.evidence[eid]
    how = f"{ev['model']}, {ev['species']} donor, {ev['vesicle']}"
    rel = {"exact": "this disease", "parent": "its parent disease", "child": "a narrower disease",
           "sibling": "a sibling disease", "category": "a disease of the same category"}.get(match, match)
    disease = kb.diseases[ev["disease"]]["name"]
    return f"{ev['effect']} [{how}; {disease}: {rel}]"


def _contribution(kb: Knowledge, sup: dict) -> Contribution:
    rule_id, eid = sup["rule"], sup["evidence"]
    cf = sup["cf"] / 1000
    if eid:
        text = _evidence_text(kb, eid, sup["match"])
        if sup["origin"] == "rollup":
            part = kb.evidence[eid]["source"]
            text = f"via its part {part}: " + text
        return Contribution(rule_id, cf, [eid], kb.citations(kb.evidence[eid]), text,
                            sup["match"], sup["model"])
    return Contribution(rule_id, cf, [], _rule_citations(kb, rule_id), RULES[rule_id].description,
                        "", sup["model"])


def _catalogue(kb: Knowledge, axis: str) -> dict:
    return {"sources": kb.sources, "routes": kb.routes, "engineering": kb.engineering}[axis]


def rank(kb: Knowledge, derived: list[dict]) -> tuple[dict[str, list[Rec]], set[tuple[str, str]]]:
    excluded = {(AXIS_OF.get(f["axis"], f["axis"]), f["item"]) for f in derived if f["kind"] == "exclusion"}
    grouped: dict[tuple[str, str], list[dict]] = {}
    for f in derived:
        if f["kind"] != "support":
            continue
        key = (AXIS_OF[f["axis"]], f["item"])
        if key in excluded:
            continue
        grouped.setdefault(key, []).append(f)
    recs: dict[str, list[Rec]] = {a: [] for a in AXES}
    for (axis, item), sups in grouped.items():
        contribs = [_contribution(kb, s) for s in sups]
        contribs.sort(key=lambda c: (-c.cf, c.rule, c.evidence))
        score, arithmetic = combine([c.cf for c in contribs])
        positive = [c.model for c in contribs if c.cf > 0]
        level = strongest(positive) or strongest(c.model for c in contribs)
        cat = _catalogue(kb, axis)
        name = cat[item]["name"] if item in cat else item
        recs[axis].append(Rec(axis, item, name, score, level, contribs, arithmetic))
    for axis in AXES:
        recs[axis].sort(key=lambda r: (-round(r.score, 3), r.id))
        for i, r in enumerate(recs[axis], 1):
            r.rank = i
    return recs, excluded


def _caution_json(kb: Knowledge, f: dict, res: Resolution, constraints: Constraints) -> dict:
    name = f["caution"]
    if name == "opposing-evidence":
        ev = kb.evidence[f["evidence"]]
        src = kb.sources[ev["source"]]["name"]
        text = (f"{src} ({ev['vesicle']}) counts against: {ev['effect']} "
                f"[{ev['model']}, {kb.diseases[ev['disease']]['name']}]")
        return {"id": f"opposing-evidence:{f['evidence']}", "text": text, "citations": kb.citations(ev)}
    if name == "secretome":
        ev = kb.evidence[f["evidence"]]
        return {"id": f"secretome:{f['evidence']}",
                "text": ("A study here used a whole secretome, which holds more than EVs: its effect "
                         f"cannot be credited to EVs alone ({f['evidence']})."),
                "citations": _rule_citations(kb, f["rule"]) + [k for k in kb.citations(ev) if k != "cai2020"]}
    if name == "es-ethics":
        return {"id": "es-ethics",
                "text": ("Embryonic-stem-cell-derived MSCs raise ethical questions that may limit their use, "
                         "and no clinical trial of their EVs is listed."),
                "citations": _rule_citations(kb, f["rule"])}
    if name == "preclinical-only":
        return {"id": "preclinical-only",
                "text": ("No clinical study supports this advice: it rests on animal and cell-culture work "
                         "and on the reviews' generalisations."), "citations": []}
    if name == "indirect":
        return {"id": "indirect",
                "text": (f"The reviews do not name {res.name!r}. It was placed by ICD-10-CM {res.icd10cm} "
                         f"(block {res.icd_block}, chapter {res.icd_chapter}); the advice rests only on "
                         "evidence about related diseases."), "citations": []}
    if name == "population-mismatch":
        pops = ", ".join(kb.diseases[res.id].get("populations") or ()) if res.curated else ""
        return {"id": "population-mismatch",
                "text": f"{res.name} usually affects: {pops}; you asked about: {f['item']}.",
                "citations": []}
    return {"id": name, "text": RULES[f["rule"]].description, "citations": []}  # pragma: no cover


def consult(kb: Knowledge, text: str, constraints: Constraints = Constraints(), *,
            resolution: Resolution | None = None) -> Advice:
    """Resolve ``text`` and return the ranked, explained advice (raises typed errors)."""
    check_constraints(kb, constraints)
    res = resolution or resolve(kb, text)
    facts = prepare(kb, res, constraints)
    ctx = engine.run(facts, kb.weights)
    derived = ctx.derived
    recs, _ = rank(kb, derived)
    excluded = []
    for f in derived:
        if f["kind"] == "exclusion":
            excluded.append({"axis": f["axis"], "id": f["item"], "reason": f["reason"], "rule": f["rule"],
                             "citations": _rule_citations(kb, f["rule"])})
    excluded.sort(key=lambda x: (x["axis"], x["id"]))
    cautions: dict[str, dict] = {}
    for f in derived:
        if f["kind"] == "caution":
            cj = _caution_json(kb, f, res, constraints)
            cautions.setdefault(cj["id"], cj)
    caution_list = [cautions[k] for k in sorted(cautions)]
    trace = [{"step": s.step, "rule": s.rule, "matched": s.matched,
              "asserted": [a["id"] for a in s.asserted],
              **({"retracted": s.retracted} if s.retracted else {})} for s in ctx.steps]
    keys: set[str] = set()
    for axis in AXES:
        for r in recs[axis]:
            for c in r.support:
                keys.update(c.citations)
    for x in excluded:
        keys.update(x["citations"])
    for cj in caution_list:
        keys.update(cj["citations"])
    references = {}
    for k in sorted(keys):
        ref = kb.references[k]
        references[k] = {"authors": ref["authors"], "title": ref["title"], "journal": ref["journal"],
                         "year": ref["year"], "cited_in": dict(sorted(ref["cited_in"].items()))}
    return Advice(
        text=text, resolution=res, constraints=constraints, recs=recs, excluded=excluded,
        cautions=caution_list, trace=trace, references=references,
        classes=[f for f in derived if f["kind"] == "class"],
        related=[f for f in derived if f["kind"] == "related"],
        populations=[f for f in derived if f["kind"] == "population"],
        facts_asserted=len(facts),
    )


__all__ = ["Advice", "Constraints", "Contribution", "Rec", "consult", "prepare", "rank", "words", "DISCLAIMER"]
