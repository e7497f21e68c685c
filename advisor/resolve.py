"""Disease resolution: curated names first, then typo-tolerant matching, then ICD-10-CM.

``resolve(kb, text)`` returns a :class:`Resolution` or raises :class:`UnknownDisease` (with close
suggestions) or :class:`AmbiguousDisease` (with the candidates). ``matched_by`` is ``exact``
(an id or a name), ``synonym`` (a synonym or abbreviation), ``fuzzy`` (a close spelling) or
``category`` (placed by its ICD-10-CM block and chapter; answered from relatives' evidence).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .errors import AmbiguousDisease, UnknownDisease
from .kb import Knowledge, categories_of
from .limits import check_query
from .text import norm

FUZZY_CUTOFF = 0.84
SUGGEST_CUTOFF = 0.55


@dataclass(frozen=True)
class Resolution:
    text: str
    id: str
    name: str
    matched_by: str
    categories: tuple[str, ...] = ()
    icd10cm: str | None = None
    relatives: tuple[str, ...] = ()  # ICD route only: curated diseases in the same block
    icd_block: str = ""
    icd_chapter: str = ""
    curated: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "matched_by": self.matched_by}


@dataclass
class _Names:
    exact: dict[str, str]
    synonym: dict[str, set[str]]
    abbreviation: dict[str, set[str]]
    source_abbrev: dict[str, str]
    all_keys: list[str]


def _build_names(kb: Knowledge) -> _Names:
    exact: dict[str, str] = {}
    synonym: dict[str, set[str]] = {}
    abbrev: dict[str, set[str]] = {}
    for did, d in kb.diseases.items():
        exact[norm(did)] = did
        exact[norm(d["name"])] = did
    for did, d in kb.diseases.items():
        for s in d.get("synonyms") or ():
            synonym.setdefault(norm(s), set()).add(did)
        for a in d.get("abbreviations") or ():
            abbrev.setdefault(norm(a), set()).add(did)
    src: dict[str, str] = {}
    for sid, s in kb.sources.items():
        for a in [sid, *(s.get("synonyms") or ())]:
            n = norm(a)
            src.setdefault(n, sid)
            if n.endswith(" msc"):
                src.setdefault(n[:-4], sid)
    keys = sorted(set(exact) | set(synonym))
    return _Names(exact, synonym, abbrev, src, keys)


def names(kb: Knowledge) -> _Names:
    cached = kb.__dict__.get("_names")
    if cached is None:
        cached = kb.__dict__["_names"] = _build_names(kb)
    return cached


def _candidates(kb: Knowledge, ids) -> list[tuple[str, str]]:
    return [(i, kb.diseases[i]["name"]) for i in sorted(ids)]


def suggestions(kb: Knowledge, text: str, n: int = 3) -> list[str]:
    nm = names(kb)
    key = norm(text)
    out: list[str] = []
    for k in difflib.get_close_matches(key, nm.all_keys, n=12, cutoff=SUGGEST_CUTOFF):
        for did in sorted({nm.exact[k]} if k in nm.exact else nm.synonym[k]):
            if did not in out:
                out.append(did)
    if len(out) < n and key:
        for k in nm.all_keys:  # substring hits ("brain injury" -> perinatal-brain-injury)
            if key in k or (len(k) > 3 and k in key):
                for did in sorted({nm.exact[k]} if k in nm.exact else nm.synonym[k]):
                    if did not in out:
                        out.append(did)
    return out[:n]


def resolve(kb: Knowledge, text: str, *, use_icd: bool = True) -> Resolution:
    check_query(text)  # declared limits (advisor/limits.py): resolution cost grows with the text
    raw = text.strip()
    key = norm(raw)
    if not key:
        raise UnknownDisease(text, [])
    nm = names(kb)
    if key in nm.exact:
        return _curated(kb, raw, nm.exact[key], "exact")
    hits = set(nm.synonym.get(key, ())) | set(nm.abbreviation.get(key, ()))
    if len(hits) == 1:
        return _curated(kb, raw, hits.pop(), "synonym")
    if len(hits) > 1:
        note = ""
        if key in nm.source_abbrev:
            note = f"{raw!r} is also the MSC source {nm.source_abbrev[key]}"
        raise AmbiguousDisease(raw, _candidates(kb, hits), note)
    if key in nm.source_abbrev:
        raise UnknownDisease(raw, suggestions(kb, raw) or [])
    scored = sorted(
        ((difflib.SequenceMatcher(None, key, k).ratio(), k) for k in nm.all_keys
         if abs(len(k) - len(key)) <= max(3, len(key) // 3)),
        key=lambda x: (-x[0], x[1]),
    )
    if scored and scored[0][0] >= FUZZY_CUTOFF:
        best = scored[0][0]
        top = {did for r, k in scored if r >= best - 0.02
               for did in ({nm.exact[k]} if k in nm.exact else nm.synonym[k])}
        if len(top) == 1:
            return _curated(kb, raw, top.pop(), "fuzzy")
        raise AmbiguousDisease(raw, _candidates(kb, top))
    if use_icd:
        res = _by_icd(kb, raw)
        if res is not None:
            return res
    raise UnknownDisease(raw, suggestions(kb, raw))


def _curated(kb: Knowledge, text: str, did: str, how: str) -> Resolution:
    d = kb.diseases[did]
    return Resolution(text, did, d["name"], how, tuple(categories_of(d)), d.get("icd10cm"))


def _by_icd(kb: Knowledge, text: str) -> Resolution | None:
    from . import icd

    h = icd.lookup(text)
    if h is None:
        return None
    cats: list[str] = []
    for cid, cat in sorted(kb.categories.items()):
        if h.block in (cat.get("icd10cm_blocks") or ()) or _block_within(h.block, cat.get("icd10cm_blocks") or ()):
            cats.append(cid)
    if not cats:
        cats = [cid for cid, cat in sorted(kb.categories.items())
                if h.chapter in (cat.get("icd10cm_chapters") or ())]
    if not cats:
        return None
    relatives = []
    for did, d in sorted(kb.diseases.items()):
        code = d.get("icd10cm")
        if code:
            other = icd.hit(code)
            if other and other.block == h.block:
                relatives.append(did)
    return Resolution(text, f"icd10cm:{h.code}", h.description, "category", tuple(cats), h.code,
                      tuple(relatives), h.block, h.chapter, curated=False)


def _block_within(block: str, ranges) -> bool:
    """True when block 'G20-G26' lies inside one of the ranges ('G00-G99')."""
    if "-" not in block:
        return False
    lo, hi = block.split("-", 1)
    for r in ranges:
        if "-" in r:
            a, b = r.split("-", 1)
            if a <= lo and hi <= b:
                return True
    return False
