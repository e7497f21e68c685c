"""Shell completion (bash, zsh, fish) of disease, source and route ids: callbacks Typer calls only
when the shell asks for completions, never on an ordinary run."""

from __future__ import annotations

from ..advisor.text import norm


def _kb():
    from ..advisor.kbcache import load_cached

    return load_cached(None, ())


def _matches(catalogue: dict, incomplete: str) -> list[str]:
    """Ids that start with what was typed, or whose name or a synonym does (ids only: they have no spaces)."""
    low, key = incomplete.lower(), norm(incomplete)
    out = []
    for rid, rec in sorted(catalogue.items()):
        labels = [rec.get("name") or "", *(rec.get("synonyms") or ())]
        if rid.startswith(low) or (key and any(norm(x).startswith(key) for x in labels)):
            out.append(rid)
    return out


def complete_disease(incomplete: str) -> list[str]:
    try:
        return _matches(_kb().diseases, incomplete)
    except Exception:  # a broken knowledge base must not break the shell  # noqa: BLE001
        return []


def complete_source(incomplete: str) -> list[str]:
    try:
        return _matches(_kb().sources, incomplete)
    except Exception:  # noqa: BLE001
        return []


def complete_route(incomplete: str) -> list[str]:
    try:
        return _matches(_kb().routes, incomplete)
    except Exception:  # noqa: BLE001
        return []
