"""Forgiving ids: a source, route or engineering option given as its id, name, synonym or abbreviation.

``resolve_id(kb, axis, text)`` is the one place the command line and ``ask`` turn what a person
typed (``IV``, ``i.v.``, ``UC-MSC``, ``umbilical cord``, ``Intravenous``) into a catalogue id. It is
case-insensitive and ignores punctuation and spacing ("i.v." = "IV" = "iv"). An unknown text raises
:class:`~advisor.errors.UsageError` naming the closest ids; a text two items share raises one naming both.
"""

from __future__ import annotations

from dataclasses import replace

from .axes import AXIS_OF
from .errors import UsageError
from .limits import shown
from .text import norm

AXES = AXIS_OF
OPTION = {"source": "--exclude-source", "route": "--route", "engineering": "engineering option"}


def _keys(text: str) -> list[str]:
    n = norm(text)
    compact = n.replace(" ", "")
    return [n, compact] if compact != n else [n]


def _index(kb, axis: str) -> dict[str, set[str]]:
    cache = kb.__dict__.setdefault("_id_index", {})
    if axis not in cache:
        idx: dict[str, set[str]] = {}
        for rid, rec in getattr(kb, AXES[axis]).items():
            for label in (rid, rec.get("name") or "", *(rec.get("synonyms") or ()), *(rec.get("abbreviations") or ())):
                for k in _keys(label):
                    if k:
                        idx.setdefault(k, set()).add(rid)
        cache[axis] = idx
    return cache[axis]


def resolve_id(kb, axis: str, text: str) -> str:
    """The catalogue id of ``text`` on ``axis`` ("source", "route" or "engineering")."""
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}, not {axis!r}")
    catalogue = getattr(kb, AXES[axis])
    raw = (text or "").strip()
    if raw in catalogue:
        return raw
    idx = _index(kb, axis)
    for k in _keys(raw):
        hits = idx.get(k)
        if hits and len(hits) == 1:
            return next(iter(hits))
        if hits:
            raise UsageError(f"{axis} {shown(raw)} is ambiguous: it could mean {', '.join(sorted(hits))}; give the id")
    what = f"unknown {axis}" + (f" for {OPTION[axis]}" if OPTION[axis].startswith("--") else "")
    close = suggest(kb, axis, raw)
    hint = f"; did you mean: {', '.join(close)}?" if close else f"; known: {', '.join(sorted(catalogue))}"
    raise UsageError(f"{what}: {shown(raw)}{hint}")


def suggest(kb, axis: str, text: str, n: int = 3) -> list[str]:
    """Up to ``n`` ids whose id, name or synonym is close to ``text``, best first."""
    idx = _index(kb, axis)
    out: list[str] = []
    key = norm(text)
    import difflib  # only to suggest after a miss

    for k in difflib.get_close_matches(key, sorted(idx), n=12, cutoff=0.6):
        for rid in sorted(idx[k]):
            if rid not in out:
                out.append(rid)
    if key and len(out) < n:  # "cord" -> uc-msc, ucb-msc
        for k in sorted(idx):
            if len(key) >= 3 and key in k.split() or (len(key) >= 4 and key in k):
                for rid in sorted(idx[k]):
                    if rid not in out:
                        out.append(rid)
    return out[:n]


def resolve_item(kb, text: str) -> str:
    """An item on any axis (for why / why not): the id when exactly one axis knows ``text``,
    otherwise ``text`` unchanged, for the explanation to report as unknown (with suggestions)."""
    found = []
    for axis in AXES:
        try:
            found.append(resolve_id(kb, axis, text))
        except UsageError:
            continue
    return found[0] if len(set(found)) == 1 else text


def resolve_constraints(kb, c):
    """``Constraints`` with every source and route id resolved (and the population lower-cased)."""
    return replace(
        c,
        exclude_sources=tuple(dict.fromkeys(resolve_id(kb, "source", s) for s in c.exclude_sources)),
        routes=tuple(dict.fromkeys(resolve_id(kb, "route", r) for r in c.routes)),
        population=c.population.strip().lower() if c.population else c.population,
    )


def labels(kb, axis: str) -> list[str]:
    """Every id, name and synonym of one axis (for tab completion), sorted, without repeats."""
    out: set[str] = set()
    for rid, rec in getattr(kb, AXES[axis]).items():
        out.update([rid, rec.get("name") or rid, *(rec.get("synonyms") or ())])
    return sorted(out, key=lambda x: (x.lower(), x))


__all__ = ["labels", "resolve_constraints", "resolve_id", "resolve_item", "suggest"]
