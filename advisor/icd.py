"""ICD-10-CM look-up for diseases the reviews never name (the 'category' route of resolution).

``simple-icd-10-cm`` takes about two seconds to import, so it is touched only on this path, and
what we need from it (each code's description, block and chapter) is cached as JSON in the user's
cache directory, keyed by the package version. Later look-ups read the cache (tens of ms).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .text import norm, tokens


@dataclass(frozen=True)
class IcdHit:
    code: str
    description: str
    block: str
    block_description: str
    chapter: str
    chapter_description: str


def _cache_dir() -> Path:
    base = os.environ.get("MSC_EV_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "msc-ev"


def _version() -> str | None:
    try:
        return metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError:
        return None


def _build() -> dict:
    import warnings

    with warnings.catch_warnings():  # it uses a deprecated importlib.resources call
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm  # slow import: only here

    codes, blocks, chapters = {}, {}, {}
    for code in cm.get_all_codes(True):
        if cm.is_chapter(code):
            chapters[code] = cm.get_description(code)
        elif cm.is_block(code):
            blocks[code] = cm.get_description(code)
        else:
            anc = cm.get_ancestors(code)
            block = next((a for a in anc if cm.is_block(a)), "")
            chapter = anc[-1] if anc else ""
            codes[code] = [cm.get_description(code), block, chapter]
    return {"codes": codes, "blocks": blocks, "chapters": chapters}


@lru_cache(maxsize=1)
def table() -> dict | None:
    """The cached ICD-10-CM table, or None when simple-icd-10-cm is not installed."""
    version = _version()
    if version is None:
        return None
    path = _cache_dir() / f"icd10cm-{version}.json"
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
        if isinstance(data, dict) and "codes" in data:
            return _with_index(data)
    except (OSError, ValueError):
        pass
    data = _build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home still works, just slower next time
    return _with_index(data)


def _with_index(data: dict) -> dict:
    by_desc: dict[str, str] = {}
    inverted: dict[str, list[str]] = {}
    for code in sorted(data["codes"]):
        desc = data["codes"][code][0]
        key = norm(desc)
        by_desc.setdefault(key, code)
        for tok in set(key.split()):
            if len(tok) >= 4:
                inverted.setdefault(tok, []).append(code)
    data["by_desc"] = by_desc
    data["inverted"] = inverted
    return data


def is_valid(code: str) -> bool | None:
    t = table()
    if t is None:
        return None
    return code in t["codes"] or code in t["blocks"] or code in t["chapters"]


def hit(code: str) -> IcdHit | None:
    t = table()
    if t is None or code not in t["codes"]:
        return None
    desc, block, chapter = t["codes"][code]
    return IcdHit(code, desc, block, t["blocks"].get(block, ""), chapter, t["chapters"].get(chapter, ""))


def lookup(text: str) -> IcdHit | None:
    """Find the ICD-10-CM code whose description best matches ``text`` (exact, then close)."""
    t = table()
    if t is None:
        return None
    key = norm(text)
    if not key:
        return None
    if key.upper() in t["codes"]:
        return hit(key.upper())
    code = t["by_desc"].get(key) or t["by_desc"].get(key + " unspecified")
    if code:
        return hit(code)
    qtok = [x for x in key.split() if len(x) >= 4]
    if not qtok:
        return None
    # candidates: codes whose description has every long query token; prefer the shortest
    pools = [set(t["inverted"].get(tok, ())) for tok in qtok]
    common = set.intersection(*pools) if pools and all(pools) else set()
    want = set(key.split())  # short tokens too: "hepatitis b" must not land on mumps hepatitis
    common = {c for c in common if want <= set(norm(t["codes"][c][0]).split())}
    if common:
        best = min(common, key=lambda c: (len(t["codes"][c][0]), c))
        return hit(best)
    import difflib

    cands: set[str] = set()
    for tok in qtok:
        for near in difflib.get_close_matches(tok, list(t["inverted"]), n=3, cutoff=0.85):
            cands.update(t["inverted"][near])
    if len(cands) > 400:  # a common word ("disease") says nothing: do not compare thousands
        return None
    scored = sorted(
        ((difflib.SequenceMatcher(None, key, norm(t["codes"][c][0])).ratio(), c) for c in cands),
        key=lambda x: (-x[0], x[1]),
    )
    if scored and scored[0][0] >= 0.8:
        return hit(scored[0][1])
    return None


__all__ = ["IcdHit", "lookup", "hit", "is_valid", "table", "tokens"]
