"""ICD-10-CM as an indexed vocabulary: the disease names that the reviews never use.

The tabular list comes from the ``simple-icd-10-cm`` package (a core dependency; MIT licence,
data from the US CMS/NCHS ICD-10-CM release, public domain). Importing it parses an XML file
and takes about two seconds, so it is read once and turned into a SQLite database in the
user's cache directory:

* ``codes``: every code with its title, parent, block, chapter, depth and whether it is a leaf;
* ``terms``: the words that name a code (its title, its inclusion terms, the "includes" notes
  of its category), normalised by :func:`advisor.text.norm` and :func:`key_tokens`, with an
  FTS5 full-text index over them (bm25 ranks the suggestions for an unknown disease);
* ``words``/``deletes``: the word list with a one-deletion table, for typo tolerance without
  a scan (a symmetric-delete spelling corrector).

The database is never trusted blindly: a manifest next to it records the format version,
the ``simple-icd-10-cm`` version and the SHA-256 of the file; any mismatch, a missing or
malformed manifest, or a SQLite error rebuilds it (atomically, through a temporary file).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .fileio import discard
from .text import norm

FORMAT = 5  # bump when the layout or the normalisation changes

# words that carry no meaning for matching (both sides)
STOPWORDS = frozenset("the of and or in on to for by at as s".split())
_LEADING = frozenset(("a", "an"))  # dropped only first: "Hemophilia A" keeps its A
# words of a title that only say "the default / unspecified form": not counted as extra words
FILLERS = frozenset("unspecified nos organism site part stage severity laterality side".split())


def stem(tok: str) -> str:
    """A tiny plural folding, the same on both sides: stones -> stone, ulcers -> ulcer."""
    if len(tok) > 4 and tok.endswith("ies"):
        return tok[:-3] + "y"
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is", "ys")):
        return tok[:-1]
    return tok


_PARENS = re.compile(r"\([^()]*\)")


def key_tokens(text: str) -> list[str]:
    """Content tokens of a name: normalised, stop words dropped, plurals folded."""
    words = norm(text).split()
    while words and words[0] in _LEADING:
        words = words[1:]
    return [stem(t) for t in words if t not in STOPWORDS]


def term_variants(text: str) -> list[tuple[list[str], bool]]:
    """A tabular-list phrase as token lists: as written and, when it has parenthesised
    non-essential modifiers, without them. The flag says the phrase ended in NOS."""
    out: list[tuple[list[str], bool]] = []
    for variant in dict.fromkeys([text, _PARENS.sub(" ", text)]):
        toks = key_tokens(variant)
        nos = bool(toks) and toks[-1] == "nos"
        if toks:
            out.append((toks, nos))
    return out


@dataclass(frozen=True)
class IcdHit:
    code: str
    description: str
    block: str
    block_description: str
    chapter: str
    chapter_description: str


def cache_dir() -> Path:
    base = os.environ.get("MSC_EV_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "msc-ev"


def icd_version() -> str:
    return metadata.version("simple-icd-10-cm")


def _paths() -> tuple[Path, Path]:
    d = cache_dir()
    return d / "icd10cm.sqlite", d / "icd10cm.manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- build ---------------------------------------------------------------------------------

def _read_tabular() -> tuple[list[tuple], list[tuple]]:
    import warnings

    with warnings.catch_warnings():  # it uses a deprecated importlib.resources call
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm  # slow import: only when (re)building

    codes: list[tuple] = []
    terms: list[tuple] = []
    everything = cm.get_all_codes(True)
    # a block holding one category has the category's name (C50, B20, ...): keep it once, as
    # a category that is its own block
    twice = _twice(everything)
    seen: set[str] = set()
    for code in everything:
        if code in seen or cm.is_extended_subcategory(code):
            continue  # 7th-character extensions (encounter, healing) are not diseases
        seen.add(code)
        title = cm.get_description(code)
        chapter_or_block = cm.is_chapter_or_block(code) and code not in twice
        anc = cm.get_ancestors(code)
        block = code if cm.is_block(code) else next((a for a in anc if cm.is_block(a)), "")
        chapter = code if cm.is_chapter(code) else (anc[-1] if anc else "")
        parent = next((a for a in anc if a != code), "")
        codes.append((code, title, parent, block, chapter, len(anc), int(cm.is_leaf(code)),
                      int(chapter_or_block)))
        if chapter_or_block:
            continue  # chapter and block titles are groupings, not diseases
        terms.append((code, "title", title))
        for t in cm.get_inclusion_term(code):
            terms.append((code, "inclusion", t))
        for t in cm.get_includes(code):
            terms.append((code, "includes", t))
    return codes, terms


def _twice(codes: list[str]) -> set[str]:
    seen: set[str] = set()
    out: set[str] = set()
    for c in codes:
        (out if c in seen else seen).add(c)
    return out


def build(path: Path) -> None:
    """Write the database to ``path`` (through a temporary file in the same directory)."""
    codes, raw_terms = _read_tabular()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".icd10cm-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        con.executescript("""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE codes(code TEXT PRIMARY KEY, title TEXT, parent TEXT, block TEXT,
                               chapter TEXT, depth INT, leaf INT, grouping INT) WITHOUT ROWID;
            CREATE INDEX codes_parent ON codes(parent);
            CREATE VIRTUAL TABLE terms USING fts5(toks, code UNINDEXED, kind UNINDEXED,
                                                  nos UNINDEXED, n UNINDEXED, depth UNINDEXED);
            CREATE TABLE words(word TEXT PRIMARY KEY, df INT) WITHOUT ROWID;
            CREATE TABLE deletes(d TEXT, word TEXT, PRIMARY KEY (d, word)) WITHOUT ROWID;
        """)
        con.executemany("INSERT INTO codes VALUES (?,?,?,?,?,?,?,?)", codes)
        rows = []
        df: dict[str, int] = {}
        seen = set()
        depth = {c[0]: c[5] for c in codes}
        for code, kind, text in raw_terms:
            for toks, nos in term_variants(text):
                key = (code, tuple(toks))
                if key in seen:
                    continue
                seen.add(key)
                content = [t for t in toks if t != "nos"]
                if not content:
                    continue
                rows.append((" ".join(content), code, kind, int(nos), len(content), depth[code]))
                for t in set(content):
                    df[t] = df.get(t, 0) + 1
        con.executemany("INSERT INTO terms(toks, code, kind, nos, n, depth) VALUES (?,?,?,?,?,?)", rows)
        con.execute("INSERT INTO terms(terms) VALUES ('optimize')")
        con.executemany("INSERT INTO words VALUES (?,?)", sorted(df.items()))
        dels = []
        for w in df:
            if len(w) >= 4:
                for i in range(len(w)):
                    dels.append((w[:i] + w[i + 1:], w))
        con.executemany("INSERT OR IGNORE INTO deletes VALUES (?,?)", sorted(dels))
        con.executemany("INSERT INTO meta VALUES (?,?)",
                        [("format", str(FORMAT)), ("icd_version", icd_version())])
        con.commit()
        con.execute("VACUUM")
        con.close()
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise


# --- open and validate ---------------------------------------------------------------------

class Index:
    """A validated, read-only connection to the ICD-10-CM database."""

    def __init__(self, con: sqlite3.Connection, path: Path | None):
        self.con = con
        self.path = path
        self._hits: dict[str, IcdHit | None] = {}

    def row(self, code: str):
        return self.con.execute(
            "SELECT code, title, parent, block, chapter, depth, leaf, grouping FROM codes WHERE code=?",
            (code,)).fetchone()

    def is_valid(self, code: str) -> bool:
        return self.row(code) is not None

    def title(self, code: str) -> str:
        r = self.row(code)
        return r[1] if r else ""

    def hit(self, code: str) -> IcdHit | None:
        if code in self._hits:
            return self._hits[code]
        r = self.row(code)
        h = None
        if r is not None and not r[7]:
            h = IcdHit(r[0], r[1], r[3], self.title(r[3]), r[4], self.title(r[4]))
        self._hits[code] = h
        return h

    def children(self, code: str) -> list[tuple[str, str]]:
        return self.con.execute("SELECT code, title FROM codes WHERE parent=? ORDER BY code",
                                (code,)).fetchall()

    def ancestors(self, code: str) -> list[str]:
        out: list[str] = []
        r = self.row(code)
        while r is not None and r[2] and r[2] not in out and len(out) < 12:
            out.append(r[2])
            r = self.row(r[2])
        return out

    def has_word(self, word: str) -> bool:
        return self.con.execute("SELECT 1 FROM words WHERE word=?", (word,)).fetchone() is not None

    def near_words(self, word: str) -> list[tuple[str, int]]:
        """Words of the index one deletion away from ``word`` on either side, with their df."""
        keys = {word} | {word[:i] + word[i + 1:] for i in range(len(word))}
        marks = ",".join("?" * len(keys))
        found = {w for (w,) in self.con.execute(
            f"SELECT word FROM deletes WHERE d IN ({marks})", sorted(keys))}
        found |= {w for (w,) in self.con.execute(
            f"SELECT word FROM words WHERE word IN ({marks})", sorted(keys))}
        if not found:
            return []
        marks = ",".join("?" * len(found))
        return self.con.execute(f"SELECT word, df FROM words WHERE word IN ({marks}) ORDER BY word",
                                sorted(found)).fetchall()

    def search(self, tokens: list[str], limit: int = 400) -> list[tuple]:
        """Terms holding every token (a token may be a set of alternatives), shortest first."""
        if not tokens:
            return []
        expr = " AND ".join(f'"{t}"' for t in tokens)
        return self.con.execute(
            "SELECT rowid, code, kind, toks, nos, n, depth, bm25(terms) FROM terms "
            "WHERE terms MATCH ? ORDER BY n, rowid LIMIT ?", (expr, limit)).fetchall()

    def any_words(self, tokens: list[str], limit: int = 60) -> list[tuple]:
        """Terms holding any of the tokens, best bm25 first (for suggestions)."""
        if not tokens:
            return []
        expr = " OR ".join(f'"{t}"' for t in tokens)
        return self.con.execute(
            "SELECT rowid, code, kind, toks, nos, n, depth, bm25(terms) AS r FROM terms "
            "WHERE terms MATCH ? ORDER BY r, n, rowid LIMIT ?", (expr, limit)).fetchall()


def _valid(db: Path, manifest: Path) -> bool:
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
        if not isinstance(m, dict):
            return False
        if m.get("format") != FORMAT or m.get("icd_version") != icd_version():
            return False
        if m.get("size") != db.stat().st_size or m.get("sha256") != _sha256(db):
            return False
    except (OSError, ValueError):
        return False
    return True


def _connect(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
    (fmt,) = con.execute("SELECT value FROM meta WHERE key='format'").fetchone()
    if fmt != str(FORMAT):
        con.close()
        raise sqlite3.DatabaseError("format mismatch")
    return con


_lock = threading.Lock()
_open: dict[str, Index] = {}
STATS = {"builds": 0}


def _in_memory() -> Index:
    """Last resort when the cache directory cannot be written: build in a temporary file."""
    d = Path(tempfile.mkdtemp(prefix="msc-ev-icd-"))
    db = d / "icd10cm.sqlite"
    build(db)
    STATS["builds"] += 1
    return Index(_connect(db), db)


def index() -> Index:
    """The validated index for the current cache directory (built or rebuilt when needed)."""
    db, manifest = _paths()
    key = f"{db}:{os.getpid()}"  # a connection is never used across fork (batch --jobs)
    with _lock:
        if key in _open:
            return _open[key]
        idx = None
        if _valid(db, manifest):
            try:
                idx = Index(_connect(db), db)
            except (sqlite3.Error, TypeError):
                idx = None
        if idx is None:
            try:
                build(db)
                STATS["builds"] += 1
                tmp = manifest.with_name(f".{manifest.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps({
                    "format": FORMAT, "icd_version": icd_version(), "size": db.stat().st_size,
                    "sha256": _sha256(db), "source": "simple-icd-10-cm (MIT); ICD-10-CM tabular list "
                    "(US CMS/NCHS, public domain)"}, sort_keys=True), encoding="utf-8")
                os.replace(tmp, manifest)
                idx = Index(_connect(db), db)
            except OSError:
                idx = _in_memory()
        _open[key] = idx
        return idx


def forget() -> None:
    """Drop open indexes (tests: a new cache directory or a corrupted file)."""
    with _lock:
        for key, idx in _open.items():
            if key.endswith(f":{os.getpid()}"):
                idx.con.close()
        _open.clear()


def is_valid(code: str) -> bool:
    return index().is_valid(code)


def hit(code: str) -> IcdHit | None:
    return index().hit(code)


__all__ = ["IcdHit", "Index", "index", "hit", "is_valid", "build", "forget", "key_tokens", "stem",
           "term_variants", "STOPWORDS", "FILLERS", "cache_dir"]
