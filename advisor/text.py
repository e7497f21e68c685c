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
