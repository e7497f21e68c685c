"""Knowledge-base commands as library functions: check, stats, show, search, dump."""

from __future__ import annotations

import difflib
from collections import Counter

from .axes import ITEM_AXIS
from .errors import KnowledgeError, SchemaProblem, UnknownItem
from .kb import Knowledge, _mark_of, categories_of, weight_place  # noqa: F401  (weight_place re-exported)
from .text import norm

# (comparisons are not listed: `kb show` renders through explain.SINGULAR, which has no word for them yet)
SECTIONS = ("diseases", "sources", "routes", "engineering", "references", "evidence", "trials", "categories")


def deep_check(kb: Knowledge) -> list[SchemaProblem]:
    """Checks too slow or too wide for every start: ICD-10-CM codes and the vocabulary."""
    from . import icd

    icd.index(verify=True)  # the SHA-256 of the ICD-10-CM table, not only its stamp (rebuilt if it differs)
    problems: list[SchemaProblem] = []
    for did, d in sorted(kb.diseases.items()):
        code = d.get("icd10cm")
        if code is None:
            continue
        ok = icd.is_valid(code)
        if ok is False:
            loc = kb.where[("diseases", did)]
            line, col = _mark_of(d, "icd10cm")
            problems.append(SchemaProblem(loc.path, line, col, "icd10cm",
                                          f"{code!r} is not an ICD-10-CM code"))
    for cid, c in sorted(kb.categories.items()):
        for fld in ("icd10cm_chapters", "icd10cm_blocks"):
            for code in c.get(fld) or ():
                if icd.is_valid(code) is False:
                    loc = kb.where[("categories", cid)]
                    line, col = _mark_of(c, fld)
                    problems.append(SchemaProblem(loc.path, line, col, fld,
                                                  f"{code!r} is not an ICD-10-CM chapter or block"))
    from .resolve import deep_check_vocabulary

    problems.extend(deep_check_vocabulary(kb))
    # the rule weights are checked on every load (advisor.kb.rule_weight_problems), overlays included
    return problems


def check(kb: Knowledge) -> None:
    problems = deep_check(kb)
    if problems:
        raise KnowledgeError(problems)


def stats(kb: Knowledge) -> dict:
    ev = kb.evidence.values()
    return {
        "files": len(kb.files),
        "diseases": len(kb.diseases),
        "categories": len(kb.categories),
        "sources": len(kb.sources),
        "routes": len(kb.routes),
        "engineering": len(kb.engineering),
        "references": len(kb.references),
        "evidence": len(kb.evidence),
        "trials": len(kb.trials),
        "comparisons": len(kb.comparisons),
        "evidence_by_model": dict(sorted(Counter(e["model"] for e in ev).items())),
        "evidence_by_source": dict(sorted(Counter(e["source"] for e in ev).items())),
        "evidence_by_direction": dict(sorted(Counter(e["direction"] for e in ev).items())),
        "evidence_by_review": {
            r: sum(1 for e in ev if any(t == r or t.startswith(r + ":") for t in e["cites"]))
            for r in ("heo2018", "cai2020")
        },
        "table2_rows_covered": len({e["table2"] for e in ev if e.get("table2")}),
        "flagged_references": sorted(k for k, r in kb.references.items() if r.get("mismatch")),
    }


def find(kb: Knowledge, item: str) -> tuple[str, dict]:
    """Find an id in any section (or a 'review:N' citation); raise UnknownItem with suggestions."""
    for section in SECTIONS:
        store = kb.section(section)
        if item in store:
            return section, store[item]
    key = kb.resolve_cite(item) if ":" in item else None
    if key:
        return "references", kb.references[key]
    for tr in kb.trials.values():
        if tr.get("registry") and tr["registry"].lower() == item.lower():
            return "trials", tr
    import difflib

    pool = [i for s in SECTIONS for i in kb.section(s)]
    raise UnknownItem("id", item, difflib.get_close_matches(item, pool, n=3, cutoff=0.6))


