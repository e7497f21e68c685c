"""Source, route and engineering ids as people type them (minimal version; see the UX work)."""

from __future__ import annotations

import difflib

from .errors import UsageError

_SECTION = {"source": "sources", "route": "routes", "engineering": "engineering"}
_OPTION = {"source": "--exclude-source", "route": "--route", "engineering": "engineering option"}


def _key(s: str) -> str:
    return " ".join(str(s).strip().lower().replace("_", "-").split())


def resolve_id(kb, axis: str, text: str) -> str:
    cat = getattr(kb, _SECTION[axis])
    key = _key(text)
    names: dict[str, str] = {}
    for i, rec in cat.items():
        for n in [i, rec["name"], *(rec.get("synonyms") or ())]:
            names.setdefault(_key(n), i)
    if key in names:
        return names[key]
    close = difflib.get_close_matches(key, sorted(cat), n=3, cutoff=0.5)
    hint = f"; did you mean: {', '.join(close)}?" if close else f"; known: {', '.join(sorted(cat))}"
    raise UsageError(f"unknown {axis} for {_OPTION[axis]}: {str(text)[:80]!r}{hint}")
