"""Explanations (the model): why, why-not, the rules and citations, as small :class:`Doc` documents.

A Doc is headings, paragraphs, list items and worked arithmetic; :mod:`msc_ev.terminal.rich_docs` prints it
with Rich, :meth:`Doc.markdown` writes Markdown, and the ``*_json`` functions give the same content
as data. Nothing here imports Rich.

Nothing here re-decides what the rules decided. ``why`` reads the contributions, comparisons and
arithmetic the consultation produced. ``why not`` takes every declared rule whose action could
support the item and evaluates its own declared conditions (rules/rules.yaml, through
:func:`msc_ev.rules.interpret.first_failure`) against the consultation's facts, naming the first
condition no fact satisfies; there is no second copy of any condition.
"""

from __future__ import annotations

import difflib

from ..advisor.axes import AXIS_OF, AXIS_WORD, ITEM_AXIS as SUPPORT_AXIS
from ..advisor.consult import AXES, DISCLAIMER, Advice, Rec
from ..advisor.echo import inert, markdown_text
from ..advisor.errors import UnknownItem
from ..advisor.kb import Knowledge
from ..advisor.kbtools import rule_ids, rule_json  # noqa: F401  (rule_json re-exported)
from ..advisor.text import TITLES, cite_label
from ..advisor.scoring import words
from ..advisor.text import norm

SINGULAR = {"diseases": "disease", "sources": "source", "routes": "route", "engineering": "engineering option",
            "references": "reference", "evidence": "evidence item", "trials": "trial", "categories": "category"}
REVIEW_NAME = {"heo2018": "Heo & Kim 2018", "cai2020": "Cai et al. 2020"}


def _fmt(v) -> str:
    if isinstance(v, list):
        if v and isinstance(v[0], dict):
            return "; ".join(", ".join(f"{k}={x}" for k, x in d.items()) for d in v)
        return ", ".join(str(x) for x in v) or "-"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {x}" for k, x in v.items()) or "-"
    return "-" if v is None else str(v)


# ------------------------------------------------------------------------------------------
# a tiny document model: one explanation, two renderings


class Doc:
    """Headings, paragraphs, list items and code lines; rendered to Rich or Markdown."""

    def __init__(self):
        self.blocks: list[tuple] = []

    def h(self, text: str) -> "Doc":
        self.blocks.append(("h", text))
        return self

    def p(self, text: str, style: str | None = None) -> "Doc":
        self.blocks.append(("p", text, style))
        return self

    def li(self, text: str, level: int = 0, style: str | None = None) -> "Doc":
        self.blocks.append(("li", text, level, style))
        return self

    def code(self, lines: list[str]) -> "Doc":
        self.blocks.append(("code", list(lines)))
        return self

    def note(self, text: str = DISCLAIMER) -> "Doc":
        self.blocks.append(("note", text))
        return self

    def extend(self, other: "Doc") -> "Doc":
        self.blocks += other.blocks
        return self


    def markdown(self) -> str:
        """The document as Markdown; text from the knowledge or the input made inert and its HTML
        literal (advisor/echo.py ``markdown_text``)."""
        md = markdown_text
        out: list[str] = []
        prev = None
        for b in self.blocks:
            kind = b[0]
            if kind != "li" and prev == "li":
                out.append("")
            if kind == "h":
                out += [f"## {md(b[1])}", ""]
            elif kind == "p":
                out += [md(b[1], keep_newlines=True), ""]
            elif kind == "li":
                out.append(f"{'  ' * b[2]}- {md(b[1])}")
            elif kind == "code":
                out += ["```", *(inert(line) for line in b[1]), "```", ""]
            elif kind == "note":
                out += [f"> _{md(b[1])}_", ""]
            prev = kind
        if prev == "li":
            out.append("")
        return "\n".join(out)


# ------------------------------------------------------------------------------------------
# items


def find_item(kb: Knowledge, text: str) -> tuple[str, str]:
    """(axis, id) of a source, route or engineering option given by id, name or synonym."""
    t = text.strip()
    for axis in AXES:
        cat = kb.section(axis)
        if t in cat:
            return axis, t
        if t.lower() in cat:
            return axis, t.lower()
    n = norm(t)
    for axis in AXES:
        for rid, rec in sorted(kb.section(axis).items()):
            if n and n in {norm(rid), norm(rec["name"]), *(norm(s) for s in rec.get("synonyms") or ())}:
                return axis, rid
    pool = [i for axis in AXES for i in kb.section(axis)]
    raise UnknownItem("item", text, difflib.get_close_matches(t.lower(), pool, n=3, cutoff=0.5))


