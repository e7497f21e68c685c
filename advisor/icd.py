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
  a scan (a symmetric-delete spelling corrector);
* ``exact``: for every set of words some term consists of, the code the resolver's ranking gives
  those words (:func:`exact_answers`), so an exact title or inclusion term is a keyed look-up
  with no full-text search.

The database is never trusted blindly: a manifest next to it records the format version,
the ``simple-icd-10-cm`` version and the SHA-256 of the file; any mismatch, a missing or
malformed manifest, or a SQLite error rebuilds it (atomically, through a temporary file).
Hashing 14 MB on every start would cost more than the rest of a one-shot query, so the manifest
also keeps a *stamp*: the file's size and mtime and where and which ``simple-icd-10-cm`` is
installed. An ordinary run that finds the stamp unchanged trusts the full check made when it
was written; any other run (and ``kb check``: :func:`index` with ``verify=True``) makes the full
check, and a full check that passes writes the new stamp. Bytes that rot without changing the
size or mtime are caught when they are read: a query that fails, or a row of ``codes`` or
``exact`` whose stored checksum does not match, rebuilds the index once in the process (one note
on standard error) and the query runs again. A cache directory that cannot be written gets the
index built in memory, once per process, leaving nothing on disk.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from .fileio import cache_dir, cache_settings, cache_writable, discard, mark_unwritable, note, write_cache
from .text import norm

FORMAT = 6  # bump when the layout or the normalisation changes

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


def icd_version() -> str:
    from importlib import metadata  # ~15 ms to import: only for a build or a full check

    return metadata.version("simple-icd-10-cm")


MANIFEST = "icd10cm.manifest.json"


def _paths() -> tuple[Path, Path]:
    d = cache_dir()
    return d / "icd10cm.sqlite", d / MANIFEST


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


def tree_ancestors(code: str, parent, limit: int = 12) -> list[str]:
    """The codes above ``code``, nearest first; ``parent(code)`` is a code's parent ('' for a
    chapter, None for a code not in the table)."""
    out: list[str] = []
    p = parent(code)
    while p and p not in out and len(out) < limit:
        out.append(p)
        p = parent(p)
    return out


def default_child(code: str, title, children, words=None) -> str:
    """Walk down to the child that is the same disease "unspecified" (I50 -> I50.9); ``title(code)``
    and ``children(code)`` (``[(code, title)]`` in code order) read the tree, ``words(title)`` is
    the set of :func:`key_tokens` of a title."""
    words = words or (lambda text: set(key_tokens(text)))
    for _ in range(4):
        ptoks = words(title(code))
        picks = []
        for child, ctitle in children(code):
            ctoks = words(ctitle)
            if ptoks <= ctoks and ctoks - ptoks <= FILLERS and ("unspecified" in ctoks or ctoks == ptoks):
                picks.append(child)
        if len(picks) != 1:
            break
        code = picks[0]
    return code


_FTS_WORD = re.compile(r"[a-z0-9]+")  # what FTS5's unicode61 tokenizer sees as a word in normalised text
_PLAIN = re.compile(r"[a-z0-9 ]+")  # words that FTS5 reads as written
SEARCH_LIMIT = 400  # rows one search returns (shortest first)
TIED_LIMIT = 80  # tied codes the resolver compares