def pointers(kb: Knowledge, section: str, rid: str) -> dict[str, list[str]]:
    """Everything that points to the record ``rid`` of ``section``."""
    out: dict[str, list[str]] = {}

    def add(k, v):
        out.setdefault(k, [])
        if v not in out[k]:
            out[k].append(v)

    if section in ("sources", "engineering"):
        axis = {"sources": "source", "engineering": "engineering"}[section]
        for cid, cmp in sorted(kb.comparisons.items()):
            if cmp["axis"] == axis and rid in [cmp.get("better"), *(cmp.get("worse") or ()), *(cmp.get("tie") or ())]:
                add("comparisons", cid)
    if section == "diseases":
        for e in kb.evidence_by_disease.get(rid, ()):
            add("evidence", e)
        for k in kb.children.get(rid, ()):
            add("children", k)
        for t, tr in kb.trials.items():
            if tr["disease"] == rid:
                add("trials", t)
        for cid, cmp in sorted(kb.comparisons.items()):
            if rid in (cmp.get("diseases") or ()):
                add("comparisons", cid)
    elif section in ("sources", "routes", "engineering"):
        fld = ITEM_AXIS[section]
        for eid, ev in sorted(kb.evidence.items()):
            v = ev.get(fld)
            if v == rid or (isinstance(v, list) and rid in v):
                add("evidence", eid)
        if section == "sources":
            for sid, s in sorted(kb.sources.items()):
                if s.get("parent") == rid:
                    add("parts", sid)
    elif section == "references":
        for e in kb.evidence_by_reference.get(rid, ()):
            add("evidence", e)
        for sec in ("sources", "routes", "engineering", "trials", "comparisons"):
            for oid, rec in sorted(kb.section(sec).items()):
                toks = list(rec.get("cites") or ())
                for p in rec.get("properties") or ():
                    toks += p.get("cites") or []
                if any(kb.resolve_cite(t) == rid for t in toks):
                    add(sec, oid)
    elif section == "categories":
        for d in kb.diseases_by_category.get(rid, ()):
            add("diseases", d)
        for cid, cmp in sorted(kb.comparisons.items()):
            if rid in (cmp.get("organ"), cmp.get("process")):
                add("comparisons", cid)
    elif section == "trials":
        for eid, ev in sorted(kb.evidence.items()):
            if ev.get("trial") == rid:
                add("evidence", eid)
    return out