def _label(kb: Knowledge, axis: str, item: str) -> str:
    rec = kb.section(axis).get(item)
    return f"{AXIS_WORD[axis]} {item}" + (f" ({rec['name']})" if rec and rec["name"] != item else "")


def _cites(kb: Knowledge, keys) -> list[str]:
    return [cite_label(kb, k) for k in keys]


def _rule_cites(kb: Knowledge, rule_id: str) -> list[str]:
    from ..rules import RULES

    meta = RULES.get(rule_id)
    return kb.citations({"cites": list(meta.cites)}) if meta else []


def _head(adv: Advice) -> str:
    res = adv.resolution
    cons = {k: v for k, v in adv.constraints.as_json().items() if v}
    extra = ("; constraints: " + ", ".join(f"{k}={v}" for k, v in cons.items())) if cons else ""
    read = "".join(f"; read as: {n}" for n in res.notes)
    return f"Disease: {res.name} ({res.id}, matched by {res.matched_by}){read}{extra}"


def _position(adv: Advice, rec: Rec) -> str:
    n = len(adv.recs[rec.axis])
    return (f"rank {rec.rank} of {n} {TITLES[rec.axis].lower()}, score {rec.score:.3f} ({words(rec.score)}), "
            f"strongest evidence: {rec.level or '-'}")


# ------------------------------------------------------------------------------------------
# why


def _contribution_line(c) -> str:
    ev = f", evidence {', '.join(c.evidence)}" if c.evidence else ""
    return f"rule {c.rule}: cf {c.cf:+.3f}, tier {c.tier} ({c.basis}){ev}"


def _blocked_for(adv: Advice, axis: str, iid: str) -> list[dict]:
    ax = SUPPORT_AXIS[axis]
    return [b for b in adv.blocked if b["axis"] == ax and b["item"] == iid]


def why_doc(kb: Knowledge, adv: Advice, item: str) -> Doc:
    """Every contribution behind ``item``: its rule, tier and basis, citations, and the arithmetic."""
    axis, iid = find_item(kb, item)
    rec = next((r for r in adv.recs[axis] if r.id == iid), None)
    doc = Doc().h(f"Why {iid} for {adv.resolution.name}?").p(_head(adv))
    if rec is None:
        doc.p(f"{_label(kb, axis, iid)} is not in the ranking. Here is why not:")
        return doc.extend(why_not_doc(kb, adv, iid, _with_head=False))
    doc.p(f"{_label(kb, axis, iid)}: {_position(adv, rec)}")
    doc.p(f"Tier {rec.tier} ({rec.basis}): the best tier among its supporting contributions that are at least "
          "as strong as the strongest evidence against it; candidates are ordered by tier, then by score, and a "
          "comparison made in this disease lifts the candidate it favours over the ones it names.")
    doc.p(f"Contributions ({len(rec.support)}):")
    for i, c in enumerate(rec.support, 1):
        doc.li(f"{i}. {_contribution_line(c)}")
        doc.li(c.text, 1)
        for lab in _cites(kb, c.citations):
            doc.li(f"cites {lab}", 1)
    if rec.preferences:
        doc.p(f"The reviews' comparisons (net preference in this disease {rec.preference:+d}):")
        for p in rec.preferences:
            eff = {1: "favours it", -1: "favours another over it", 0: "a tie: no preference"}[p.effect]
            how = ("made in this disease: it orders the candidates it names" if p.scope == "disease" else
                   f"about {'the cells' if p.scope == 'cells' else 'the ' + p.scope} in general: a contribution "
                   "to the favoured candidate's score, never a reordering")
            doc.li(f"{p.comparison} ({p.rule}): {eff}; {how}. {p.text}")
            for lab in _cites(kb, p.citations):
                doc.li(f"cites {lab}", 1)
    blocked = _blocked_for(adv, axis, iid)
    if blocked:
        doc.p("Evidence not transferred to it:")
        for b in blocked:
            ev = f" ({b['evidence']})" if b["evidence"] else ""
            doc.li(f"{b['rule']}{ev}: {b['reason']}")
    doc.p("Combination (MYCIN certainty factors, strongest first):")
    doc.code(rec.arithmetic or [f"one contribution: score = {rec.score:.3f}"])
    doc.p(f"Score: {rec.score:.3f} ({words(rec.score)})")
    return doc.note()


