"""Explanations: kb show, why, why-not, how (the trace), rules and cite.

Every explanation is built as a small :class:`Doc` (headings, paragraphs, list items, worked
arithmetic) and rendered to the terminal (Rich, with all data escaped) or to Markdown, so the
command line, the interactive consultation and handouts say the same thing.

Nothing here re-decides what the rules decided. ``why`` reads the contributions and the
arithmetic the consultation produced (``advisor.scoring.combine``); ``why not`` compares the
rules' own metadata (``rules.RULES``) and the declarative :data:`CAN_CONCLUDE` map with the facts
the consultation derived (classes, relatives, populations, supports, exclusions).
"""

from __future__ import annotations

import difflib
import textwrap
from dataclasses import dataclass, replace

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from .consult import AXES, DISCLAIMER, Advice, Constraints, Rec, consult
from .errors import UnknownItem
from .kb import Knowledge, categories_of
from .render import TITLES, cite_label
from .scoring import words
from .text import norm

SINGULAR = {"diseases": "disease", "sources": "source", "routes": "route", "engineering": "engineering option",
            "references": "reference", "evidence": "evidence item", "trials": "trial", "categories": "category"}
AXIS_WORD = {"sources": "source", "routes": "route", "engineering": "engineering option"}
SUPPORT_AXIS = {"sources": "source", "routes": "route", "engineering": "engineering"}
REVIEW_NAME = {"heo2018": "Heo & Kim 2018", "cai2020": "Cai et al. 2020"}


def _fmt(v) -> str:
    if isinstance(v, list):
        if v and isinstance(v[0], dict):
            return "; ".join(", ".join(f"{k}={x}" for k, x in d.items()) for d in v)
        return ", ".join(str(x) for x in v) or "-"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {x}" for k, x in v.items()) or "-"
    return "-" if v is None else str(v)


def show_record(kb: Knowledge, section: str, rec: dict, console: Console) -> None:
    from .kbtools import pointers

    idf = "key" if section in ("references", "trials") else "id"
    rid = rec[idf]
    loc = kb.where[(section, rid)]
    console.print(f"[bold]{escape(SINGULAR[section])} {escape(rid)}[/bold]  ({escape(loc.path)}:{loc.line})")
    for k, v in rec.items():
        if k in (idf, "properties", "cites"):
            continue
        console.print(f"  {escape(k)}: {escape(_fmt(v))}")
    for p in rec.get("properties") or ():
        cites = "; ".join(cite_label(kb, c) for c in kb.citations(p))
        console.print(f"  property {escape(p['name'])} = {escape(p['value'])}: {escape(p['text'])} [{escape(cites)}]")
    if rec.get("cites"):
        console.print("  citations:")
        for key in kb.citations(rec):
            console.print(f"    - {escape(cite_label(kb, key))}")
    if section == "evidence":
        console.print(f"  strength: {kb.strength[rid] / 1000:.3f} (model x species x vesicle)")
    refs = pointers(kb, section, rid)
    if refs:
        console.print("  pointed to by:")
        for k, ids in refs.items():
            console.print(f"    {escape(k)}: {escape(', '.join(ids))}")


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

    def print(self, console: Console) -> None:
        width = max(40, console.width)

        def out(text: str, first: str, rest: str, style: str | None = None) -> None:
            lines = textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest,
                                  break_long_words=False, break_on_hyphens=False) or [first.rstrip()]
            for line in lines:
                body = escape(line)
                console.print(f"[{style}]{body}[/{style}]" if style else body, soft_wrap=True, highlight=False)

        for b in self.blocks:
            kind = b[0]
            if kind == "h":
                out(b[1], "", "", "bold")
            elif kind == "p":
                out(b[1], "", "", b[2])
            elif kind == "li":
                _, text, level, style = b
                pad = "  " * (level + 1)
                out(text, pad + "- ", pad + "  ", style)  # hanging indent under the text
            elif kind == "code":
                for line in b[1]:
                    console.print(escape("    " + line), soft_wrap=True, highlight=False)
            elif kind == "note":
                out("Note: " + b[1], "", "", "dim")

    def markdown(self) -> str:
        out: list[str] = []
        prev = None
        for b in self.blocks:
            kind = b[0]
            if kind != "li" and prev == "li":
                out.append("")
            if kind == "h":
                out += [f"## {b[1]}", ""]
            elif kind == "p":
                out += [b[1], ""]
            elif kind == "li":
                out.append(f"{'  ' * b[2]}- {b[1]}")
            elif kind == "code":
                out += ["```", *b[1], "```", ""]
            elif kind == "note":
                out += [f"> _{b[1]}_", ""]
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
    return f"Disease: {res.name} ({res.id}, matched by {res.matched_by}){extra}"