def exact_answers(codes: list[tuple], rows: list[tuple]) -> list[tuple[str, str]]:
    """For every set of words that some term of the index consists of, the code that the resolver's
    ranking (``advisor.resolve._pick_icd``) gives those words when only ICD-10-CM terms compete, for
    the sets it answers with one code: every term holding all the words and adding only fillers
    ties at no extra word; an ancestor beats its descendants; a title or NOS term beats an inclusion
    term; a category goes down to its "unspecified" child. A set whose answer the search would see
    differently (more than SEARCH_LIMIT terms before a tied one, more than TIED_LIMIT tied codes, a
    word FTS5 splits) or that is still tied is left out: the resolver then searches as before.

    ``rows`` are the FTS rows in rowid order: (words, code, kind, nos, n, depth)."""
    title = {c[0]: c[1] for c in codes}
    parent = {c[0]: c[2] for c in codes}
    kids: dict[str, list[tuple[str, str]]] = {}
    for c in sorted(codes):
        if c[2]:
            kids.setdefault(c[2], []).append((c[0], c[1]))
    words = [frozenset(r[0].split()) for r in rows]  # as the resolver counts extra words
    fts = [ws if _PLAIN.fullmatch(r[0]) else frozenset(_FTS_WORD.findall(r[0]))  # as FTS5 matches them
           for ws, r in zip(words, rows)]
    postings: dict[str, list[int]] = {}
    for i, ws in enumerate(fts):
        for w in ws:
            postings.setdefault(w, []).append(i)
    by_core: dict[frozenset, list[int]] = {}
    for i, ws in enumerate(words):
        by_core.setdefault(ws - FILLERS, []).append(i)
    out: list[tuple[str, str]] = []
    child: dict[str, str] = {}
    seen_words: dict[str, frozenset] = {}

    def title_words(text: str) -> frozenset:
        if text not in seen_words:
            seen_words[text] = frozenset(key_tokens(text))
        return seen_words[text]

    for key, q in sorted((" ".join(sorted(q)), q) for q in set(words)):
        if not _PLAIN.fullmatch(key):
            continue
        tied = [i for i in by_core.get(q - FILLERS, ()) if q <= words[i]]
        if not tied:
            continue
        rarest = min((postings[w] for w in q), key=len)
        if len(rarest) > SEARCH_LIMIT:
            matched = sorted((i for i in rarest if q <= fts[i]), key=lambda i: (rows[i][4], i))
            if set(tied) - set(matched[:SEARCH_LIMIT]):
                continue
        cands = {(0 if rows[i][2] == "title" or rows[i][3] else 1, rows[i][1]) for i in tied}
        tied_codes = sorted({c for _, c in cands})
        if len(tied_codes) > TIED_LIMIT:
            continue
        inside = set(tied_codes)
        top = [c for c in tied_codes if not (set(tree_ancestors(c, parent.get)) & inside)]
        if len(top) > 1:
            strong = [c for c in top if (0, c) in cands]
            if len(strong) == 1:
                top = strong
        if len(top) != 1:
            continue
        if top[0] not in child:
            child[top[0]] = default_child(top[0], lambda c: title.get(c, ""), lambda c: kids.get(c, []), title_words)
        out.append((key, child[top[0]]))
    return out


def _crc(*values) -> int:
    """The checksum stored with a row: a byte that rots in it is seen when the row is read."""
    return zlib.crc32("\x1f".join(str(v) for v in values).encode("utf-8", "surrogateescape"))


def _fill(con: sqlite3.Connection, codes: list[tuple], raw_terms: list[tuple]) -> None:
    """Create and fill the tables of the index in ``con``."""
    con.executescript("""
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE codes(code TEXT PRIMARY KEY, title TEXT, parent TEXT, block TEXT,
                           chapter TEXT, depth INT, leaf INT, grouping INT, crc INT) WITHOUT ROWID;
        CREATE INDEX codes_parent ON codes(parent);
        CREATE VIRTUAL TABLE terms USING fts5(toks, code UNINDEXED, kind UNINDEXED,
                                              nos UNINDEXED, n UNINDEXED, depth UNINDEXED);
        CREATE TABLE words(word TEXT PRIMARY KEY, df INT) WITHOUT ROWID;
        CREATE TABLE deletes(d TEXT, word TEXT, PRIMARY KEY (d, word)) WITHOUT ROWID;
        CREATE TABLE exact(key TEXT PRIMARY KEY, code TEXT, crc INT) WITHOUT ROWID;
    """)
    con.executemany("INSERT INTO codes VALUES (?,?,?,?,?,?,?,?,?)", [(*c, _crc(*c)) for c in codes])
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
    con.executemany("INSERT INTO terms(rowid, toks, code, kind, nos, n, depth) VALUES (?,?,?,?,?,?,?)",
                    [(i, *r) for i, r in enumerate(rows, 1)])
    con.execute("INSERT INTO terms(terms) VALUES ('optimize')")
    con.executemany("INSERT INTO words VALUES (?,?)", sorted(df.items()))
    dels = []
    for w in df:
        if len(w) >= 4:
            for i in range(len(w)):
                dels.append((w[:i] + w[i + 1:], w))
    con.executemany("INSERT OR IGNORE INTO deletes VALUES (?,?)", sorted(dels))
    con.executemany("INSERT INTO exact VALUES (?,?,?)", [(k, c, _crc(k, c)) for k, c in exact_answers(codes, rows)])
    con.executemany("INSERT INTO meta VALUES (?,?)",
                    [("format", str(FORMAT)), ("icd_version", icd_version())])
    con.commit()


def build(path: Path, tabular: tuple[list[tuple], list[tuple]] | None = None) -> None:
    """Write the database to ``path`` (through a temporary file in the same directory, removed if
    anything fails). ``tabular`` is what :func:`_read_tabular` returned, if it was read already."""
    import tempfile

    codes, raw_terms = tabular or _read_tabular()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".icd10cm-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        try:
            con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
            _fill(con, codes, raw_terms)
            con.execute("VACUUM")
        finally:
            con.close()
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise


