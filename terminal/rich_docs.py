"""Rich views of explanation documents and knowledge records (the model is :mod:`msc_ev.views.explain`)."""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.markup import escape

from ..advisor.kb import Knowledge
from ..advisor.text import cite_label


def print_doc(doc, console: Console) -> None:
    """Print a :class:`~msc_ev.views.explain.Doc` with every piece of data escaped."""
    width = max(40, console.width)

    def out(text: str, first: str, rest: str, style: str | None = None) -> None:
        lines = textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest,
                              break_long_words=False, break_on_hyphens=False) or [first.rstrip()]
        for line in lines:
            body = escape(line)
            console.print(f"[{style}]{body}[/{style}]" if style else body, soft_wrap=True, highlight=False)

    for b in doc.blocks:
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


def show_record(kb: Knowledge, section: str, rec: dict, console: Console) -> None:
    from ..advisor.kbtools import pointers
    from ..views.explain import SINGULAR, _fmt

    idf = "key" if section in ("references", "trials") else "id"
    rid = rec[idf]
    loc = kb.where[(section, rid)]
    console.print(f"[bold]{escape(SINGULAR[section])} {escape(rid)}[/bold]  ({escape(loc.path)}:{loc.line})",
                  soft_wrap=True)  # a long (installed) path is not wrapped into the next line
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


