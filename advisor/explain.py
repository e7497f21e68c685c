"""Explanations: kb show, why, why-not, how (the trace), rules and cite."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from .kb import Knowledge
from .render import cite_label

SINGULAR = {"diseases": "disease", "sources": "source", "routes": "route", "engineering": "engineering option",
            "references": "reference", "evidence": "evidence item", "trials": "trial", "categories": "category"}


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
