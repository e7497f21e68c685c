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
Hashing 14 MB on every start would cost more than the rest of a one-shot query, so the manifest
also keeps a *stamp*: the file's size and mtime and where and which ``simple-icd-10-cm`` is
installed. An ordinary run that finds the stamp unchanged trusts the full check made when it
was written; any other run (and ``kb check``: :func:`index` with ``verify=True``) makes the full
check, and a full check that passes writes the new stamp.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
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
    from importlib import metadata  # ~15 ms to import: only for a build or a full check

    return metadata.version("simple-icd-10-cm")


def _paths() -> tuple[Path, Path]:
    d = cache_dir()
    return d / "icd10cm.sqlite", d / "icd10cm.manifest.json"


def _sha256(path: Path) -> str:
    import hashlib

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
    import tempfile

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

CACHED = 65_536  # rows and words remembered per open index (a batch of distinct titles reads many)


class Index:
    """A validated, read-only connection to the ICD-10-CM database."""

    def __init__(self, con: sqlite3.Connection, path: Path | None):
        self.con = con
        self.path = path
        self.verified = False  # checked against the SHA-256 in this process (not the stamp alone)
        self._hits: dict[str, IcdHit | None] = {}
        self._rows: dict[str, tuple | None] = {}  # the database is read-only: a row read stays true
        self._words: dict[str, bool] = {}

    def row(self, code: str):
        try:
            return self._rows[code]
        except KeyError:
            pass
        if len(self._rows) >= CACHED:
            self._rows.clear()
        r = self._rows[code] = self.con.execute(
            "SELECT code, title, parent, block, chapter, depth, leaf, grouping FROM codes WHERE code=?",
            (code,)).fetchone()
        return r

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
        hit = self._words.get(word)
        if hit is None:
            if len(self._words) >= CACHED:
                self._words.clear()
            hit = self._words[word] = self.con.execute(
                "SELECT 1 FROM words WHERE word=?", (word,)).fetchone() is not None
        return hit

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


def _installed() -> list | None:
    """Where simple-icd-10-cm is installed and which version (its dist-info directories), without
    importing it or importlib.metadata; None when it is not an ordinary directory install."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("simple_icd_10_cm")
    places = list(spec.submodule_search_locations or ()) if spec is not None else []
    if len(places) != 1:
        return None
    site = os.path.dirname(places[0])
    try:
        infos = sorted(n for n in os.listdir(site)
                       if n.lower().startswith("simple_icd_10_cm-") and n.endswith(".dist-info"))
    except OSError:
        return None
    return [places[0], infos] if infos else None


def _stamp(db: Path) -> list | None:
    """What changes when the database or the installed simple-icd-10-cm does, read in microseconds."""
    installed = _installed()
    if installed is None:
        return None
    st = db.stat()
    return [FORMAT, st.st_size, st.st_mtime_ns, *installed]


def _manifest(db: Path) -> dict:
    """A fresh manifest for ``db`` (after a build or a full check that passed)."""
    return {"format": FORMAT, "icd_version": icd_version(), "size": db.stat().st_size,
            "sha256": _sha256(db), "stamp": _stamp(db),
            "source": "simple-icd-10-cm (MIT); ICD-10-CM tabular list (US CMS/NCHS, public domain)"}


def _write_manifest(manifest: Path, data: dict) -> None:
    tmp = manifest.with_name(f".{manifest.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(tmp, manifest)
    except BaseException:
        discard(tmp)
        raise


def _full_check(db: Path, m: dict) -> bool:
    return (m.get("format") == FORMAT and m.get("icd_version") == icd_version()
            and m.get("size") == db.stat().st_size and m.get("sha256") == _sha256(db))


def _valid(db: Path, manifest: Path, *, verify: bool = False) -> bool:
    """Does the manifest vouch for ``db``? An unchanged stamp is enough unless ``verify``; else the
    full check (format, simple-icd-10-cm version, size, SHA-256), which refreshes the stamp."""
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
        if not isinstance(m, dict):
            return False
        stamp = _stamp(db)
        if not verify and stamp is not None and m.get("stamp") == stamp and m.get("format") == FORMAT:
            return True
        if not _full_check(db, m):
            return False
    except (OSError, ValueError):
        return False
    if m.get("stamp") != stamp:
        try:
            _write_manifest(manifest, {**m, "stamp": stamp})
        except OSError:  # a read-only cache: the next run checks in full again
            pass
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
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="msc-ev-icd-"))
    db = d / "icd10cm.sqlite"
    build(db)
    STATS["builds"] += 1
    return Index(_connect(db), db)


def index(*, verify: bool = False) -> Index:
    """The validated index for the current cache directory (built or rebuilt when needed).

    ``verify`` (``kb check``) hashes the file even when its stamp is unchanged; an index opened
    on the stamp alone is checked then, and rebuilt if the check fails."""
    db, manifest = _paths()
    key = f"{db}:{os.getpid()}"  # a connection is never used across fork (batch --jobs)
    with _lock:
        idx = _open.get(key)
        if idx is not None and (idx.verified or not verify):
            return idx
        idx = None
        if _valid(db, manifest, verify=verify):
            try:
                idx = Index(_connect(db), db)
                idx.verified = verify
            except (sqlite3.Error, TypeError):
                idx = None
        if idx is None:
            try:
                build(db)
                STATS["builds"] += 1
                _write_manifest(manifest, _manifest(db))
                idx = Index(_connect(db), db)
            except OSError:
                idx = _in_memory()
            idx.verified = True
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
