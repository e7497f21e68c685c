"""Export references to reference managers: BibTeX, RIS and CSL-JSON.

Each entry carries the authors, title, journal and year the reviews list, the DOI or PMID where the
knowledge base has one, and the review numbers it is cited under (``note``; RIS ``N1``), e.g.
"Cited in Cai et al. 2020 [76]". The entry key is the knowledge base's reference key, so an export
of a disease and ``msc-ev cite KEY`` agree. Output is deterministic (the order of ``keys``).
"""

from __future__ import annotations

import json

from ..advisor.echo import inert
from ..advisor.text import authors  # noqa: F401  (re-exported: the exports' author parsing)

FORMATS = ("bibtex", "ris", "csl-json")
REVIEW_NAME = {"heo2018": "Heo & Kim 2018", "cai2020": "Cai et al. 2020"}


def cited_in_note(ref: dict, key: str) -> str:
    if key in REVIEW_NAME and not ref.get("cited_in"):
        return "One of the two reviews the msc-ev knowledge base is built from"
    parts = []
    order = list(REVIEW_NAME)  # the older review first
    for review, n in sorted((ref.get("cited_in") or {}).items(), key=lambda x: (order.index(x[0]) if x[0] in order
                                                                                   else len(order), x[0])):
        also = (ref.get("also_numbered") or {}).get(review) or []
        nums = ", ".join(f"[{x}]" for x in [n, *also])
        parts.append(f"{REVIEW_NAME.get(review, review)} {nums}")
    return "Cited in " + "; ".join(parts) if parts else ""


def _entry(kb, key: str) -> dict:
    ref = kb.references[key]
    names, more = authors(ref["authors"])
    return {"key": key, "authors": names, "et_al": more, "title": ref["title"], "journal": ref["journal"],
            "year": int(ref["year"]), "note": cited_in_note(ref, key), "doi": ref.get("doi"), "pmid": ref.get("pmid")}


# ---------------------------------------------------------------------------------------- BibTeX

_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in inert(s))  # one field a line, no control character


def bibtex(kb, keys) -> str:
    out = []
    for key in keys:
        e = _entry(kb, key)
        people = [f"{_tex(f)}, {_tex(g)}" if g else "{" + _tex(f) + "}" for f, g in e["authors"]]
        if e["et_al"]:
            people.append("others")
        fields = [("author", " and ".join(people)), ("title", "{" + _tex(e["title"]) + "}"),
                  ("journal", _tex(e["journal"])), ("year", str(e["year"]))]
        if e["doi"]:
            fields.append(("doi", _tex(e["doi"])))
        if e["pmid"]:
            fields.append(("pmid", _tex(str(e["pmid"]))))
        if e["note"]:
            fields.append(("note", _tex(e["note"])))
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
        out.append(f"@article{{{inert(key)},\n{body}\n}}\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------- RIS


def ris(kb, keys) -> str:
    """RIS: one tag a line; every value made inert (a newline in a field cannot start a record)."""
    out = []
    for key in keys:
        e = _entry(kb, key)
        e = {k: (inert(v) if isinstance(v, str) else v) for k, v in e.items()}
        e["authors"] = [(inert(f), inert(g) if g else g) for f, g in e["authors"]]
        key = inert(key)
        lines = ["TY  - JOUR", f"ID  - {key}"]
        lines += [f"AU  - {f}, {g}" if g else f"AU  - {f}" for f, g in e["authors"]]
        lines += [f"TI  - {e['title']}", f"T2  - {e['journal']}", f"JO  - {e['journal']}", f"PY  - {e['year']}"]
        if e["doi"]:
            lines.append(f"DO  - {e['doi']}")
        if e["pmid"]:
            lines.append(f"AN  - PMID:{e['pmid']}")
        if e["et_al"]:
            lines.append("N1  - Author list shortened (et al.) as in the review")
        if e["note"]:
            lines.append(f"N1  - {e['note']}")
        lines.append("ER  - ")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------- CSL-JSON


def csl(kb, keys) -> list[dict]:
    items = []
    for key in keys:
        e = _entry(kb, key)
        item = {"id": key, "type": "article-journal",
                "author": [{"family": f, "given": g} if g else {"literal": f} for f, g in e["authors"]],
                "title": e["title"], "container-title": e["journal"], "container-title-short": e["journal"],
                "issued": {"date-parts": [[e["year"]]]}}
        if e["doi"]:
            item["DOI"] = e["doi"]
        if e["pmid"]:
            item["PMID"] = str(e["pmid"])
        notes = [e["note"]] if e["note"] else []
        if e["et_al"]:
            notes.append("author list shortened (et al.) as in the review")
        if notes:
            item["note"] = "; ".join(notes)
        items.append(item)
    return items


def csl_json(kb, keys) -> str:
    return json.dumps(csl(kb, keys), indent=2, ensure_ascii=False) + "\n"


def export(kb, keys, fmt: str) -> str:
    """``keys`` (reference keys, in the order wanted) as ``fmt``: bibtex, ris or csl-json."""
    keys = list(dict.fromkeys(keys))
    if fmt == "bibtex":
        return bibtex(kb, keys)
    if fmt == "ris":
        return ris(kb, keys)
    if fmt == "csl-json":
        return csl_json(kb, keys)
    raise ValueError(f"unknown citation format {fmt!r}; use one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "authors", "bibtex", "cited_in_note", "csl", "csl_json", "export", "ris"]
