"""Text normalisation shared by disease resolution and search."""

from __future__ import annotations

import re
import unicodedata

_POSSESSIVE = re.compile(r"(\w)'s\b")
_NONWORD = re.compile(r"[^a-z0-9+]+")


def norm(text: str) -> str:
    """Lower-case, ascii, possessives and punctuation folded: "Alzheimer's-Disease" -> "alzheimer disease"."""
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    t = t.replace("\u2019", "'")
    t = _POSSESSIVE.sub(r"\1", t)
    t = t.replace("'", "")
    return _NONWORD.sub(" ", t).strip()


def tokens(text: str) -> list[str]:
    return norm(text).split()


TITLES = {"sources": "MSC sources", "routes": "Administration routes", "engineering": "Engineering options"}


def cite_label(kb, key: str) -> str:
    """"Cai et al. 2020 [76] -> Thomi G et al. 2019, Cells" style."""
    ref = kb.references.get(key)
    if ref is None:
        return key
    if key in ("heo2018", "cai2020"):
        return {"heo2018": "Heo & Kim 2018", "cai2020": "Cai et al. 2020"}[key]
    first = ref["authors"].split(",")[0].strip()
    multi = "," in ref["authors"]
    who = f"{first} et al." if multi else first
    via = []
    for review, n in sorted(ref["cited_in"].items()):
        via.append(f"{'Heo & Kim 2018' if review == 'heo2018' else 'Cai et al. 2020'} [{n}]")
    head = "; ".join(via)
    tail = f"{who} {ref['year']}, {ref['journal']}"
    return f"{head} -> {tail}" if head else tail


def short_cite(kb, key: str) -> str:
    """"Thomi 2019 (Cai [76])": compact, for tables."""
    ref = kb.references.get(key)
    if ref is None or key in ("heo2018", "cai2020"):
        return cite_label(kb, key)
    people, _ = authors(ref["authors"])
    first = people[0][0] if people else ref["authors"].split(",")[0]
    via = ", ".join(f"{'Heo' if r == 'heo2018' else 'Cai'} [{n}]" for r, n in sorted(ref["cited_in"].items()))
    return f"{first} {ref['year']} ({via})"


_ET_AL = re.compile(r",?\s*et al\.?$")


def authors(text: str) -> tuple[list[tuple[str, str]], bool]:
    """"Heo JS, Kim J, et al." (Vancouver) -> ([("Heo", "JS"), ("Kim", "J")], True): family, initials; et al."""
    text = text.strip()
    more = bool(_ET_AL.search(text))
    text = _ET_AL.sub("", text)
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if _ET_AL.search(part):
            more, part = True, _ET_AL.sub("", part).strip()
        family, _, given = part.rpartition(" ")
        if not family or not re.fullmatch(r"[A-Z][A-Za-z\-]{0,4}", given):
            family, given = part, ""  # a single name or a group author
        out.append((family, given))
    return out, more