# --- open and validate ---------------------------------------------------------------------

CACHED = 65_536  # rows and words remembered per open index (a batch of distinct titles reads many)


class Index:
    """A validated, read-only connection to the ICD-10-CM database.

    Every query goes through :meth:`_query`: a query that fails (``sqlite3.DatabaseError``: a file
    whose bytes rotted without a change of size or mtime, which the stamp cannot see) or a row whose
    stored checksum does not match rebuilds the index once in this process, with one note on
    standard error, and runs the query again on the new one."""

    def __init__(self, con: sqlite3.Connection, path: Path | None):
        self.con = con
        self.path = path
        self.verified = False  # checked against the SHA-256 in this process (not the stamp alone)
        self.recovered = False  # rebuilt after a failed query in this process
        self._hits: dict[str, IcdHit | None] = {}
        self._rows: dict[str, tuple | None] = {}  # the database is read-only: a row read stays true
        self._words: dict[str, bool] = {}

    def _query(self, sql: str, params=(), *, one: bool = False, check=None):
        for attempt in (0, 1):
            try:
                cur = self.con.execute(sql, params)
                found = cur.fetchone() if one else cur.fetchall()
                if check is not None:
                    check(found)
                return found
            except sqlite3.DatabaseError as exc:
                if attempt or not _recover(self, exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def row(self, code: str):
        try:
            return self._rows[code]
        except KeyError:
            pass
        if len(self._rows) >= CACHED:
            self._rows.clear()
        r = self._query("SELECT code, title, parent, block, chapter, depth, leaf, grouping, crc FROM codes "
                        "WHERE code=?", (code,), one=True, check=_checked_row)
        r = self._rows[code] = None if r is None else r[:8]
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
        return self._query("SELECT code, title FROM codes WHERE parent=? ORDER BY code", (code,))

    def ancestors(self, code: str) -> list[str]:
        return tree_ancestors(code, lambda c: (self.row(c) or (None, None, None))[2])

    def default_child(self, code: str) -> str:
        return default_child(code, self.title, self.children)

    def exact(self, words) -> str | None:
        """The code that a search for exactly these words gives when only ICD-10-CM terms compete
        (:func:`exact_answers`), or None when the search has to decide."""
        r = self._query("SELECT key, code, crc FROM exact WHERE key=?", (" ".join(sorted(set(words))),),
                        one=True, check=_checked_exact)
        return r[1] if r else None

    def has_word(self, word: str) -> bool:
        hit = self._words.get(word)
        if hit is None:
            if len(self._words) >= CACHED:
                self._words.clear()
            hit = self._words[word] = self._query("SELECT 1 FROM words WHERE word=?", (word,), one=True) is not None
        return hit

    def near_words(self, word: str) -> list[tuple[str, int]]:
        """Words of the index one deletion away from ``word`` on either side, with their df."""
        keys = {word} | {word[:i] + word[i + 1:] for i in range(len(word))}
        marks = ",".join("?" * len(keys))
        found = {w for (w,) in self._query(f"SELECT word FROM deletes WHERE d IN ({marks})", sorted(keys))}
        found |= {w for (w,) in self._query(f"SELECT word FROM words WHERE word IN ({marks})", sorted(keys))}
        if not found:
            return []
        marks = ",".join("?" * len(found))
        return self._query(f"SELECT word, df FROM words WHERE word IN ({marks}) ORDER BY word", sorted(found))

    def search(self, tokens: list[str], limit: int = SEARCH_LIMIT, prefixes=frozenset()) -> list[tuple]:
        """Terms holding every token, shortest first; a token in ``prefixes`` may be the start of
        a word ("alcohol" finds "alcoholic")."""
        if not tokens:
            return []
        expr = " AND ".join(f'"{t}"*' if t in prefixes else f'"{t}"' for t in tokens)
        return self._query(
            "SELECT rowid, code, kind, toks, nos, n, depth, bm25(terms) FROM terms "
            "WHERE terms MATCH ? ORDER BY n, rowid LIMIT ?", (expr, limit))

    def any_words(self, tokens: list[str], limit: int = 60) -> list[tuple]:
        """Terms holding any of the tokens, best bm25 first (for suggestions)."""
        if not tokens:
            return []
        expr = " OR ".join(f'"{t}"' for t in tokens)
        return self._query(
            "SELECT rowid, code, kind, toks, nos, n, depth, bm25(terms) AS r FROM terms "
            "WHERE terms MATCH ? ORDER BY r, n, rowid LIMIT ?", (expr, limit))


def _checked_row(r) -> None:
    if r is not None and _crc(*r[:8]) != r[8]:
        raise sqlite3.DatabaseError(f"checksum mismatch in the row of {r[0]!r}")


def _checked_exact(r) -> None:
    if r is not None and _crc(r[0], r[1]) != r[2]:
        raise sqlite3.DatabaseError(f"checksum mismatch in the exact answer for {r[0]!r}")


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


def _write_manifest(manifest: Path, data: dict) -> bool:
    """Write the manifest atomically; False (nothing left behind, one note) when the cache
    directory cannot be written."""
    return write_cache(manifest, json.dumps(data, sort_keys=True).encode("utf-8"))


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
        _write_manifest(manifest, {**m, "stamp": stamp})  # a read-only cache: the next run checks in full again
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
# the index last handed out, and what chose its directory (the cache settings and the process):
# a batch row asks for the index several times, and building the path each time cost more than its look-ups
_last: list = [None, None]
STATS = {"builds": 0}


def _fresh(db: Path | None, manifest: Path | None) -> Index:
    """Build the index: into ``db`` in the cache directory, or, when that cannot be written (or
    ``db`` is None), into memory for this process (one note on standard error; nothing is left on
    disk)."""
    tabular = _read_tabular()
    if db is not None and manifest is not None and cache_writable(db.parent):
        try:
            build(db, tabular)
        except OSError as exc:
            mark_unwritable(db.parent, exc)
        else:
            STATS["builds"] += 1
            if _write_manifest(manifest, _manifest(db)):
                idx = Index(_connect(db), db)
                idx.verified = True
                return idx
    con = sqlite3.connect(":memory:", check_same_thread=False)
    _fill(con, *tabular)
    STATS["builds"] += 1
    idx = Index(con, None)
    idx.verified = True
    return idx


def _recover(idx: Index, exc: Exception) -> bool:
    """A query on an open index failed: rebuild it once (in this process) and swap the new
    connection into ``idx``. False if it was rebuilt already (the error then stands)."""
    with _lock:
        if idx.recovered:
            return False
        idx.recovered = True
        where = idx.path if idx.path is not None else "in memory"
        note("icd-rebuilt", f"the ICD-10-CM index ({where}) could not be read ({exc}); rebuilding it")
        try:
            idx.con.close()
        except sqlite3.Error:  # pragma: no cover - closing a damaged file
            pass
        db = idx.path
        fresh = _fresh(db, None if db is None else db.with_name(MANIFEST))
        idx.con, idx.path, idx.verified = fresh.con, fresh.path, True
        idx._rows.clear()
        idx._hits.clear()
        idx._words.clear()
    return True


def index(*, verify: bool = False) -> Index:
    """The validated index for the current cache directory (built or rebuilt when needed).

    ``verify`` (``kb check``) hashes the file even when its stamp is unchanged; an index opened
    on the stamp alone is checked then, and rebuilt if the check fails."""
    where = (cache_settings(), os.getpid())
    if not verify and _last[0] == where:
        return _last[1]
    db, manifest = _paths()
    key = f"{db}:{os.getpid()}"  # a connection is never used across fork (batch --jobs)
    with _lock:
        idx = _open.get(key)
        if idx is not None and (idx.verified or not verify):
            _last[:] = where, idx
            return idx
        if idx is not None and idx.path is None:  # built in memory in this process: nothing to check
            _last[:] = where, idx
            return idx
        idx = None
        if _valid(db, manifest, verify=verify):
            try:
                idx = Index(_connect(db), db)
                idx.verified = verify
            except (sqlite3.Error, TypeError):
                idx = None
        if idx is None:
            idx = _fresh(db, manifest)
        _open[key] = idx
        _last[:] = where, idx
        return idx


def forget() -> None:
    """Drop open indexes (tests: a new cache directory or a corrupted file)."""
    with _lock:
        for key, idx in _open.items():
            if key.endswith(f":{os.getpid()}"):
                idx.con.close()
        _open.clear()
        _last[:] = None, None


def is_valid(code: str) -> bool:
    return index().is_valid(code)


def hit(code: str) -> IcdHit | None:
    return index().hit(code)


__all__ = ["IcdHit", "Index", "index", "hit", "is_valid", "build", "forget", "key_tokens", "stem",
           "term_variants", "STOPWORDS", "FILLERS", "cache_dir"]
