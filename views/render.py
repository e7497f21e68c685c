"""Rendering advice as text: JSON (the contract) and Markdown. The disclaimer is in every format.

The Rich view for the terminal is :mod:`msc_ev.terminal.rich_advice`.
"""

from __future__ import annotations

import json

from ..advisor.consult import AXES, Advice
from ..advisor.echo import markdown_text
from ..advisor.scoring import words  # noqa: F401  (re-exported for the views)

from ..advisor.text import TITLES, cite_label, short_cite  # noqa: F401  (re-exported for the views)


def to_json(obj) -> str:
    """Deterministic JSON: sorted keys where we do not control order, fixed separators.

    orjson writes the same bytes as ``json.dumps(obj, indent=2, ensure_ascii=False)`` for what the
    advisor outputs (a test compares both on every curated disease) about 30x faster (1.4 ms of a
    one-shot advice); what it refuses (a lone surrogate from an undecodable argument, a huge int)
    goes through the standard encoder, as before."""
    try:
        import orjson

        return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    except (ImportError, TypeError, ValueError):
        return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _key_citations(rec) -> list[str]:
    """The recommendation's key citation (from its strongest tier 1-3 contribution; else the review)."""
    return [rec.key_citation] if rec.key_citation else []


def markdown(kb, adv: Advice, top: int | None = None) -> str:
    res = adv.resolution
    lines = [f"# MSC-EV advice: {res.name}", ""]
    lines.append(f"Query: `{adv.text}` -> `{res.id}` (matched by {res.matched_by})")
    for n in res.notes:
        lines.append(f"Read as: {n}")
    cons = adv.constraints.as_json()
    active = {k: v for k, v in cons.items() if v}
    if active:
        lines.append("Constraints: " + ", ".join(f"{k}={v}" for k, v in active.items()))
    lines += ["", f"> {adv.disclaimer}", ""]
    for axis in AXES:
        lines += [f"## {TITLES[axis]}", ""]
        recs = adv.recs[axis][:top] if top else adv.recs[axis]
        if not recs:
            lines += ["_No candidates._", ""]
            continue
        lines += ["| # | id | name | tier | score | level | key citation |", "|---|---|---|---|---|---|---|"]
        for r in recs:
            cites = "; ".join(cite_label(kb, k) for k in _key_citations(r))
            lines.append(f"| {r.rank} | `{r.id}` | {r.name} | {r.tier} ({r.basis}) | {r.score:.3f} | {r.level or '-'} | {cites} |")
        lines.append("")
    if adv.context:
        lines += ["## Context (not evidence of efficacy)", ""]
        lines += [f"- {c['kind']}: {c['text']}" for c in adv.context]
        lines.append("")
    if adv.cautions:
        lines += ["## Cautions", ""]
        lines += [f"- **{c['id']}**: {c['text']}" for c in adv.cautions]
        lines.append("")
    if adv.excluded:
        lines += ["## Excluded", ""]
        lines += [f"- {x['axis']} `{x['id']}`: {x['reason']} (rule `{x['rule']}`)" for x in adv.excluded]
        lines.append("")
    lines += ["## References", ""]
    for k in adv.references:
        ref = adv.references[k]
        lines.append(f"- `{k}`: {ref['authors']} {ref['title']}. {ref['journal']} {ref['year']}. ({cite_label(kb, k)})")
    lines += ["", f"_{adv.disclaimer}_", ""]
    return "\n".join(markdown_text(line) for line in lines)  # every line inert, its HTML literal