def why_json(kb: Knowledge, adv: Advice, item: str) -> dict:
    axis, iid = find_item(kb, item)
    rec = next((r for r in adv.recs[axis] if r.id == iid), None)
    out = {"query": {"text": adv.text, "disease": adv.resolution.as_json(),
                     "constraints": adv.constraints.as_json()},
           "axis": axis, "item": iid, "ranked": rec is not None}
    if rec is not None:
        out.update(rec.as_json())
        out["arithmetic"] = list(rec.arithmetic)
        out["blocked"] = [{k: b[k] for k in ("rule", "evidence", "reason")} for b in _blocked_for(adv, axis, iid)]
    else:
        out["why_not"] = why_not_json(kb, adv, iid)
    out["disclaimer"] = DISCLAIMER
    return out


# ------------------------------------------------------------------------------------------
# why not: the declared conditions, evaluated against this consultation's facts


def _rules_for(axis: str, iid: str) -> list:
    """Rules whose action contributes to ``axis`` and could name ``iid``, with the test that names it."""
    from ..rules import RULE_LIST
    from ..rules.declare import Ref

    out = []
    ax = SUPPORT_AXIS[axis]
    for r in RULE_LIST:
        if r.action != "contribute" or r.params["axis"] != ax:
            continue
        it = r.params["item"]
        if isinstance(it, Ref):
            out.append((r, {it.bind: {it.field: iid}}))
        elif it == iid:
            out.append((r, {}))
    return out


def _fact_words(f: dict) -> str:
    key = {"disease": "disease", "evidence": "evidence", "option": "engineering",
           "route": "route", "contribution": "item", "comparison": "comparison"}.get(f["kind"])
    return f"{f['kind']} {f.get(key, f['id'])}" if key else f["id"]


def _failure_text(fail) -> str:
    from ..rules.declare import test_text

    need = f"needs {fail.condition.text}"
    if fail.nearest is None:
        return f"{need}: the consultation has none"
    t = fail.failed_test
    if t is None:
        return f"{need}: the nearest, {_fact_words(fail.nearest)}, does not name this item"
    return f"{need}: the nearest, {_fact_words(fail.nearest)}, fails '{test_text(t)}' (its {t.field} is {fail.nearest.get(t.field)!r})"


def _evidence_of(kb: Knowledge, axis: str, iid: str) -> list[str]:
    ax = SUPPORT_AXIS[axis]
    if ax == "engineering":
        return sorted(e for e, ev in kb.evidence.items() if iid in (ev.get("engineering") or ()))
    return sorted(e for e, ev in kb.evidence.items() if ev.get(ax) == iid)


def _evidence_fate(kb: Knowledge, adv: Advice, eid: str, axis: str | None = None) -> str:
    """Why an evidence item did or did not count here (for ``axis``, when given), from the facts the
    rules left."""
    ev = kb.evidence[eid]
    did = ev["disease"]
    found = next((f for f in adv.derived if f["kind"] == "contribution" and f["origin"] == "evidence"
                  and f["evidence"] == eid and (axis is None or f["axis"] == axis)), None)
    if found:
        return f"{eid} ({did}): counted at tier {found['tier']} ({found['basis']})"
    rel = next((r for r in adv.relations if r["disease"] == did), None)
    if axis == "route" and rel is not None and not rel.get("same_organ"):
        return (f"{eid} ({did}): its route is not transferred: a study of another organ system "
                f"({kb.diseases[did]['organ']}) says nothing of where a route delivers here")
    block = next((b for b in adv.blocked if b["axis"] == "disease" and b["item"] == did), None)
    asserted = any(f["kind"] == "evidence" and f["evidence"] == eid for f in adv.facts)
    if ev["model"] == "clinical-registered":
        return f"{eid} ({did}): a registered trial without results: context, not evidence"
    if block:
        return f"{eid} ({did}): not transferred, {block['rule']}: {block['reason']}"
    if rel is None:
        d = kb.diseases[did]
        res = adv.resolution
        if did == res.id:
            return f"{eid} ({did}): carries no weight (its reference is flagged as a mismatch)"
        same = "same organ system" if d["organ"] == res.organ else f"another organ system ({d['organ']})"
        shared = [p for p in d["processes"] if p in res.processes]
        proc = f"shares {', '.join(shared)}" if shared else f"no shared process ({', '.join(d['processes'])})"
        return f"{eid} ({did}): not transferred: {same}, {proc}"
    if not asserted:
        return f"{eid} ({did}): carries no weight (its reference is flagged as a mismatch)"
    return f"{eid} ({did}): related as {rel['basis']} ({rel['how']})"