def search(kb: Knowledge, text: str, limit: int = 30) -> list[tuple[str, str, str]]:
    """Case-insensitive search over ids, names, synonyms, effects and titles."""
    q = norm(text)
    if not q:
        return []
    hits: list[tuple[int, str, str, str]] = []
    for section in SECTIONS:
        for rid, rec in kb.section(section).items():
            fields = [rid, rec.get("name", ""), rec.get("title", ""), rec.get("effect", ""),
                      rec.get("authors", ""), *(rec.get("synonyms") or ()), *(rec.get("abbreviations") or ()),
                      *(rec.get("cargo") or ())]
            normed = [norm(f) for f in fields if f]
            if any(q == f for f in normed[:2]):
                rank = 0
            elif any(q in f for f in normed):
                rank = 1
            else:
                continue
            label = rec.get("name") or rec.get("title") or rec.get("effect") or ""
            hits.append((rank, section, rid, label))
    hits.sort(key=lambda h: (h[0], SECTIONS.index(h[1]), h[2]))
    return [(s, r, lab) for _, s, r, lab in hits[:limit]]


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def dump(kb: Knowledge) -> dict:
    """The whole knowledge base (the shape of docs/output-contract.md), deterministic."""
    refs = {k: {"authors": r["authors"], "title": r["title"], "journal": r["journal"], "year": r["year"],
                "cited_in": dict(sorted(r["cited_in"].items())),
                **({"also_numbered": {rv: list(ns) for rv, ns in sorted(r["also_numbered"].items())}}
                   if r.get("also_numbered") else {}),
                **({"mismatch": True} if r.get("mismatch") else {}),
                **({"note": r["note"]} if r.get("note") else {})}
            for k, r in sorted(kb.references.items())}

    def cat_items(section, extra):
        out = []
        for rid, rec in sorted(kb.section(section).items()):
            item = {"id": rid, "name": rec["name"]}
            for f in extra:
                item[f] = _plain(rec.get(f))
            item["citations"] = kb.citations(rec)
            out.append(item)
        return out

    return {
        "references": refs,
        "sources": cat_items("sources", ["parent", "synonyms", "properties"]),
        "routes": cat_items("routes", ["invasiveness", "delivery", "reaches", "synonyms", "properties"]),
        "engineering": cat_items("engineering", ["purposes", "fits", "organs", "populations", "synonyms", "properties"]),
        "categories": [{"id": k, "name": c["name"], "kind": c["kind"], **({"within": c["within"]} if c.get("within") else {})}
                       for k, c in sorted(kb.categories.items())],
        "diseases": [
            {"id": k, "name": d["name"], "synonyms": list(d.get("synonyms") or []),
             "abbreviations": list(d.get("abbreviations") or []), "parent": d.get("parent"),
             "categories": categories_of(d), "icd10cm": d.get("icd10cm"),
             "organ": d["organ"], "site": d.get("site"), "processes": list(d["processes"]),
             "populations": list(d.get("populations") or [])}
            for k, d in sorted(kb.diseases.items())
        ],
        "evidence": [
            {"id": k, "source": e["source"], "vesicle": e["vesicle"], "species": e["species"],
             "model": e["model"], "disease": e["disease"], "route": e.get("route"),
             "engineering": list(e.get("engineering") or []), "cargo": list(e.get("cargo") or []),
             "direction": e["direction"], "effect": e["effect"], "citations": kb.citations(e),
             "table2": e.get("table2"), "trial": e.get("trial"), "strength": kb.strength[k] / 1000}
            for k, e in sorted(kb.evidence.items())
        ],
        "comparisons": [
            {"id": k, "axis": c["axis"], "kind": c["kind"], "scope": c.get("scope"), "better": c.get("better"),
             "worse": list(c.get("worse") or []), "tie": list(c.get("tie") or []),
             "diseases": list(c.get("diseases") or []), "scope": c.get("scope"), "organ": c.get("organ"),
             "process": c.get("process"),
             "text": c["text"], "citations": kb.citations(c)}
            for k, c in sorted(kb.comparisons.items())
        ],
        "trials": [
            {"id": t.get("registry"), "key": k, "source": t["source"], "disease": t["disease"],
             "vesicle": t["vesicle"], "intervention": t["intervention"], "route": t.get("route"),
             "patients": t["patients"], "follow_up": t["follow_up"], "status": t["status"],
             "location": t["location"], "citations": kb.citations(t)}
            for k, t in sorted(kb.trials.items())
        ],
        "rules": rules_list(kb),
        "weights": _plain(kb.weights),
    }


def rules_list(kb: Knowledge) -> list[dict]:
    """Every rule as declared (rules/rules.yaml), in stage and priority order."""

    return [rule_json(kb, rid) for rid in rule_ids()]


# ------------------------------------------------------------------------------------------
# rules as data


def rule_ids() -> list[str]:
    from ..rules import RULE_LIST, STAGES

    return [r.id for r in sorted(RULE_LIST, key=lambda r: (STAGES.index(r.stage), r.priority, r.index))]


def rule_json(kb: Knowledge, rule_id: str) -> dict:
    """One rule as declared: conditions (fact, test, text), what it asserts, its weight and citations."""
    from ..rules import RULES

    if rule_id not in RULES:
        raise UnknownItem("rule", rule_id, difflib.get_close_matches(rule_id, list(RULES), n=3, cutoff=0.5))
    r = RULES[rule_id]
    out = r.as_json()
    out["citations"] = kb.citations({"cites": list(r.cites)})
    out["cf"] = kb.weights["rules"].get(rule_id) if r.weight == f"rules.{rule_id}" else None
    return out