def _position(adv: Advice, rec: Rec) -> str:
    n = len(adv.recs[rec.axis])
    return (f"rank {rec.rank} of {n} {TITLES[rec.axis].lower()}, score {rec.score:.3f} ({words(rec.score)}), "
            f"strongest evidence: {rec.level or '-'}")


# ------------------------------------------------------------------------------------------
# why


def why_doc(kb: Knowledge, adv: Advice, item: str) -> Doc:
    """Every contribution behind ``item``, with citations and the combination written out."""
    axis, iid = find_item(kb, item)
    rec = next((r for r in adv.recs[axis] if r.id == iid), None)
    doc = Doc().h(f"Why {iid} for {adv.resolution.name}?").p(_head(adv))
    if rec is None:
        doc.p(f"{_label(kb, axis, iid)} is not in the ranking. Here is why not:")
        return doc.extend(why_not_doc(kb, adv, iid, _with_head=False))
    doc.p(f"{_label(kb, axis, iid)}: {_position(adv, rec)}")
    doc.p(f"Contributions ({len(rec.support)}):")
    for i, c in enumerate(rec.support, 1):
        ev = f", evidence {', '.join(c.evidence)}" if c.evidence else ""
        doc.li(f"{i}. rule {c.rule}: cf {c.cf:+.3f}{ev}")
        doc.li(c.text, 1)
        for lab in _cites(kb, c.citations):
            doc.li(f"cites {lab}", 1)
        if not c.citations and not c.evidence:
            cat = kb.section(axis).get(iid) or {}
            for lab in _cites(kb, kb.citations(cat)):
                doc.li(f"catalogue entry cites {lab}", 1)
    doc.p("Combination (MYCIN certainty factors, strongest first):")
    if rec.arithmetic:
        doc.code(rec.arithmetic)
    else:
        doc.code([f"one contribution: score = {rec.score:.3f}"])
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
    else:
        out["why_not"] = why_not_json(kb, adv, iid)
    out["disclaimer"] = DISCLAIMER
    return out


# ------------------------------------------------------------------------------------------
# why not: which rules can conclude about which items (derived from rules/heuristics.py)


@dataclass(frozen=True)
class Can:
    """What a rule can conclude: on which axes, about which item, under which condition."""

    axes: tuple[str, ...]
    item: str | None = None  # a fixed item, or None when the item comes from the data
    via: str = "evidence"  # evidence | rollup | fixed | purpose | reach | fit | invasive
    categories: tuple[str, ...] = ()  # the query must be classified under one of these
    purposes: tuple[str, ...] = ()  # the option must have one of these purposes
    fits: str = ""  # ... and be used for this category
    prefix: str = ""  # ... and have an id starting with this
    needs: str = ""  # another rule that must have fired first
    opposes: bool = False


CAN_CONCLUDE: dict[str, Can] = {
    "ev-exact": Can(("sources", "routes")),
    "ev-related": Can(("sources", "routes")),
    "ev-category": Can(("sources", "routes")),
    "ev-engineering": Can(("engineering",)),
    "ev-source-rollup": Can(("sources",), via="rollup"),
    "gen-uc-perinatal": Can(("sources",), "uc-msc", "fixed", ("perinatal-neonatal",)),
    "gen-uc-gynecological": Can(("sources",), "uc-msc", "fixed", ("female-reproductive",)),
    "gen-bm-bone": Can(("sources",), "bm-msc", "fixed", ("bone", "cartilage-joint", "connective-tissue")),
    "gen-ad-alternative": Can(("sources",), "ad-msc", "fixed", needs="gen-bm-bone"),
    "gen-es-immunomodulation": Can(("sources",), "es-msc", "fixed", ("inflammation", "autoimmunity", "alloimmunity")),
    "gen-exosome-intranasal-cns": Can(("routes",), "intranasal", "fixed", ("nervous-system",)),
    "gen-ev-bbb-intravenous": Can(("routes",), "intravenous", "fixed", ("nervous-system",)),
    "gen-hydrogel-heart": Can(("engineering",), None, "purpose", ("cardiovascular",), ("retention",), fits="cardiovascular"),
    "gen-drug-loading-cancer": Can(("engineering",), None, "purpose", ("neoplasia",),
                                   ("drug-delivery", "targeting", "chemosensitization")),
    "gen-priming-inflammation": Can(("engineering",), None, "purpose", ("inflammation",), ("anti-inflammatory-priming",)),
    "gen-preconditioning-ischemia": Can(("engineering",), None, "purpose", ("ischemia-reperfusion",), ("potency",),
                                       prefix="preconditioning-"),
    "route-reach": Can(("routes",), None, "reach"),
    "route-gentle-neonate": Can(("routes",), None, "invasive", opposes=True),
    "eng-fit": Can(("engineering",), None, "fit"),
}
EXCLUDING = {"sources": ("con-exclude-source", "con-exclude-source-part"), "routes": ("con-route-only",)}