def why_not_json(kb: Knowledge, adv: Advice, item: str) -> dict:
    """What ``item`` got, what it lacked: each rule that could support it, with the first of its
    declared conditions that this consultation's facts do not satisfy."""
    from ..rules import RULES
    from ..rules.interpret import Facts, first_failure

    axis, iid = find_item(kb, item)
    rec = next((r for r in adv.recs[axis] if r.id == iid), None)
    out: dict = {"query": {"text": adv.text, "disease": adv.resolution.as_json(),
                           "constraints": adv.constraints.as_json()},
                 "axis": axis, "item": iid, "name": kb.section(axis)[iid]["name"]}
    excl = [x for x in adv.excluded if x["id"] == iid and x["axis"] == SUPPORT_AXIS[axis]]
    if excl:
        out["status"] = "excluded"
        out["exclusion"] = [{"rule": x["rule"], "reason": x["reason"], "description": RULES[x["rule"]].description,
                             "citations": x["citations"]} for x in excl]
    elif rec is None:
        out["status"] = "unsupported"
    elif rec.tier == 5:
        out["status"] = "opposed"
    else:
        out["status"] = "ranked"
    if rec is not None:
        out["got"] = {"rank": rec.rank, "of": len(adv.recs[axis]), "score": round(rec.score, 3),
                      "tier": rec.tier, "words": words(rec.score), "level": rec.level}
        out["opposing"] = [c.as_json() for c in rec.support if c.cf < 0]
    else:
        out["got"] = None
        out["opposing"] = []
    out["blocked"] = [{k: b[k] for k in ("rule", "evidence", "reason")} for b in _blocked_for(adv, axis, iid)]
    facts = Facts([*adv.facts, *adv.derived])
    made = {f["rule"] for f in adv.derived if f["kind"] == "contribution" and f["item"] == iid
            and AXIS_OF[f["axis"]] == axis}
    checks = []
    for rule, fixed in _rules_for(axis, iid):
        entry = {"rule": rule.id, "description": rule.description,
                 "citations": kb.citations({"cites": list(rule.cites)})}
        if rule.id in made:
            entry.update(status="fired", text="fired: see 'why' for its contributions")
        else:
            fail = first_failure(rule, facts, fixed)
            if fail is None:  # pragma: no cover - the engine and the declarations agree (a test checks it)
                entry.update(status="fired", text="its conditions hold")
            else:
                entry.update(status="failed", text=_failure_text(fail), condition=fail.condition.as_json())
        checks.append(entry)
    out["rules"] = checks
    evid = _evidence_of(kb, axis, iid)
    out["evidence"] = [_evidence_fate(kb, adv, e, SUPPORT_AXIS[axis]) for e in evid[:12]]
    out["evidence_count"] = len(evid)
    out["cautions"] = [c for c in adv.cautions if c["id"] == "es-ethics" and iid == "es-msc"
                       or (c["id"].startswith("opposing-evidence:")
                           and kb.evidence.get(c["id"].split(":", 1)[1], {}).get(SUPPORT_AXIS[axis]) == iid)]
    from . import whatif

    found = whatif.to_rank_first(kb, adv.text, adv.constraints, iid)
    out["to_rank_first"] = found
    out["to_rank_first_text"] = whatif.to_rank_first_text(adv, iid, found, axis)
    out["disclaimer"] = DISCLAIMER
    return out


