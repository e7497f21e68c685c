"""One consultation: resolve the disease, prepare the facts, run the rules, combine and order.

``consult(kb, text, constraints)`` is the library entry point the CLI (and a notebook) calls.
Python here prepares facts (what the knowledge base says about the query's disease, its relatives,
the catalogues and the user's constraints) and, after the rules ran, combines the certainty factors
and sorts. Which evidence transfers, at which tier, to which candidate, what a constraint removes,
which comparison applies and what is flagged: all of that is decided by the rules (rules/rules.yaml)
and read here from the facts they derived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .axes import AXES, AXIS_OF, ITEM_AXIS  # noqa: F401  (AXES re-exported)
from ..rules import RULES
from . import engine, reuse
from .errors import AdvisorError, UsageError
from .limits import shown
from .kb import Knowledge
from .schema import ENGINEERING_PREFIXES
from .resolve import Resolution, resolve
from .scoring import combine, strongest, words

DISCLAIMER = (
    "Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings "
    "from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient."
)
POPULATIONS = ("neonate", "child", "adult", "elderly", "female", "male")
REVIEWS = ("heo2018", "cai2020")


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
    tier: int
    basis: str
    evidence: list[str]
    citations: list[str]
    text: str
    model: str = ""
    origin: str = ""

    def as_json(self) -> dict:
        return {"rule": self.rule, "cf": round(self.cf, 3), "tier": self.tier, "basis": self.basis,
                "evidence": self.evidence, "citations": self.citations, "text": self.text}


@dataclass
class Preference:
    comparison: str
    effect: int  # +1 favours this item, -1 favours another over it, 0 a tie
    text: str
    rule: str
    citations: list[str]
    scope: str = "disease"  # disease: it reorders the candidates it names; organ, process, cells: a contribution

    @property
    def reorders(self) -> bool:
        return self.scope == "disease" and self.effect != 0

    def as_json(self) -> dict:
        return {"comparison": self.comparison, "effect": self.effect, "scope": self.scope, "rule": self.rule,
                "text": self.text, "citations": self.citations}


@dataclass
class Rec:
    axis: str
    id: str
    name: str
    score: float
    tier: int
    level: str | None
    support: list[Contribution]
    arithmetic: list[str]
    preferences: list[Preference] = field(default_factory=list)
    key_citation: str | None = None
    rank: int = 0

    @property
    def preference(self) -> int:
        """The comparisons made in this disease that favour (+1) or disfavour (-1) it; a wider
        comparison is a contribution to its score instead and does not count here."""
        return sum(p.effect for p in self.preferences if p.reorders)

    @property
    def basis(self) -> str:
        best = [c for c in self.support if c.cf > 0 and c.tier == self.tier]
        return best[0].basis if best else "opposed"

    def as_json(self) -> dict:
        return {"rank": self.rank, "id": self.id, "name": self.name, "score": round(self.score, 3),
                "tier": self.tier, "basis": self.basis, "level": self.level, "key_citation": self.key_citation,
                "preference": self.preference, "comparisons": [p.as_json() for p in self.preferences],
                "support": [s.as_json() for s in self.support]}


@dataclass
class Advice:
    text: str
    resolution: Resolution
    constraints: Constraints
    recs: dict[str, list[Rec]]
    excluded: list[dict]
    context: list[dict]
    cautions: list[dict]
    # the recorded trace and the references block as the conclusions hold them (shared by every
    # advice with these facts, read only): ``trace`` and ``references`` are this advice's own copies,
    # made when first read (a batch row reads neither)
    shared_trace: list[dict] = field(repr=False)
    shared_references: dict[str, dict] = field(repr=False)
    populations: list[dict] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)  # what was asserted, for why-not and explain
    derived: list[dict] = field(default_factory=list)  # what the rules derived and kept, by id
    disclaimer: str = DISCLAIMER

    @cached_property
    def trace(self) -> list[dict]:
        """The firings the engine recorded for these facts, in order (this advice's own copy)."""
        return [{**t, "matched": list(t["matched"]), "asserted": list(t["asserted"])} for t in self.shared_trace]

    @cached_property
    def references(self) -> dict[str, dict]:
        """Every reference the advice cites, by key (this advice's own copy)."""
        return {k: {**r, "cited_in": dict(r["cited_in"])} for k, r in self.shared_references.items()}

    @cached_property
    def relations(self) -> list[dict]:
        """The relations the rules derived, one per disease (a group's relation under each member).
        Built when asked (explain, why-not): a group can stand for thousands of diseases."""
        return _per_disease(self.derived, "relation", _members(self.facts))

    @cached_property
    def blocked(self) -> list[dict]:
        """What the rules blocked, one entry per disease and per evidence item (built when asked)."""
        items = {f["evidence"]: f["members"] for f in self.facts if f["kind"] == "evidence"}
        return _per_item(_per_disease(self.derived, "blocked", _members(self.facts)), "blocked", items)

    @property
    def facts_asserted(self) -> int:
        return len(self.facts)

    def find(self, item: str) -> Rec | None:
        for axis in AXES:
            for r in self.recs[axis]:
                if r.id == item:
                    return r
        return None

    def as_json(self) -> dict:
        return {
            "query": {"text": self.text, "disease": self.resolution.as_json(),
                      "constraints": self.constraints.as_json(), "notes": list(self.resolution.notes)},
            "sources": [r.as_json() for r in self.recs["sources"]],
            "routes": [r.as_json() for r in self.recs["routes"]],
            "engineering": [r.as_json() for r in self.recs["engineering"]],
            "excluded": self.excluded,
            "context": self.context,
            "cautions": self.cautions,
            "trace": self.trace,
            "references": self.references,
            "disclaimer": self.disclaimer,
        }


# ------------------------------------------------------------------------------------------
# constraints


def _norm_token(s: str) -> str:
    return " ".join(str(s).strip().lower().split())


def normalise_constraints(kb: Knowledge, constraints: Constraints) -> Constraints:
    """Ids accepted case-insensitively (and by name or synonym where the catalogue gives one),
    repeated values folded into one, in a stable order; unknown values are usage errors."""
    from . import ids

    srcs = sorted({ids.resolve_id(kb, "source", s) for s in constraints.exclude_sources})
    rts = sorted({ids.resolve_id(kb, "route", r) for r in constraints.routes})
    pop = constraints.population
    if pop is not None:
        pop = _norm_token(pop)
        if pop not in POPULATIONS:
            raise UsageError(f"unknown population for --population: {shown(constraints.population)}; "
                             f"use one of {', '.join(POPULATIONS)}")
    return Constraints(tuple(srcs), tuple(rts), bool(constraints.clinical_only), pop)


def check_constraints(kb: Knowledge, constraints: Constraints) -> Constraints:
    """Validate and normalise (kept under its old name for callers that only validate)."""
    return normalise_constraints(kb, constraints)


# ------------------------------------------------------------------------------------------
# facts


def _index(kb: Knowledge) -> dict:
    """Per knowledge base (built once): the stable evidence order, each item's primary paper, and
    the disease signatures with their evidence bundles (:func:`_signatures`)."""
    # a copy of the knowledge base with other weights (whatif) has other strengths, hence other
    # evidence facts: it gets an index of its own
    idx = kb.memo("_consult_index", kb.evidence, kb.diseases, kb.strength, kb.evidence_by_disease)
    if not idx:
        order = {eid: i for i, eid in enumerate(sorted(kb.evidence))}
        paper = {}
        for eid, ev in kb.evidence.items():
            keys = [k for k in kb.citations(ev) if k not in REVIEWS]
            paper[eid] = keys[0] if keys else ""
        cmp_paper = {cid: next((k for k in kb.citations(c) if k not in REVIEWS), "")
                     for cid, c in kb.comparisons.items()}
        cmp_diseases = frozenset(d for c in kb.comparisons.values() for d in c.get("diseases") or ())
        idx.update(order=order, paper=paper, cmp_paper=cmp_paper, cmp_diseases=cmp_diseases,
                   **_signatures(kb, order, paper))
    return idx


def _static(kb: Knowledge, eid: str, paper: str) -> tuple[dict, tuple[str, ...]] | None:
    """What an evidence item brings whatever the query: its fields and engineering options (None
    when it carries no weight: its only primary citation is flagged as a mismatch)."""
    ev = kb.evidence[eid]
    registered = ev["model"] == "clinical-registered"
    if kb.strength[eid] == 0 and not registered:
        return None
    return ({"source": ev["source"], "route": ev.get("route") or "", "model": ev["model"],
             "direction": ev["direction"], "strength": kb.strength[eid], "vesicle": ev["vesicle"], "paper": paper,
             "registered": 1 if registered else 0, "unstated": 1 if ev["source"] == "msc" else 0,
             "clinical": 1 if ev["model"] in ("clinical-completed", "case-report") else 0},
            tuple(ev.get("engineering") or ()))


def _bundles(fields: dict) -> bool:
    """May this item share an evidence fact with items that agree with it on every field? Yes when it
    has a primary paper (one paper counts once: only the first could count) or is a registered trial
    without results (it never counts: docs/design.md); an item resting on a review alone counts by
    itself."""
    return bool(fields["paper"]) or fields["registered"] == 1


def _signatures(kb: Knowledge, order: dict, paper: dict) -> dict:
    """Diseases with evidence, by signature (organ system, processes, cancer): every rule treats two
    diseases of one signature alike unless one is in the query's family. Each item's bundle key
    (:func:`_bundles`: what it brings, or the item alone) and, per signature, its items by key."""
    members: dict[tuple, list[str]] = {}
    sig_of: dict[str, tuple] = {}
    bundles: dict[tuple, dict[tuple, list[str]]] = {}
    static: dict[tuple, tuple[dict, tuple]] = {}
    key_of: dict[str, tuple] = {}
    by_organ: dict[str, set] = {}
    by_process: dict[str, set] = {}
    for did, d in sorted(kb.diseases.items()):
        eids = kb.evidence_by_disease.get(did)
        if not eids:
            continue
        sig = (d["organ"], tuple(d["processes"]), 1 if "cancer" in d["processes"] else 0)
        members.setdefault(sig, []).append(did)
        sig_of[did] = sig
        by_organ.setdefault(d["organ"], set()).add(sig)
        for p in d["processes"]:
            by_process.setdefault(p, set()).add(sig)
        for eid in eids:
            st = _static(kb, eid, paper[eid])
            if st is None:
                continue  # its only primary citation is flagged as a mismatch: given no weight
            fields, options = st
            key = key_of[eid] = (tuple(fields.values()), options) if _bundles(fields) else (eid,)
            static.setdefault(key, st)
            bundles.setdefault(sig, {}).setdefault(key, []).append(eid)
    return {"sig_members": members, "sig_of": sig_of, "sig_bundles": bundles, "static": static, "key_of": key_of,
            "sigs_by_organ": by_organ, "sigs_by_process": by_process}


def _descendants(kb: Knowledge, did: str) -> list[str]:
    out, todo = [], list(kb.children.get(did, ()))
    while todo:
        d = todo.pop(0)
        if d not in out:
            out.append(d)
            todo.extend(kb.children.get(d, ()))
    return out


def prepare(kb: Knowledge, res: Resolution, constraints: Constraints, *, index: bool = True) -> list[dict]:
    """The facts for this query: the query; one disease fact per disease of its family and one per
    group of the other diseases every rule treats alike; their evidence, one fact per item or per
    bundle of one paper's identical items; populations, routes, options, source parts, comparisons
    and the user's constraints. With ``index`` (the default) only diseases that share the query's
    family, organ system or a process are asserted, built from the signature index; ``index=False``
    builds them disease by disease from every disease (the plain definition: tests check that both
    give the same answers).

    What only names the query is not a fact: a disease the reviews do not name (an ICD-10-CM code)
    is asserted by its organ system, processes and populations, with ``disease`` empty (the one
    condition that reads the query's disease joins it with the diseases the reviews' comparisons
    name, which are curated ids: no code can match one). The facts of one concept (everything but
    the query fact and the constraints) are built once and remembered (advisor/reuse.py); callers
    only read them."""
    return _prepare(kb, res, constraints, index)[0]


def _prepare(kb: Knowledge, res: Resolution, constraints: Constraints, index: bool = True
             ) -> tuple[list[dict], reuse.Prepared]:
    """:func:`prepare`, and the remembered facts of the concept among them."""
    pops = tuple(res.populations)
    concept = (res.id if res.curated else "", res.organ, tuple(res.processes), pops, bool(res.curated), res.site,
               index)
    body = reuse.prepared(kb, concept, lambda: _concept_facts(kb, res, index))
    processes = tuple(res.processes)
    query = {"id": "query", "kind": "query", "disease": concept[0], "organ": res.organ, "processes": list(processes),
             "cancer": 1 if "cancer" in processes else 0, "curated": 1 if res.curated else 0, "site": res.site,
             "user_population": 1 if constraints.population else 0}
    return [query, *body.facts, *_constraint_facts(kb, constraints, pops)], body


def _concept_facts(kb: Knowledge, res: Resolution, index: bool) -> list[dict]:
    """The facts of :func:`prepare` that follow from the resolved disease alone (its family, organ
    system, processes and populations), in the order they are asserted."""
    idx = _index(kb)
    q = res.id
    organ = res.organ
    processes = tuple(res.processes)
    pops = tuple(res.populations)
    site = res.site
    facts: list[dict] = []
    lineage: dict[str, str] = {}
    if res.curated:
        lineage[q] = "self"
        for d in _descendants(kb, q):
            lineage[d] = "narrower"
        for d in kb.disease_ancestors(q):
            lineage.setdefault(d, "broader")
    if index:
        groups, evidence = _indexed(kb, idx, lineage, organ, processes, pops, site)
    else:
        groups = _groups(kb, set(kb.diseases), lineage, organ, processes, index=False)
        evidence = _evidence_facts(kb, idx, _by_disease(kb, idx, groups), organ, pops, site)
    facts.extend(groups[k] for k in sorted(groups))
    facts.extend(evidence)
    for p in pops:
        facts.append({"id": f"dpop:{p}", "kind": "disease-population", "population": p})
    for rid, r in sorted(kb.routes.items()):
        facts.append({"id": f"route:{rid}", "kind": "route", "route": rid,
                      "reaches": _reaches(kb, rid, organ, site), "local": 1 if r["delivery"] == "local" else 0,
                      "invasive": 1 if r["invasiveness"] == "high" else 0})
    for oid, o in sorted(kb.engineering.items()):
        direct, transfer = _fit(kb, o.get("fits") or (), organ, processes)
        facts.append({"id": f"option:{oid}", "kind": "option", "engineering": oid,
                      "family": _family(oid),
                      "purposes": list(o.get("purposes") or ()),
                      "fits": direct, "fits_transfer": transfer,
                      **_option_flags(o, organ, pops)})
    for sid, s in sorted(kb.sources.items()):
        if s.get("parent"):
            facts.append({"id": f"part:{sid}", "kind": "source-part", "part": sid, "whole": s["parent"]})
    for cid, cmp in sorted(kb.comparisons.items()):
        if index and not _concerns(cmp, lineage, organ, processes):
            continue  # about other organ systems, processes or diseases: joins nothing (index=False asserts it)
        facts.append({"id": f"cmp:{cid}", "kind": "comparison", "comparison": cid, "axis": cmp["axis"],
                      "type": cmp["kind"], "scoped": 1 if cmp.get("diseases") else 0,
                      "scope": cmp["scope"],
                      "better": cmp.get("better") or "", "candidate": 1 if cmp["axis"] in AXIS_OF else 0,
                      "cancer": 1 if cmp.get("process") == "cancer" else 0,
                      "paper": idx["cmp_paper"][cid],
                      "organ": cmp.get("organ") or "", "process": cmp.get("process") or "",
                      "process_match": 1 if cmp.get("process") and cmp["process"] in processes else 0})
        for d in cmp.get("diseases") or ():
            if index and d not in lineage:
                continue  # a disease outside the query's family: joins nothing (index=False asserts it)
            facts.append({"id": f"cmpscope:{cid}:{d}", "kind": "comparison-scope", "comparison": cid, "disease": d})
    return facts


def _constraint_facts(kb: Knowledge, constraints: Constraints, pops: tuple[str, ...]) -> list[dict]:
    """The facts of the user's constraints."""
    facts: list[dict] = []
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
        facts.append({"id": f"con:population:{constraints.population}", "kind": "constraint", "type": "population",
                      "value": constraints.population, "in_disease": 1 if constraints.population in pops else 0,
                      "disease_has_populations": 1 if pops else 0})
    return facts


def _concerns(cmp: dict, lineage: dict[str, str], organ: str, processes: tuple[str, ...]) -> bool:
    """Does a comparison concern this query at all: a statement of readiness (about every disease),
    one naming a disease of the query's family, or one whose organ system and process (where it
    names them) are the query's? Which comparison applies is for the rules to say; this only leaves
    out the comparisons about other diseases, organ systems or processes, which no rule can join
    with this query."""
    if cmp["kind"] == "readiness":
        return True
    if cmp.get("diseases"):
        return any(d in lineage for d in cmp["diseases"])
    return cmp.get("organ") in (None, "", organ) and cmp.get("process") in (None, "", *processes)


def _disease_fact(label: str, lineage: str, same_organ: int, shared: str, cancer: int) -> dict:
    return {"id": f"disease:{label}", "kind": "disease", "disease": label, "members": [], "lineage": lineage,
            "same_organ": same_organ, "shared_process": shared, "cancer": cancer}


def _groups(kb: Knowledge, pool: set[str], lineage: dict[str, str], organ: str, processes: tuple[str, ...], *,
            index: bool, named: frozenset[str] = frozenset()) -> dict[str, dict]:
    """Disease facts, one per disease of the query's family and one per group of the others, from the
    diseases of ``pool`` (with ``index``, those without evidence are left out, unless they are
    ancestors or a comparison names them: ``named``)."""
    groups: dict[str, dict] = {}
    for did in sorted(pool):
        d = kb.diseases[did]
        lin = lineage.get(did, "none")
        if index and lin != "broader" and did not in named and not kb.evidence_by_disease.get(did):
            continue  # no evidence: nothing to transfer (ancestors stay, and diseases comparisons name)
        shared = next((p for p in processes if p in d["processes"]), "")
        same_organ = 1 if d["organ"] == organ else 0
        cancer = 1 if "cancer" in d["processes"] else 0
        label = did if lin != "none" else _group_label(same_organ, shared, cancer)
        if label not in groups:
            groups[label] = _disease_fact(label, lin, same_organ, shared, cancer)
        groups[label]["members"].append(did)
    return groups


def _indexed(kb: Knowledge, idx: dict, lineage: dict[str, str], organ: str, processes: tuple[str, ...],
             pops: tuple[str, ...], site: str = "") -> tuple[dict[str, dict], list[dict]]:
    """The disease and evidence facts of :func:`_groups` and :func:`_evidence_facts` over the diseases
    that share the query's family, organ system or a process, built from the signatures indexed once
    per knowledge base: the cost follows the number of signatures, not of diseases. The family is
    taken disease by disease; every other disease joins its signature's group."""
    groups = _groups(kb, set(lineage), lineage, organ, processes, index=True, named=idx["cmp_diseases"])
    bundles = _by_disease(kb, idx, groups)
    sigs = set(idx["sigs_by_organ"].get(organ, ()))
    for p in processes:
        sigs |= idx["sigs_by_process"].get(p, set())
    family_sigs = {idx["sig_of"][d] for d in lineage if d in idx["sig_of"]}
    # the bundles that hold an item of the family, which must be left out of them (the family's
    # items are bundled with its own disease facts above): only these are filtered item by item
    family_items = {e for d in lineage for e in kb.evidence_by_disease.get(d, ())}
    to_filter = {(idx["sig_of"][kb.evidence[e]["disease"]], idx["key_of"][e])
                 for e in family_items if e in idx["key_of"]}
    for sig in sorted(sigs):
        s_organ, s_processes, cancer = sig
        members = idx["sig_members"][sig]
        family = sig in family_sigs
        if family:
            members = [d for d in members if d not in lineage]
            if not members:
                continue
        shared = next((p for p in processes if p in s_processes), "")
        same_organ = 1 if s_organ == organ else 0
        label = _group_label(same_organ, shared, cancer)
        if label not in groups:
            groups[label] = _disease_fact(label, "none", same_organ, shared, cancer)
        groups[label]["members"].extend(members)
        for key, eids in idx["sig_bundles"].get(sig, {}).items():
            if (sig, key) in to_filter:
                eids = [e for e in eids if e not in family_items]
            bundles.setdefault((label, key), []).extend(eids)
    for g in groups.values():
        if g["lineage"] == "none":
            g["members"].sort()
    return groups, _evidence_facts(kb, idx, bundles, organ, pops, site)


def _group_label(same_organ: int, shared: str, cancer: int) -> str:
    """The id of a group of diseases outside the query's family that every rule treats alike: they
    agree on organ system (same or other), the first process shared with the query, and cancer.
    ('+' never occurs in a disease id.)"""
    return (f"{'same' if same_organ else 'other'}-organ" + (f"+{shared}" if shared else "+other-process")
            + ("+cancer" if cancer else ""))


def _by_disease(kb: Knowledge, idx: dict, groups: dict[str, dict]) -> dict[tuple[str, tuple], list[str]]:
    """(disease fact id, bundle key) -> the evidence items of the diseases of ``groups``, disease by
    disease (items given no weight are left out)."""
    out: dict[tuple[str, tuple], list[str]] = {}
    key_of = idx["key_of"]
    for label, g in groups.items():
        for did in g["members"]:
            for eid in kb.evidence_by_disease.get(did, ()):
                if eid in key_of:
                    out.setdefault((label, key_of[eid]), []).append(eid)
    return out


def _evidence_facts(kb: Knowledge, idx: dict, bundles: dict[tuple[str, tuple], list[str]], organ: str,
                    pops: tuple[str, ...], site: str = "") -> list[dict]:
    """One evidence fact per bundle, each followed by its engineering options, in the order of its
    disease fact, then the stable evidence order. A bundle is one item, or the items of one paper
    that agree on every field a rule or an action reads (their disease's group included): one paper
    counts once, so only the first (the one paper-once would keep) could count, and every rule treats
    the others exactly as it treats it. Registered trials without results, which never count, are
    bundled the same way (:func:`_bundles`)."""
    order = idx["order"]  # the place of an item's id among all ids sorted: sorting ids is sorting by it
    firsts = []
    for (label, key), eids in bundles.items():
        if eids:
            eids.sort()
            firsts.append((label, order[eids[0]], key, eids))
    reach: dict[str, int] = {}
    flags: dict[str, dict] = {}
    facts = []
    for label, first, key, eids in sorted(firsts, key=lambda b: b[:2]):
        fields, options = idx["static"][key]
        route = fields["route"]
        if route not in reach:
            reach[route] = _reaches(kb, route, organ, site)
        facts.append({"id": f"ev:{eids[0]}", "kind": "evidence", "evidence": eids[0], "members": eids,
                      "disease": label, **fields, "reaches": reach[route], "order": first})
        for o in options:
            if o not in flags:
                flags[o] = _option_flags(kb.engineering[o], organ, pops)
            facts.append({"id": f"eveng:{eids[0]}:{o}", "kind": "evidence-engineering", "evidence": eids[0],
                          "engineering": o, **flags[o]})
    return facts


def _reaches(kb: Knowledge, route: str, organ: str, site: str = "") -> int:
    """1 if ``route`` reaches the organ system, or the site of it the disease is at (or there is no
    route), else 0. A route that names only some sites of an organ system (intranasal: the brain)
    reaches a disease of that system only at one of them."""
    if not route:
        return 1
    reaches = kb.routes[route].get("reaches") or ()
    return 1 if organ in reaches or (site and site in reaches) else 0


def _fit(kb: Knowledge, fits, organ: str, processes: tuple[str, ...]) -> tuple[int, int]:
    """(direct, transfer) for an option whose ``fits`` name organ systems and processes. Direct: the
    disease has one of its organ systems and one of its processes (an axis it names nothing on is no
    restriction). Transfer: it names both axes and the disease matches one only. Neither across
    cancer and non-cancer: an option reported for cancers fits cancers only, and the reverse."""
    if ("cancer" in fits) != ("cancer" in processes):
        return 0, 0
    organs = [f for f in fits if kb.categories[f]["kind"] != "process"]
    procs = [f for f in fits if kb.categories[f]["kind"] == "process"]
    organ_hit = organ in organs if organs else None
    process_hit = any(p in procs for p in processes) if procs else None
    if organ_hit is None and process_hit is None:
        return 0, 0  # fits nothing named
    if organ_hit is not False and process_hit is not False:
        return 1, 0
    return 0, 1 if (organ_hit or process_hit) else 0


def _family(option_id: str) -> str:
    """The category word an engineering id starts with (docs/design.md, "Vocabulary"): 'hydrogel', 'drug-loading'..."""
    return max((p for p in ENGINEERING_PREFIXES if option_id.startswith(p + "-")), key=len, default="")


def _option_flags(opt: dict, organ: str, pops: tuple[str, ...]) -> dict:
    organs = opt.get("organs") or ()
    needs = opt.get("populations") or ()
    return {"organ_ok": 1 if not organs or organ in organs else 0,
            "population_ok": 1 if not needs or any(p in pops for p in needs) else 0}


# ------------------------------------------------------------------------------------------
# combining and ordering


def rule_citations(kb: Knowledge, rule_id: str) -> list[str]:
    return kb.citations({"cites": list(RULES[rule_id].cites)})


BASIS_WORDS = {"direct": "direct", "related": "related", "indirect": "indirect"}


def _evidence_text(kb: Knowledge, eid: str, relation: dict | None) -> str:
    ev = kb.evidence[eid]
    how = f"{ev['model']}, {ev['species']} donor, {ev['vesicle']}"
    disease = kb.diseases[ev["disease"]]["name"]
    rel = f"{relation['basis']}: {relation['how']}" if relation else "?"
    return f"{ev['effect']} [{how}; {disease}: {rel}]"


def _contribution(kb: Knowledge, f: dict, relations: dict[str, dict | None], memo: dict) -> Contribution:
    """``relations``: evidence item (the first of its fact's members) -> its relation, if any.
    ``memo`` (:func:`_wordings`): the text and citations of a contribution, by what they are made of."""
    cf = f["cf"] / 1000
    eid = f["evidence"]
    if eid:
        rel = relations.get(eid)
        k = (eid, rel["basis"], rel["how"]) if rel else (eid,)
        k += (f["origin"] == "rollup",)
        hit = memo.get(k)
        if hit is None:
            text = _evidence_text(kb, eid, rel)
            if f["origin"] == "rollup":
                text = f"via its part {kb.evidence[eid]['source']}: " + text
            hit = memo[k] = (text, tuple(kb.citations(kb.evidence[eid])))
        return Contribution(f["rule"], cf, f["tier"], f["basis"], [eid], list(hit[1]), hit[0], f["model"], f["origin"])
    k = ("", f["rule"], f.get("comparison") or "", f["item"])
    hit = memo.get(k)
    if hit is None:
        if f.get("comparison"):
            cmp = kb.comparisons[f["comparison"]]
            hit = (f"{cmp['text']} (a comparison about {_scope_words(cmp)}, not made in this disease)",
                   tuple(kb.citations(cmp)))
        else:
            cites = rule_citations(kb, f["rule"])
            if not cites and f["basis"] != "reach":  # an option fits: its record says where the reviews report it
                # (a route listed by reach rests on anatomy, not on a paper: it cites none)
                rec = _catalogue(kb, AXIS_OF[f["axis"]]).get(f["item"]) or {}
                cites = kb.citations(rec) if rec.get("cites") else []
            hit = (RULES[f["rule"]].description, tuple(cites))
        memo[k] = hit
    return Contribution(f["rule"], cf, f["tier"], f["basis"], [], list(hit[1]), hit[0], f["model"], f["origin"])


def _wordings(kb: Knowledge) -> dict:
    """The texts and citations of contributions, built once per knowledge base (a batch asks for the
    same evidence items again and again)."""
    return kb.memo("_contribution_memo", kb.evidence, kb.diseases, kb.references, kb.cite_index)


def _scope_words(cmp: dict) -> str:
    if cmp.get("scope") == "cells":
        return "the cells in general"
    where = [w for w in (cmp.get("process"), cmp.get("organ")) if w]
    return " in ".join(where) if where else "the cells in general"


def _catalogue(kb: Knowledge, axis: str) -> dict:
    return {"sources": kb.sources, "routes": kb.routes, "engineering": kb.engineering}[axis]


def _preferences(kb: Knowledge, derived: list[dict]) -> dict[tuple[str, str], list[Preference]]:
    out: dict[tuple[str, str], list[Preference]] = {}
    seen: set[str] = set()
    for f in derived:  # sorted by id: a comparison that applies by two routes counts once
        if f["kind"] != "preference" or f["axis"] not in AXIS_OF or f["comparison"] in seen:
            continue
        seen.add(f["comparison"])
        cmp = kb.comparisons[f["comparison"]]
        axis = AXIS_OF[f["axis"]]
        cites = kb.citations(cmp)
        scope = f["scope"]
        if cmp["kind"] == "tie":
            for item in cmp.get("tie") or ():
                out.setdefault((axis, item), []).append(Preference(f["comparison"], 0, cmp["text"], f["rule"], cites, scope))
            continue
        out.setdefault((axis, cmp["better"]), []).append(Preference(f["comparison"], 1, cmp["text"], f["rule"], cites, scope))
        for item in cmp.get("worse") or ():
            out.setdefault((axis, item), []).append(Preference(f["comparison"], -1, cmp["text"], f["rule"], cites, scope))
    return out


def reorderings(kb: Knowledge, derived: list[dict]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Per axis, the comparisons made in this disease (or a narrower form, or its parent) that the
    rules applied, as (favoured, disfavoured) in comparison-id order: the only ones that reorder."""
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {a: [] for a in AXES}
    seen: set[str] = set()
    for f in sorted((f for f in derived if f["kind"] == "preference"), key=lambda f: f["comparison"]):
        if f["axis"] not in AXIS_OF or f["scope"] != "disease" or f["type"] != "preference" or f["comparison"] in seen:
            continue
        seen.add(f["comparison"])
        cmp = kb.comparisons[f["comparison"]]
        out[AXIS_OF[f["axis"]]].append((cmp["better"], tuple(cmp.get("worse") or ())))
    return out


def order(entries: list[tuple[int, float, str]], moves: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """The order of candidates (tier, score, id) given as (tier, score, id): by tier, then score
    (rounded as shown), then id; then each comparison made in this disease moves its favoured
    candidate to just above the highest-ranked disfavoured candidate of its own tier, if one ranks
    above it. Nothing else moves: a total order, applied once per comparison, so nothing loops."""
    ranked = sorted(entries, key=lambda e: (e[0], -round(e[1], 3), e[2]))
    ids = [e[2] for e in ranked]
    tier = {e[2]: e[0] for e in ranked}
    for better, worse in moves:
        if better not in tier:
            continue
        b = ids.index(better)
        above = [i for i in range(b) if ids[i] in worse and tier[ids[i]] == tier[better]]
        if above:
            ids.insert(above[0], ids.pop(b))
    return ids


def rank(kb: Knowledge, derived: list[dict], facts: list[dict]) -> dict[str, list[Rec]]:
    """Combine each candidate's counted contributions and order the candidates (docs/design.md):
    by tier, then the reviews' comparisons, then score, then id. ``facts`` (what was asserted)
    name the members of each group of diseases."""
    excluded = {(AXIS_OF[f["axis"]], f["item"]) for f in derived if f["kind"] == "exclusion" and f["axis"] in AXIS_OF}
    dropped = {f["contribution"] for f in derived if f["kind"] in ("superseded", "set-aside")}
    # an evidence item's relation is its disease fact's (a disease of the family, or a group's label)
    label = {f["evidence"]: f["disease"] for f in facts if f["kind"] == "evidence"}
    by_label = {f["disease"]: f for f in derived if f["kind"] == "relation"}
    relations = {eid: by_label.get(lb) for eid, lb in label.items()}
    grouped: dict[tuple[str, str], list[dict]] = {}
    for f in derived:
        if f["kind"] != "contribution" or f["id"] in dropped:
            continue
        key = (AXIS_OF[f["axis"]], f["item"])
        if key in excluded:
            continue
        grouped.setdefault(key, []).append(f)
    prefs = _preferences(kb, derived)
    wordings = _wordings(kb)
    recs: dict[str, list[Rec]] = {a: [] for a in AXES}
    for (axis, item), sups in grouped.items():
        sups.sort(key=lambda f: (f["tier"], -f["cf"], f["rule"], f["evidence"]))
        contribs = [_contribution(kb, f, relations, wordings) for f in sups]
        score, arithmetic = combine([c.cf for c in contribs])
        # support counts for the tier only when at least as strong as the strongest evidence against
        # (DESIGN 4.1): opposing evidence in this disease outweighs support transferred from elsewhere
        against = min((c.tier for c in contribs if c.cf < 0), default=6)
        positive = [c for c in contribs if c.cf > 0 and c.tier <= against]
        tier = min((c.tier for c in positive), default=5)
        strong = [c for c in positive if c.tier <= 3]
        if strong:
            best = min(strong, key=lambda c: (c.tier, -c.cf, c.evidence))
            level = best.model
            key = next((k for k in best.citations if k not in REVIEWS), best.citations[0] if best.citations else None)
        else:
            level = "review-inference" if positive else strongest(c.model for c in contribs)
            key = _review_of(kb, positive)
        cat = _catalogue(kb, axis)
        name = cat[item]["name"] if item in cat else item
        recs[axis].append(Rec(axis, item, name, score, tier, level, contribs, arithmetic,
                              prefs.get((axis, item), []), key))
    moves = reorderings(kb, derived)
    for axis in AXES:
        by_id = {r.id: r for r in recs[axis]}
        recs[axis] = [by_id[i] for i in order([(r.tier, r.score, r.id) for r in recs[axis]], moves[axis])]
        for i, r in enumerate(recs[axis], 1):
            r.rank = i
    return recs


def _review_of(kb: Knowledge, positive: list[Contribution]) -> str | None:
    """The key citation of a recommendation resting on generalisations only: the review that makes the
    claim, or the review that cites the paper its strongest contribution rests on."""
    for c in positive:
        for k in c.citations:
            if k in REVIEWS:
                return k
            citing = sorted((kb.references.get(k) or {}).get("cited_in") or ())
            if citing:
                return citing[0]
    return None


PER_EVIDENCE_CAUTIONS = ("opposing-evidence", "secretome")  # one caution per evidence item; others once


def caution_id(f: dict) -> str:
    """The id a derived caution is shown under: its name, with the evidence item for the cautions
    about one item (the others, e.g. es-ethics, are shown once however many items raised them)."""
    return f"{f['name']}:{f['evidence']}" if f["name"] in PER_EVIDENCE_CAUTIONS else f["name"]


def _caution_json(kb: Knowledge, f: dict, res: Resolution) -> dict:
    name = f["name"]
    if name == "opposing-evidence":
        ev = kb.evidence[f["evidence"]]
        src = kb.sources[ev["source"]]["name"]
        text = (f"{src} ({ev['vesicle']}) counts against: {ev['effect']} "
                f"[{ev['model']}, {kb.diseases[ev['disease']]['name']}]")
        return {"id": caution_id(f), "text": text, "citations": kb.citations(ev)}
    if name == "secretome":
        ev = kb.evidence[f["evidence"]]
        return {"id": caution_id(f),
                "text": ("A study here used a whole secretome, which holds more than EVs: its effect "
                         f"cannot be credited to EVs alone ({f['evidence']})."),
                "citations": rule_citations(kb, f["rule"]) + [k for k in kb.citations(ev) if k not in REVIEWS]}
    if name == "es-ethics":
        return {"id": caution_id(f),
                "text": ("Embryonic-stem-cell-derived MSCs raise ethical questions that may limit their use, "
                         "and no clinical trial of their EVs is listed."),
                "citations": rule_citations(kb, f["rule"])}
    if name == "preclinical-only":
        return {"id": caution_id(f),
                "text": ("No reported clinical result for this disease or a related one supports this advice: it "
                         "rests on animal and cell-culture work and on the reviews' generalisations."),
                "citations": []}
    if name == "indirect":
        return {"id": caution_id(f),
                "text": (f"The reviews do not name {res.name!r}. It was placed by ICD-10-CM {res.icd10cm} "
                         f"(organ system {res.organ}; {', '.join(res.processes)}); the advice rests only on "
                         "evidence about other diseases."), "citations": []}
    if name == "no-route-evidence":
        return {"id": caution_id(f),
                "text": (f"The reviews report no route used on {res.organ}" + (f" ({res.site})" if res.site else "")
                         + " with a result here: the routes are listed by where they deliver (basis 'reach'), "
                           "not by evidence."), "citations": []}
    if name == "population-mismatch":
        pops = ", ".join(res.populations)
        return {"id": caution_id(f),
                "text": f"{res.name} usually affects: {pops}; you asked about: {f['item']}.", "citations": []}
    return {"id": caution_id(f), "text": RULES[f["rule"]].description, "citations": []}  # pragma: no cover


def _context_json(kb: Knowledge, f: dict) -> dict:
    """A context entry of the advice: a function of the knowledge and the fact's type, evidence item
    and comparison alone, so each is built once per knowledge base and copied out (a batch asks for
    the same items again and again; at 100x knowledge one answer lists hundreds)."""
    memo = kb.memo("_context_memo", kb.evidence, kb.diseases, kb.comparisons, kb.references)
    key = (f["type"], f.get("evidence") or "", f.get("comparison") or "")
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = _build_context(kb, f)
    return {"kind": hit["kind"], "text": hit["text"], "evidence": list(hit["evidence"]),
            "citations": list(hit["citations"])}


def _build_context(kb: Knowledge, f: dict) -> dict:
    kind = f["type"]
    if kind in ("unstated-source", "registered-trial"):
        ev = kb.evidence[f["evidence"]]
        what = ("MSC source not stated" if kind == "unstated-source"
                else "registered trial, no results yet (readiness, not efficacy)")
        text = f"{what}: {ev['effect']} [{ev['model']}, {kb.diseases[ev['disease']]['name']}]"
        return {"kind": kind, "text": text, "evidence": [f["evidence"]], "citations": kb.citations(ev)}
    cmp = kb.comparisons[f["comparison"]]
    return {"kind": kind, "text": cmp["text"], "evidence": [], "citations": kb.citations(cmp)}


def consult(kb: Knowledge, text: str, constraints: Constraints = Constraints(), *,
            resolution: Resolution | None = None) -> Advice:
    """Resolve ``text`` and return the ranked, explained advice (raises typed errors).

    The engine runs once per distinct fact set: a consultation whose facts equal an earlier one's
    reuses what the rules concluded then and what was built from it alone (advisor/reuse.py); the
    parts that name the query are built here, for this one."""
    constraints = normalise_constraints(kb, constraints)
    res = resolution or resolve(kb, text)
    facts, shared = _prepare(kb, res, constraints)
    found = reuse.conclusions(kb, facts, lambda: _run(kb, facts, shared), shared)
    return _advice(kb, text, res, constraints, facts, found)


def _run(kb: Knowledge, facts: list[dict], shared: reuse.Prepared | None = None) -> "Conclusions":
    ctx = engine.run(facts, kb.weights, part=shared.engine_part() if shared is not None else None)
    return conclusions(kb, facts, list(ctx.derived.values()), trace_of(ctx))


def trace_of(ctx: engine.Session) -> list[dict]:
    """The trace of a consultation: its firings in order, each with the facts it asserted."""
    return [{"step": s.step, "rule": s.rule, "matched": s.matched, "asserted": [a["id"] for a in s.asserted],
             **({"retracted": s.retracted} if s.retracted else {})} for s in ctx.steps]


def _members(facts: list[dict]) -> dict[str, list[str]]:
    """Disease fact id (a disease, or a group's label) -> the diseases it stands for."""
    return {f["disease"]: f["members"] for f in facts if f["kind"] == "disease"}


def _per_disease(derived: list[dict], kind: str, members: dict[str, list[str]]) -> list[dict]:
    """The relations (or blocks of diseases) the rules derived, one per disease: a group's fact is
    listed under each of its members, with the group named."""
    out = []
    for f in derived:
        if f["kind"] != kind:
            continue
        if kind == "blocked" and f["axis"] != "disease":
            out.append(f)
            continue
        label = f["disease"] if kind == "relation" else f["item"]
        for m in members.get(label, [label]):
            key = "disease" if kind == "relation" else "item"
            out.append({**f, key: m, "group": label})
    return out


def _per_item(derived: list[dict], kind: str, items: dict[str, list[str]]) -> list[dict]:
    """The facts of ``kind``, one per evidence item: a fact about an evidence fact that stands for
    several items of one paper (:func:`_evidence_facts`) is listed under each of them."""
    out = []
    for f in derived:
        if f["kind"] != kind:
            continue
        ms = items.get(f.get("evidence") or "")
        out.extend([f] if not ms or len(ms) == 1 else [{**f, "evidence": m} for m in ms])
    return out


@dataclass
class Conclusions:
    """What the rules derived for one fact set, and what is built from it and the knowledge alone:
    the same for every consultation with these facts, so it can be reused (advisor/reuse.py).
    Read only: advices share it."""

    derived: list[dict]  # sorted by id
    trace: list[dict]
    recs: dict[str, list[Rec]]
    excluded: list[dict]
    context: list[dict]
    cautions: list[dict]  # the derived caution facts, one per shown caution, in the order shown
    populations: list[dict]
    keys: frozenset  # the references cited by everything above but the cautions
    references: dict = field(default_factory=dict)  # caution citation keys -> the references block


def conclusions(kb: Knowledge, facts: list[dict], derived: list[dict], trace: list[dict]) -> Conclusions:
    """Rank and gather what the rules derived (shared by the engine and the interpreter)."""
    derived = sorted(derived, key=lambda f: f["id"])
    recs = rank(kb, derived, facts)
    items = {f["evidence"]: f["members"] for f in facts if f["kind"] == "evidence"}
    excluded = [{"axis": f["axis"], "id": f["item"], "reason": f["reason"], "rule": f["rule"],
                 "citations": rule_citations(kb, f["rule"])}
                for f in derived if f["kind"] == "exclusion"]
    excluded.sort(key=lambda x: (x["axis"], x["id"], x["rule"]))
    cautions: dict[str, dict] = {}
    for f in _per_item(derived, "caution", items):
        cautions.setdefault(caution_id(f), f)
    caution_facts = [cautions[k] for k in sorted(cautions)]
    context = [_context_json(kb, f) for f in _per_item(derived, "context", items)]
    shown: set[str] = set()
    for f in derived:  # the reviews' comparisons of things that are not candidates (vesicle, species)
        if f["kind"] == "preference" and f["axis"] not in AXIS_OF and f["comparison"] not in shown:
            shown.add(f["comparison"])
            cmp = kb.comparisons[f["comparison"]]
            context.append({"kind": "comparison", "text": cmp["text"], "evidence": [], "citations": kb.citations(cmp)})
    context.sort(key=lambda c: ({"readiness": 0, "registered-trial": 1, "comparison": 2}.get(c["kind"], 3),
                                c["evidence"], c["text"]))
    keys: set[str] = set()
    for axis in AXES:
        for r in recs[axis]:
            for c in r.support:
                keys.update(c.citations)
            for p in r.preferences:
                keys.update(p.citations)
    for group in (excluded, context):
        for x in group:
            keys.update(x["citations"])
    return Conclusions(derived, trace, recs, excluded, context, caution_facts,
                       [f for f in derived if f["kind"] == "population"], frozenset(keys))


def _references(kb: Knowledge, found: Conclusions, caution_keys: frozenset) -> dict[str, dict]:
    """The references block: what the conclusions cite and what the cautions cite (remembered per
    set of caution citations: the cautions' wording may name the query, their citations do not)."""
    refs = found.references.get(caution_keys)
    if refs is None:
        refs = {}
        for k in sorted(found.keys | caution_keys):
            ref = kb.references[k]
            refs[k] = {"authors": ref["authors"], "title": ref["title"], "journal": ref["journal"],
                       "year": ref["year"], "cited_in": dict(sorted(ref["cited_in"].items()))}
        found.references[caution_keys] = refs
    return refs


def _advice(kb: Knowledge, text: str, res: Resolution, constraints: Constraints, facts: list[dict],
            found: Conclusions) -> Advice:
    """The Advice of one consultation: the conclusions, with what names the query built for it (the
    query block and notes come from ``res``; so does the wording of the cautions that name it)."""
    cautions = [_caution_json(kb, f, res) for f in found.cautions]
    keys = frozenset(k for c in cautions for k in c["citations"])
    # what as_json hands out is this advice's own (a caller may change it): copies of the shared
    # entries, one level of lists down (the trace and references when first read); the ranked
    # candidates and the derived facts are shared, read only
    return Advice(
        text=text, resolution=res, constraints=constraints, recs={a: list(v) for a, v in found.recs.items()},
        excluded=[{**x, "citations": list(x["citations"])} for x in found.excluded],
        context=[{**c, "evidence": list(c["evidence"]), "citations": list(c["citations"])} for c in found.context],
        cautions=cautions, shared_trace=found.trace, shared_references=_references(kb, found, keys),
        populations=found.populations, facts=facts, derived=found.derived,
    )


def advice_from(kb: Knowledge, text: str, res: Resolution, constraints: Constraints, facts: list[dict],
                derived: list[dict], trace: list[dict]) -> Advice:
    """Build the Advice from what the rules derived (shared by the engine and the interpreter)."""
    return _advice(kb, text, res, constraints, facts, conclusions(kb, facts, derived, trace))


class NoCandidates(AdvisorError):
    """Understood, but the constraints leave nothing to rank (exit 1)."""

    exit_code = 1


def require_candidates(adv) -> None:
    """Raise :class:`NoCandidates` when the constraints leave no candidate on any axis."""
    if any(adv.recs[a] for a in ("sources", "routes", "engineering")):
        return
    c = adv.constraints
    why = []
    if c.clinical_only:
        why.append("--clinical-only (no clinical study, trial or case report in the knowledge base)")
    if c.routes:
        why.append("--route " + ", ".join(c.routes))
    if c.exclude_sources:
        why.append("--exclude-source " + ", ".join(c.exclude_sources))
    if c.population:
        why.append(f"--population {c.population}")
    because = " with " + " and ".join(why) if why else ""
    raise NoCandidates(f"no candidate left for {adv.resolution.name} ({adv.resolution.id}){because}; "
                       f"nothing to rank")


__all__ = ["Advice", "Conclusions", "Constraints", "Contribution", "NoCandidates", "Preference", "Rec", "advice_from",
           "consult", "prepare", "rank", "require_candidates", "words", "DISCLAIMER"]