def _or(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _classes(adv: Advice, organ_only: bool = False) -> list[str]:
    return [c["category"] for c in adv.classes if not organ_only or c["ckind"] != "process"]


def _classified(adv: Advice, organ_only: bool = False) -> str:
    cl = _classes(adv, organ_only)
    what = "organ-system or population categories" if organ_only else "categories"
    return f"{adv.resolution.name} is classified under: {', '.join(cl)}" if cl else f"{adv.resolution.name} has no {what}"


def _relevant_cautions(kb: Knowledge, adv: Advice, axis: str, item: str) -> list[dict]:
    out = []
    for cj in adv.cautions:
        if cj["id"].startswith("opposing-evidence:") and axis == "sources":
            eid = cj["id"].split(":", 1)[1]
            if kb.evidence.get(eid, {}).get("source") == item:
                out.append(cj)
        elif cj["id"] == "es-ethics" and item == "es-msc":
            out.append(cj)
    return out


def _without_exclusion(kb: Knowledge, adv: Advice, axis: str, item: str) -> Advice:
    c = adv.constraints
    if axis == "routes":
        new = replace(c, routes=())
    else:
        drop = {item, *kb.source_ancestors(item)}
        new = replace(c, exclude_sources=tuple(s for s in c.exclude_sources if s not in drop))
    return consult(kb, adv.text, new, resolution=adv.resolution)


def _evidence_field(axis: str, ev: dict, item: str) -> bool:
    if axis == "sources":
        return ev["source"] == item
    if axis == "routes":
        return ev.get("route") == item
    return item in (ev.get("engineering") or ())


def _evidence_check(kb: Knowledge, adv: Advice, axis: str, item: str, rec: Rec | None, rule_id: str) -> tuple[str, str]:
    """(status, text) for one evidence rule and one item."""
    used = {e for c in (rec.support if rec else ()) if c.rule == rule_id for e in c.evidence}
    if axis == "engineering":
        used = {e for c in (rec.support if rec else ()) if c.rule == rule_id for e in c.evidence}
    what = {"sources": f"with source {item}", "routes": f"given by route {item}",
            "engineering": f"that used {item}"}[axis]
    q = adv.resolution.id
    related = {r["disease"]: r["relation"] for r in adv.related}
    organ = set(_classes(adv, organ_only=True))
    items = sorted(eid for eid, ev in kb.evidence.items() if _evidence_field(axis, ev, item))
    if rule_id == "ev-engineering":
        scope = "this disease, a relative or a disease of the same organ system"
        pool = [e for e in items if kb.evidence[e]["disease"] == q or kb.evidence[e]["disease"] in related
                or organ & set(categories_of(kb.diseases[kb.evidence[e]["disease"]]))]
    elif rule_id == "ev-exact":
        scope = adv.resolution.name if adv.resolution.curated else "this disease (not curated)"
        pool = [e for e in items if kb.evidence[e]["disease"] == q]
    elif rule_id == "ev-related":
        if not related:
            return "failed", f"needs a parent, child or sibling disease; {adv.resolution.name} has none in the knowledge base"
        scope = "a relative (" + ", ".join(f"{d} ({r})" for d, r in related.items()) + ")"
        pool = [e for e in items if kb.evidence[e]["disease"] in related]
    else:  # ev-category
        if not organ:
            return "failed", ("needs an organ-system or population category; "
                              + _classified(adv, organ_only=False))
        scope = "another disease filed under " + _or(sorted(organ))
        pool = [e for e in items if kb.evidence[e]["disease"] != q and kb.evidence[e]["disease"] not in related
                and organ & set(categories_of(kb.diseases[kb.evidence[e]["disease"]]))]
    if used:
        return "fired", f"fired for {len(used)} evidence item(s): {', '.join(sorted(used))}"
    if not pool:
        return "failed", f"needs an evidence item {what} about {scope}: the knowledge base holds none"
    reasons = []
    for e in pool:
        ev = kb.evidence[e]
        if kb.strength[e] == 0:
            reasons.append(f"{e}: its references are flagged as mismatched, so it carries no weight")
        elif adv.constraints.clinical_only and not ev["model"].startswith("clinical"):
            reasons.append(f"{e}: {ev['model']} evidence set aside by --clinical-only (con-clinical-only)")
        elif rule_id == "ev-category":
            reasons.append(f"{e}: not among the {kb.weights['category_limit']} strongest same-category items "
                           "taken per category")
        else:
            reasons.append(f"{e}: used at a closer match or by another rule")
    return "failed", f"evidence {what} about {scope} was not used: " + "; ".join(reasons)


def _rule_check(kb: Knowledge, adv: Advice, rule_id: str, can: Can, axis: str, item: str,
                rec: Rec | None) -> tuple[str, str] | None:
    """(status, text) for one candidate rule, or None when the rule cannot conclude about item."""
    if axis not in can.axes or (can.item and can.item != item):
        return None
    cat = kb.section(axis).get(item, {})
    fired = [c for c in (rec.support if rec else ()) if c.rule == rule_id]
    if can.via == "evidence":
        return _evidence_check(kb, adv, axis, item, rec, rule_id)
    if can.via == "rollup":
        parts = sorted(s for s, r in kb.sources.items() if r.get("parent") == item)
        if not parts:
            return None
        if fired:
            return "fired", f"fired: evidence for its part(s) counts, {len(fired)} contribution(s)"
        return "failed", f"needs evidence-based support for a part of {item} ({', '.join(parts)}): none was found"
    if fired:
        return "fired", f"fired: cf {fired[0].cf:+.3f}"
    if adv.constraints.clinical_only and not can.opposes:
        return "skipped", "skipped: --clinical-only sets the reviews' generalisations aside"
    classes = set(_classes(adv))
    if can.via == "fixed":
        if can.needs:
            return "failed", (f"needs {can.needs} to have fired first (it did not: "
                              f"{_rule_check(kb, adv, can.needs, CAN_CONCLUDE[can.needs], axis, CAN_CONCLUDE[can.needs].item, None)[1]})")
        return "failed", f"needs the disease classified under {_or(can.categories)}; {_classified(adv)}"
    if can.via == "purpose":
        purposes = cat.get("purposes") or []
        if can.prefix and not item.startswith(can.prefix):
            return None
        if not set(purposes) & set(can.purposes):
            return None  # the rule cannot conclude about this option at all
        if not classes & set(can.categories):
            return "failed", f"needs the disease classified under {_or(can.categories)}; {_classified(adv)}"
        if can.fits and can.fits not in (cat.get("fits") or ()):
            return "failed", f"needs {item} to be used for {can.fits}; it is used for: {', '.join(cat.get('fits') or ['-'])}"
        return "failed", "its conditions hold but it did not fire"  # pragma: no cover
    if can.via == "reach":
        reaches = cat.get("reaches") or []
        if not reaches:
            return "failed", f"needs {item} to reach an organ system; the catalogue lists none for it"
        return "failed", (f"needs the disease classified under an organ system {item} reaches "
                          f"({', '.join(reaches)}); {_classified(adv, organ_only=True)}")
    if can.via == "fit":
        fits = cat.get("fits") or []
        if not fits:
            return "failed", f"needs {item} to be reported for a category; the catalogue lists none for it"
        return "failed", (f"needs the disease classified under a category {item} is used for "
                          f"({', '.join(fits)}); {_classified(adv)}")
    if can.via == "invasive":
        if cat.get("invasiveness") != "high":
            return None
        pops = sorted({p["population"] for p in adv.populations})
        return "not applicable", ("would oppose this highly invasive route for neonates; the consultation "
                                  f"concerns: {', '.join(pops) or 'no stated population'}")
    return None  # pragma: no cover


def why_not_json(kb: Knowledge, adv: Advice, item: str) -> dict:
    """What ``item`` got, what it lacked, and the rule that excluded or opposed it."""
    from ..rules import RULES

    axis, iid = find_item(kb, item)
    rec = next((r for r in adv.recs[axis] if r.id == iid), None)
    out: dict = {"query": {"text": adv.text, "disease": adv.resolution.as_json(),
                           "constraints": adv.constraints.as_json()},
                 "axis": axis, "item": iid, "name": kb.section(axis)[iid]["name"]}
    excl = next((x for x in adv.excluded if x["id"] == iid and SUPPORT_AXIS[axis] == x["axis"]), None)
    basis = rec
    if excl:
        out["status"] = "excluded"
        out["exclusion"] = {"rule": excl["rule"], "reason": excl["reason"],
                            "description": RULES[excl["rule"]].description, "citations": excl["citations"]}
        alt = _without_exclusion(kb, adv, axis, iid)
        basis = next((r for r in alt.recs[axis] if r.id == iid), None)
        out["without_exclusion"] = (
            {"rank": basis.rank, "of": len(alt.recs[axis]), "score": round(basis.score, 3), "words": words(basis.score)}
            if basis else None)
    elif rec is None:
        out["status"] = "unsupported"
    elif rec.score <= 0 or any(c.cf < 0 for c in rec.support):
        out["status"] = "opposed" if rec.score <= 0 else "ranked"
    else:
        out["status"] = "ranked"
    if rec is not None:
        out["got"] = {"rank": rec.rank, "of": len(adv.recs[axis]), "score": round(rec.score, 3),
                      "words": words(rec.score), "level": rec.level}
        out["opposing"] = [c.as_json() for c in rec.support if c.cf < 0]
    out["cautions"] = _relevant_cautions(kb, adv, axis, iid)
    items = sorted(eid for eid, ev in kb.evidence.items() if _evidence_field(axis, ev, iid))
    out["evidence_elsewhere"] = sorted({kb.evidence[e]["disease"] for e in items})
    out["evidence_count"] = len(items)
    checks = []
    for rid, can in CAN_CONCLUDE.items():
        r = _rule_check(kb, adv, rid, can, axis, iid, basis)
        if r is None:
            continue
        status, text = r
        checks.append({"rule": rid, "status": status, "text": text,
                       "conditions": list(RULES[rid].conditions), "citations": _rule_cites(kb, rid)})
    out["rules"] = checks
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
        x = data["exclusion"]
        doc.p(f"{label} was excluded by rule {x['rule']}: {x['reason']}.")
        doc.li(f"{x['rule']}: {x['description']}")
        for lab in _cites(kb, x["citations"]):
            doc.li(f"cites {lab}", 1)
        w = data["without_exclusion"]
        if w:
            doc.p(f"Without the exclusion it would rank {w['rank']} of {w['of']} with score "
                  f"{w['score']:.3f} ({w['words']}).")
        else:
            doc.p("Even without the exclusion it would get no support.")
    elif status == "unsupported":
        doc.p(f"{label} got no support for {adv.resolution.name}: no rule concluded anything about it.")
    else:
        g = data["got"]
        doc.p(f"{label} got score {g['score']:.3f} ({g['words']}), rank {g['rank']} of {g['of']}.")
        if status == "ranked" and not data["opposing"]:
            doc.p(f"It is not left out: 'why {iid}' shows its support.")
    if data.get("opposing"):
        doc.p("Counting against it:")
        for c in data["opposing"]:
            ev = f", evidence {', '.join(c['evidence'])}" if c["evidence"] else ""
            doc.li(f"rule {c['rule']}: cf {c['cf']:+.3f}{ev}")
            doc.li(c["text"], 1)
            for lab in _cites(kb, c["citations"]):
                doc.li(f"cites {lab}", 1)
    for cj in data["cautions"]:
        doc.p(f"Caution {cj['id']}: {cj['text']}")
        for lab in _cites(kb, cj["citations"]):
            doc.li(f"cites {lab}", 1)
    what = {"sources": f"with source {iid}", "routes": f"given by route {iid}",
            "engineering": f"that used {iid}"}[axis]
    if data["evidence_count"]:
        dis = data["evidence_elsewhere"]
        shown = ", ".join(dis[:8]) + (f" and {len(dis) - 8} more" if len(dis) > 8 else "")
        doc.p(f"The knowledge base holds {data['evidence_count']} evidence item(s) {what}, about: {shown}.")
    else:
        doc.p(f"The knowledge base holds no evidence item {what}.")
    if data["rules"]:
        when = " (as they fired without the exclusion)" if status == "excluded" else ""
        doc.p(f"Rules that can conclude about {iid}{when}:")
        mark = {"fired": "+", "failed": "x", "skipped": "-", "not applicable": "-"}
        for chk in data["rules"]:
            doc.li(f"[{mark[chk['status']]}] {chk['rule']}: {chk['text']}")
            for lab in _cites(kb, chk["citations"]):
                doc.li(f"cites {lab}", 1)
    else:
        doc.p(f"No rule in the rule base concludes about {iid}.")
    return doc.note()


# ------------------------------------------------------------------------------------------
# rules and cite


def rule_ids() -> list[str]:
    from ..rules import RULES, STAGES

    return [r for r, _ in sorted(RULES.items(), key=lambda x: (STAGES.index(x[1].stage), x[0]))]


def rule_json(kb: Knowledge, rule_id: str) -> dict:
    from ..rules import RULES

    if rule_id not in RULES:
        raise UnknownItem("rule", rule_id, difflib.get_close_matches(rule_id, list(RULES), n=3, cutoff=0.5))
    meta = RULES[rule_id]
    can = CAN_CONCLUDE.get(rule_id)
    about = None
    if can:
        about = {"axes": list(can.axes), "item": can.item or f"from the {can.via} data"}
    return {"id": meta.id, "stage": meta.stage, "description": meta.description,
            "conditions": list(meta.conditions), "conclusion": meta.conclusion,
            "cf": kb.weights["rules"].get(rule_id) if meta.weight else None,
            "citations": kb.citations({"cites": list(meta.cites)}), "concludes_about": about}


def rules_doc(kb: Knowledge, rule_id: str | None = None) -> Doc:
    from ..rules import RULES

    doc = Doc()
    if rule_id is None:
        doc.h(f"Rule base: {len(RULES)} rules, in the order of their stages")
        stage = None
        for rid in rule_ids():
            meta = RULES[rid]
            if meta.stage != stage:
                stage = meta.stage
                doc.p(f"Stage {stage}:")
            cf = f" (cf {kb.weights['rules'][rid]:+.2f})" if meta.weight and rid in kb.weights["rules"] else ""
            doc.li(f"{rid}{cf}: {meta.description}")
        doc.p("'rules ID' shows a rule's conditions and citations.")
        return doc.note()
    r = rule_json(kb, rule_id)
    doc.h(f"Rule {r['id']}")
    doc.p(f"Stage: {r['stage']}" + (f"; certainty factor {r['cf']:+.2f} (knowledge/weights.yaml)" if r["cf"] is not None else ""))
    doc.p(r["description"])
    doc.p("If:")
    for i, cond in enumerate(r["conditions"]):
        doc.li(("and " if i else "") + cond)
    doc.p(f"Then: {r['conclusion']}")
    if r["concludes_about"]:
        a = r["concludes_about"]
        doc.p(f"Concludes about: {' and '.join(a['axes'])}, item {a['item']}")
    if r["citations"]:
        doc.p("Citations:")
        for lab in _cites(kb, r["citations"]):
            doc.li(lab)
    else:
        doc.p("Citations: none (a mechanism of the advisor, not a claim of the reviews)")
    return doc.note()


def cite_key(kb: Knowledge, key: str) -> str:
    k = kb.resolve_cite(key.strip()) if key.strip() else None
    if k is None and key.strip().lower() in kb.references:
        k = key.strip().lower()
    if k is None:
        raise UnknownItem("reference", key, difflib.get_close_matches(key.lower(), list(kb.references), n=3, cutoff=0.5))
    return k


def cite_json(kb: Knowledge, key: str) -> dict:
    from ..rules import RULES

    from .kbtools import pointers

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


from .explain_how import (  # noqa: E402,F401  (views of the chain, re-exported)
    explain_dot, explain_markdown, explain_mermaid, explain_tree, print_explain, step_explain,
)

__all__ = ["CAN_CONCLUDE", "Doc", "cite_doc", "cite_json", "explain_dot", "explain_markdown", "explain_mermaid",
           "explain_tree", "find_item", "print_explain", "rule_json", "rules_doc", "show_record", "step_explain",
           "why_doc", "why_json", "why_not_doc", "why_not_json"]