def why_not_doc(kb: Knowledge, adv: Advice, item: str, _with_head: bool = True) -> Doc:
    data = why_not_json(kb, adv, item)
    axis, iid = data["axis"], data["item"]
    doc = Doc()
    if _with_head:
        doc.h(f"Why not {iid} for {adv.resolution.name}?").p(_head(adv))
    label = _label(kb, axis, iid)
    status = data["status"]
    if status == "excluded":
        for x in data["exclusion"]:
            doc.p(f"{label} was excluded by rule {x['rule']}: {x['reason']}.")
            for lab in _cites(kb, x["citations"]):
                doc.li(f"cites {lab}", 1)
    elif status == "unsupported":
        doc.p(f"{label} got no support for {adv.resolution.name}.")
    else:
        g = data["got"]
        doc.p(f"{label} is ranked {g['rank']} of {g['of']}: tier {g['tier']}, score {g['score']:.3f} ({g['words']}).")
        if status == "ranked" and g["rank"] == 1:
            doc.p(f"It is first: 'why {iid}' shows its support.")
    for c in data["opposing"]:
        doc.li(f"counting against it: rule {c['rule']}: cf {c['cf']:+.3f}" +
               (f", evidence {', '.join(c['evidence'])}" if c["evidence"] else ""))
        doc.li(c["text"], 1)
    for b in data["blocked"]:
        ev = f" ({b['evidence']})" if b["evidence"] else ""
        doc.li(f"blocked by {b['rule']}{ev}: {b['reason']}")
    for cj in data["cautions"]:
        doc.p(f"Caution {cj['id']}: {cj['text']}")
    if data["rules"]:
        doc.p(f"Rules that could support {iid} (their declared conditions, checked against this consultation):")
        mark = {"fired": "+", "failed": "x"}
        for chk in data["rules"]:
            doc.li(f"[{mark[chk['status']]}] {chk['rule']}: {chk['text']}")
    else:
        doc.p(f"No rule in the rule base concludes about {iid}.")
    if data["evidence_count"]:
        doc.p(f"Evidence items about {iid} in the knowledge base ({data['evidence_count']}):")
        for line in data["evidence"]:
            doc.li(line)
        if data["evidence_count"] > len(data["evidence"]):
            doc.li(f"... and {data['evidence_count'] - len(data['evidence'])} more")
    else:
        doc.p(f"The knowledge base holds no evidence item about {iid}.")
    doc.p(data["to_rank_first_text"])
    return doc.note()


# ------------------------------------------------------------------------------------------
# rules


def rules_doc(kb: Knowledge, rule_id: str | None = None) -> Doc:
    from ..rules import RULES

    doc = Doc()
    if rule_id is None:
        doc.h(f"Rule base: {len(RULES)} rules, by stage and priority")
        stage = None
        for rid in rule_ids():
            r = RULES[rid]
            if r.stage != stage:
                stage = r.stage
                doc.p(f"Stage {stage}:")
            cf = f" (cf {kb.weights['rules'][rid]:+.2f})" if r.weight == f"rules.{rid}" else ""
            doc.li(f"{rid}{cf}: {r.description}")
        doc.p("'rules ID' shows a rule's conditions and citations; '--format markdown' prints the rule book.")
        return doc.note()
    r = rule_json(kb, rule_id)
    doc.h(f"Rule {r['id']}")
    doc.p(f"Stage: {r['stage']}; priority {r['priority']}"
          + (f"; certainty factor {r['cf']:+.2f} (knowledge/weights.yaml)" if r["cf"] is not None else "")
          + (f"; weight: {r['weight']}" if r["weight"] and r["cf"] is None else ""))
    doc.p(r["description"])
    doc.p("If:")
    for i, cond in enumerate(r["conditions"]):
        doc.li(("and " if i else "") + cond["text"])
    doc.p(f"Then: {r['asserts']['text']}")
    if r["citations"]:
        doc.p("Citations:")
        for lab in _cites(kb, r["citations"]):
            doc.li(lab)
    else:
        doc.p("Citations: none (a mechanism of the advisor, not a claim of the reviews)")
    return doc.note()


def rule_book(kb: Knowledge) -> str:
    """The whole rule base as a Markdown handout, generated from the declarations."""
    from ..rules import RULES, STAGES

    lines = ["# The msc-ev rule book", "", f"> _{DISCLAIMER}_", "",
             f"{len(RULES)} rules, declared once in `rules/rules.yaml` and compiled into durable-rules. "
             "Lower priorities fire first. Tiers come from `rules/hierarchy.yaml`; weights from "
             "`knowledge/weights.yaml`.", ""]
    for stage in STAGES:
        ids = [rid for rid in rule_ids() if RULES[rid].stage == stage]
        if not ids:
            continue
        lines += [f"## Stage {stage}", ""]
        for rid in ids:
            r = rule_json(kb, rid)
            cf = f", certainty factor {r['cf']:+.2f}" if r["cf"] is not None else ""
            lines += [f"### `{rid}` (priority {r['priority']}{cf})", "", r["description"], "", "If:", ""]
            lines += [f"- {c['text']}" for c in r["conditions"]]
            lines += ["", f"Then: {r['asserts']['text']}.", ""]
            if r["citations"]:
                lines += ["Citations: " + "; ".join(cite_label(kb, k) for k in r["citations"]), ""]
    return "\n".join(lines)


def cite_key(kb: Knowledge, key: str) -> str:
    k = kb.resolve_cite(key.strip()) if key.strip() else None
    if k is None and key.strip().lower() in kb.references:
        k = key.strip().lower()
    if k is None:
        raise UnknownItem("reference", key, difflib.get_close_matches(key.lower(), list(kb.references), n=3, cutoff=0.5))
    return k


def cite_json(kb: Knowledge, key: str) -> dict:
    from ..rules import RULES

    from ..advisor.kbtools import pointers

    k = cite_key(kb, key)
    ref = kb.references[k]
    used_by = []
    for eid in kb.evidence_by_reference.get(k, ()):
        ev = kb.evidence[eid]
        used_by.append({"id": eid, "disease": ev["disease"], "source": ev["source"], "route": ev.get("route"),
                        "model": ev["model"], "direction": ev["direction"], "effect": ev["effect"]})
    rules_citing = [rid for rid in rule_ids() if k in kb.citations({"cites": list(RULES[rid].cites)})]
    ptr = pointers(kb, "references", k)
    return {"key": k, "label": cite_label(kb, k), "authors": ref["authors"], "title": ref["title"],
            "journal": ref["journal"], "year": ref["year"], "cited_in": dict(sorted(ref["cited_in"].items())),
            "also_numbered": dict(ref.get("also_numbered") or {}), "mismatch": bool(ref.get("mismatch")),
            "note": ref.get("note"), "evidence": used_by, "rules": rules_citing,
            "records": {s: ids for s, ids in ptr.items() if s != "evidence"}}


def cite_doc(kb: Knowledge, key: str) -> Doc:
    c = cite_json(kb, key)
    doc = Doc().h(f"Reference {c['key']}")
    doc.p(f"{c['authors']}. {c['title']}. {c['journal']} {c['year']}.")
    if c["cited_in"]:
        doc.p("Cited in:")
        for review, n in c["cited_in"].items():
            also = c["also_numbered"].get(review)
            more = f" (also numbered {', '.join(str(x) for x in also)})" if also else ""
            doc.li(f"{REVIEW_NAME.get(review, review)} as reference [{n}]{more}")
    elif c["key"] in REVIEW_NAME:
        doc.p("One of the two reviews the knowledge base is built from.")
    if c["mismatch"]:
        doc.p("Flagged: the paper does not match what the review cites it for; evidence resting on it carries no weight.")
    if c["note"]:
        doc.p(f"Note: {c['note']}")
    if c["evidence"]:
        doc.p(f"Evidence items using it ({len(c['evidence'])}):")
        for e in c["evidence"][:50]:
            route = f", {e['route']}" if e["route"] else ""
            doc.li(f"{e['id']} ({e['source']}{route}; {e['disease']}; {e['model']}; {e['direction']})")
            doc.li(e["effect"], 1)
        if len(c["evidence"]) > 50:
            doc.li(f"... and {len(c['evidence']) - 50} more")
    else:
        doc.p("No evidence item uses it.")
    for sec, ids in c["records"].items():
        doc.p(f"Cited by {sec}: {', '.join(ids)}")
    if c["rules"]:
        doc.p(f"Cited by rules: {', '.join(c['rules'])}")
    return doc.note()


from .how import (  # noqa: E402,F401  (views of the chain, re-exported)
    explain_dot, explain_markdown, explain_mermaid,
)

__all__ = ["rule_book", "Doc", "cite_doc", "cite_json", "explain_dot", "explain_markdown", "explain_mermaid",
           "find_item", "rule_json", "rules_doc",
           "why_doc", "why_json", "why_not_doc", "why_not_json"]
