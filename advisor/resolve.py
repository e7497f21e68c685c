"""Disease resolution (docs/design.md, "Resolution"; docs/resolution.md).

``resolve(kb, text)`` returns a :class:`Resolution` or raises :class:`UnknownDisease` (with
suggestions relevant to the words typed) or :class:`AmbiguousDisease` (with the candidates).

Order: an explicit ICD-10-CM code; a curated id, name, synonym or abbreviation (``exact`` /
``synonym``); the same names with the words in another order or British spelling
(``synonym``) or with typos corrected word by word (``fuzzy``); then ICD-10-CM titles,
inclusion terms and the lay-term thesaurus of ``knowledge/vocabulary.yaml`` through the
FTS5 index of :mod:`advisor.icd` (``category``, id ``icd10cm:CODE``). A reading that drops or
replaces a typed word is refused unless the word is only a generic one ("disease") or a typo
with a single close correction, and then it is said in ``notes``. Ranking of ICD-10-CM
candidates: every typed word must be present; then fewest extra words (a general code beats
a more specific one); an ancestor beats its descendants; a category resolves to its
"unspecified" child. Two candidates that stay tied are an ambiguity; an exact term of ICD-10-CM
is answered from the index's table of exact answers, without the search. When the whole text names
nothing, the words around a disease name (a question or treatment before it, a population or
species after it, an abbreviation in brackets) are left out, then the words that say how it was
studied (what induced it, the site or kind of lesion, the species and model, "healing"), and each
is said in ``notes``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field, replace

from .errors import AmbiguousDisease, UnknownDisease
from .kb import Knowledge
from .text import norm

from .limits import MAX_DISEASE_CHARS as MAX_CHARS, MAX_DISEASE_WORDS as MAX_WORDS, shown as _shown  # noqa: E402
HARD_CAP = 1_000_000  # characters: refused before any work
GENERIC = frozenset("disease diseases disorder disorders syndrome condition conditions problem problems "
                    "illness sickness".split())
# words of a code that move it to another population, setting or kind of record: a code that
# adds one of them is never chosen unless the user typed it ("bladder infection" is not
# "infections of bladder in pregnancy"; "drug addiction" is not "... in family")
NARROWING = frozenset("pregnancy pregnant childbirth puerperium puerperal maternal fetus fetal newborn "
                      "neonatal perinatal juvenile congenital gestational family history screening encounter "
                      "sequela sequelae postprocedural complicating personal".split())
_LEADING = frozenset(("a", "an", "my", "the"))
_NUMBERED = frozenset(("type", "grade", "stage", "class", "phase"))
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5",
          "one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}  # after "type", "stage"...
_ABBREVIATED = {"vs": "versus"}  # "graft vs host" is "graft versus host"
# words the curated names use interchangeably: tried on the curated names only (never on
# ICD-10-CM, where "brain damage" and "brain injury" are different codes), and said in notes
_INTERCHANGEABLE = {"damage": "injury", "injury": "damage"}
_SEVERITY = frozenset(("severe", "mild", "moderate"))  # left out of a curated name, and said
# a trailing "in children", "in preemies", "in mice": the population or species asked about, not
# part of the disease. Left out only when the whole text names nothing, and said in notes (the
# population is not applied: --population does that)
_POPULATION_WORD = {"children": "child", "child": "child", "kids": "child", "kid": "child", "toddlers": "child",
                    "infants": "neonate", "infant": "neonate", "babies": "neonate", "baby": "neonate",
                    "newborns": "neonate", "neonates": "neonate", "preemies": "neonate",
                    "adults": "adult", "adult": "adult", "elderly": "elderly", "seniors": "elderly",
                    "old people": "elderly", "older people": "elderly", "aged": "elderly", "aging": "elderly",
                    "ageing": "elderly", "old age": "elderly",
                    "women": "female", "woman": "female", "females": "female",
                    "men": "male", "man": "male", "males": "male"}
_SPECIES = frozenset(("mice", "mouse", "rats", "rat", "rodents", "animals", "animal model", "animal models"))
_IN_POPULATION = re.compile(
    r"^(?P<disease>.+?)\s+(?:in|among|for)\s+(?:the\s+|my\s+|our\s+|a\s+)?"
    r"(?:young\s+|older\s+|elderly\s+|premature\s+|preterm\s+|newborn\s+)?(?P<who>"
    + "|".join(sorted({*_POPULATION_WORD, *_SPECIES, "patients", "people", "humans"}, key=lambda w: (-len(w), w)))
    + r")\s*$", re.I)
# populations whose adjective makes another disease: "neonatal stroke" (P91.82-) is not "stroke"
_POPULATION_ADJECTIVE = {"neonate": "neonatal", "female": "female", "male": "male"}
# words around a disease name that ask about its treatment: left out (and said) when the whole
# text names nothing ("MSC exosomes for stroke", "stroke treatment"); a leading run of them is left
# out only if it holds one of the anchors, or ends in "for"
_FRAMING_ANCHOR = frozenset("what which how treat treating treatment treatments therapy therapies therapeutic cure "
                            "advice recommend msc mscs mscev mscevs ev evs exosome exosomes vesicle vesicles "
                            "secretome source sources route routes".split())
_FRAMING = _FRAMING_ANCHOR | frozenset("about best is are the a an to for of in on with using use extracellular "
                                       "mesenchymal stem stromal cell cells derived".split())
_FRAMING_TAIL = frozenset("treatment treatments therapy therapies cure management".split())
_BRACKETS = re.compile(r"^([^()]+?)\s*\(([^()]+)\)\s*$")
_CODE_RE = re.compile(r"^\s*(?:icd-?10(?:-?cm)?\s*:?\s*)?([A-Za-z][0-9][0-9A-Za-z](?:\.[0-9A-Za-z]{1,4})?)\s*$",
                      re.I)


class InputTooLong(UnknownDisease):
    """The text is far longer than any disease name: refused at once, without a search."""

    def __init__(self, text: str, words: int, chars: int):
        self.words = words
        self.chars = chars
        super().__init__(text, [])

    def message(self) -> str:
        head = self.text[:40].replace("\n", " ")
        return (f"unknown disease: the text given ({head!r}..., {self.chars} characters, {self.words} "
                f"distinct words) is too long for a disease name; give at most {MAX_WORDS} words "
                f"and {MAX_CHARS} characters (limits MAX_DISEASE_WORDS, MAX_DISEASE_CHARS)")


@dataclass(frozen=True)
class Resolution:
    text: str
    id: str
    name: str
    matched_by: str  # exact | synonym | fuzzy | category
    organ: str = ""
    processes: tuple[str, ...] = ()
    site: str = ""  # where in the organ system, where it matters for a route (categories.yaml sites)
    populations: tuple[str, ...] = ()
    icd10cm: str | None = None
    curated: bool = True
    icd_block: str = ""
    icd_chapter: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    relatives: tuple[str, ...] = ()  # curated diseases in the same ICD-10-CM block

    @property
    def categories(self) -> tuple[str, ...]:
        return (self.organ, *self.processes)

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "matched_by": self.matched_by}


# --- the lexicon of one knowledge base ---------------------------------------------------------

@dataclass
class _Lexicon:
    exact: dict[str, str]                       # norm(id or name) -> disease id
    synonym: dict[str, set[str]]                # norm(synonym) -> ids
    abbreviation: dict[str, set[str]]           # norm(abbreviation) -> ids
    source_abbrev: dict[str, str]
    curated_keys: dict[tuple, set[str]]         # sorted folded tokens -> ids
    lay: dict[tuple, set[str]]                  # sorted folded tokens -> ICD codes
    lay_terms: list[tuple[frozenset, str]]      # (tokens, code) for superset matches
    lay_cores: dict[tuple, list[tuple]]         # sorted tokens but fillers -> the sorted tokens of those terms
    spellings: list[tuple[str, str]]
    words: dict[str, int]                       # local words (curated, lay) -> frequency
    deletes: dict[str, set[str]]                # one deletion of a word or its unstemmed form -> words
    forms: dict[str, set[str]]                  # word -> itself and its unstemmed forms


def _fold_with(spellings, tok: str) -> str:
    from .icd import stem

    for b, a in spellings:
        if b in tok:
            tok = tok.replace(b, a)
    return stem(tok)


def _fold_raw(lex: _Lexicon, word: str) -> str:
    for b, a in lex.spellings:
        if b in word:
            word = word.replace(b, a)
    return word


def _tokens_with(spellings, text: str) -> list[str]:
    from .icd import STOPWORDS

    raw = norm(text).split()
    while raw and raw[0] in _LEADING:
        raw = raw[1:]
    out: list[str] = []
    for i, t in enumerate(raw):
        if t in STOPWORDS:
            continue
        if i and raw[i - 1] in _NUMBERED and t in _ROMAN:  # type II, type two -> type 2
            t = _ROMAN[t]
        t = _ABBREVIATED.get(t, t)
        f = _fold_with(spellings, t)
        if f not in out:
            out.append(f)
    return out


def _build(kb: Knowledge) -> _Lexicon:
    spellings = sorted(((r["british"].lower(), r["american"].lower()) for r in kb.spellings.values()),
                       key=lambda p: (-len(p[0]), p[0]))
    exact: dict[str, str] = {}
    synonym: dict[str, set[str]] = {}
    abbrev: dict[str, set[str]] = {}
    keys: dict[tuple, set[str]] = {}
    words: dict[str, int] = {}

    def add_key(text, did):
        toks = _tokens_with(spellings, text)
        if toks:
            keys.setdefault(tuple(sorted(toks)), set()).add(did)
            if "induced" in toks and len(toks) > 2:  # "cadmium kidney damage" for "cadmium-induced ..."
                keys.setdefault(tuple(sorted(t for t in toks if t != "induced")), set()).add(did)
            for t in toks:
                words[t] = words.get(t, 0) + 1

    for did, d in kb.diseases.items():
        exact[norm(did)] = did
        exact[norm(d["name"])] = did
        add_key(did.replace("-", " "), did)
        add_key(d["name"], did)
    for did, d in kb.diseases.items():
        for s in d.get("synonyms") or ():
            synonym.setdefault(norm(s), set()).add(did)
            add_key(s, did)
        for a in d.get("abbreviations") or ():
            abbrev.setdefault(norm(a), set()).add(did)
    src: dict[str, str] = {}
    for sid, s in kb.sources.items():
        for a in [sid, *(s.get("synonyms") or ())]:
            n = norm(a)
            src.setdefault(n, sid)
            if n.endswith(" msc"):
                src.setdefault(n[:-4], sid)
    lay: dict[tuple, set[str]] = {}
    lay_terms: list[tuple[frozenset, str]] = []
    for rec in kb.vocabulary.values():
        for term in rec["terms"]:
            toks = _tokens_with(spellings, term)
            if toks:
                lay.setdefault(tuple(sorted(toks)), set()).add(rec["icd10cm"])
                lay_terms.append((frozenset(toks), rec["icd10cm"]))
                for t in toks:
                    words[t] = words.get(t, 0) + 1
    from .icd import FILLERS, stem

    lay_cores: dict[tuple, list[tuple]] = {}
    for toks, _code in lay_terms:
        core = tuple(sorted(toks - FILLERS))
        if tuple(sorted(toks)) not in lay_cores.setdefault(core, []):
            lay_cores[core].append(tuple(sorted(toks)))
    forms: dict[str, set[str]] = {w: {w} for w in words}
    texts = [did.replace("-", " ") for did in kb.diseases]
    texts += [d["name"] for d in kb.diseases.values()]
    texts += [x for d in kb.diseases.values() for x in d.get("synonyms") or ()]
    texts += [t for r in kb.vocabulary.values() for t in r["terms"]]
    for text in texts:
        for w in norm(text).split():
            for b, a in spellings:
                w = w.replace(b, a) if b in w else w
            if stem(w) in forms:
                forms[stem(w)].add(w)
    deletes: dict[str, set[str]] = {}
    for w, fs in forms.items():
        for f in fs:
            if len(f) >= 4:
                for i in range(len(f)):
                    deletes.setdefault(f[:i] + f[i + 1:], set()).add(w)
    return _Lexicon(exact, synonym, abbrev, src, keys, lay, sorted(lay_terms, key=lambda x: (sorted(x[0]), x[1])),
                    {k: sorted(v) for k, v in sorted(lay_cores.items())}, spellings, words, deletes, forms)


# what _build reads besides the knowledge base: a change to any of them is a new lexicon
_LEXICON_CODE = ("resolve.py", "icd.py", "text.py")


def _build_fields(kb: Knowledge) -> dict:
    lex = _build(kb)
    return {name: getattr(lex, name) for name in _Lexicon.__dataclass_fields__}


def lexicon(kb: Knowledge) -> _Lexicon:
    """The lexicon of ``kb``: built once per process, and kept in the compile cache beside the
    knowledge base it comes from (advisor.kbcache.derived), so a one-shot query only loads it."""
    cached = kb.__dict__.get("_lexicon")
    if cached is None:
        from pathlib import Path

        from . import kbcache

        here = Path(__file__).resolve().parent
        table = kbcache.derived(kb, "lexicon", [here / n for n in _LEXICON_CODE], lambda: _build_fields(kb))
        if set(table) != set(_Lexicon.__dataclass_fields__):  # pragma: no cover - the key covers this file
            table = _build_fields(kb)
        cached = kb.__dict__["_lexicon"] = _Lexicon(**table)
    return cached


def query_tokens(kb: Knowledge, text: str) -> list[str]:
    """The content tokens of ``text`` as the resolver sees them (folded, deduplicated)."""
    return _tokens_with(lexicon(kb).spellings, text)


# --- typo tolerance ------------------------------------------------------------------------

def _osa(a: str, b: str) -> int:
    """Optimal-string-alignment distance (Levenshtein with adjacent transpositions)."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[lb]


def _allowed(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) <= 6 else 2


def _corrections(lex: _Lexicon, idx, word: str, n: int = 3, typed: str = "") -> list[str]:
    """Known words close to ``word`` (or to the word as typed), closest and most frequent first."""
    queries = sorted({word, typed} - {""})
    limit = max(_allowed(q) for q in queries)
    if not limit:
        return []
    keys = {k for q in queries for k in [q, *(q[:i] + q[i + 1:] for i in range(len(q)))]}
    cands: dict[str, tuple[int, int]] = {}

    def consider(w, forms, freq):
        d = min(_osa(q, f) for q in queries for f in forms)
        if d <= limit:
            old = cands.get(w)
            cands[w] = min(old, (d, -freq)) if old else (d, -freq)

    for k in sorted(keys):
        for w in sorted(lex.deletes.get(k, ())):
            consider(w, lex.forms[w], 1000 * lex.words[w])
        if k in lex.words:
            consider(k, lex.forms[k], 1000 * lex.words[k])
    if idx is not None:
        for q in queries:
            for w, df in idx.near_words(q):
                consider(w, {w}, df)
    return [w for w, _ in sorted(cands.items(), key=lambda x: (x[1], x[0]))][:n]


def _correct(lex: _Lexicon, idx, word: str) -> str | None:
    found = _corrections(lex, idx, word, 1)
    return found[0] if found else None


# --- ICD-10-CM ----------------------------------------------------------------------------

def _index():
    from . import icd

    return icd.index()


def _known(lex: _Lexicon, idx, word: str) -> bool:
    return word in lex.words or (idx is not None and idx.has_word(word))


def _default_child(idx, code: str) -> str:
    """Walk down to the child that is the same disease "unspecified" (I50 -> I50.9)."""
    return idx.default_child(code)


def _extra_weight(extra) -> float:
    from .icd import FILLERS

    return sum(0.0 if t in FILLERS else 0.5 if t in GENERIC else 3.0 if t in NARROWING else 1.0
               for t in extra)


def _icd_candidates(lex: _Lexicon, idx, toks: list[str]) -> list[tuple]:
    """(extra weight, kind rank, depth, code) for every term holding all the tokens."""
    want = set(toks)
    out: list[tuple] = []
    for ttoks, code in lex.lay_terms:
        if want <= ttoks:
            r = idx.row(code)
            if r is not None:  # the thesaurus is the project's own choice: it wins a tie
                out.append((_extra_weight(ttoks - want), -1, r[5], code))
    try:
        rows = idx.search(toks)
    except sqlite3.Error:
        rows = []
    for _rowid, code, kind, ttoks, nos, _n, depth, _rank in rows:
        extra = set(ttoks.split()) - want
        krank = 0 if kind == "title" or nos else 1
        out.append((_extra_weight(extra), krank, depth, code))
    return sorted(set(out))


def _lay_ties(lex: _Lexicon, toks: list[str]) -> bool:
    """Is there a thesaurus entry holding all of ``toks`` and adding only fillers?"""
    from .icd import FILLERS

    want = set(toks)
    return any(want <= set(s) for s in lex.lay_cores.get(tuple(sorted(want - FILLERS)), ()))


def _pick_icd(lex: _Lexicon, idx, text: str, toks: list[str]) -> tuple[str | None, float]:
    """The code for ``toks`` and how many words it adds; (None, inf) when none is acceptable."""
    if all(t in GENERIC for t in toks) or max(len(t) for t in toks) < 3:
        return None, float("inf")  # "disease", "I": no disease named
    # the words of a term exactly, and no thesaurus entry that ties with it: the answer the search
    # below would give, computed once when the index was built (a keyed look-up, no full-text search)
    code = idx.exact(toks)
    if code is not None and not _lay_ties(lex, toks):
        return code, 0.0
    cands = _icd_candidates(lex, idx, toks)
    if not cands:
        return None, float("inf")
    best = cands[0][0]
    # a code that adds a word the user did not type narrows the meaning: only when the words
    # already name something specific (two or more words), and never by more than two words;
    # a single word with a few equally good narrower readings is an ambiguity
    narrow = best >= 3 or (best >= 1 and len(toks) < 2)
    tied = [c for c in cands if c[0] == best]
    codes = sorted({c[3] for c in tied})[:80]
    anc = {c: set(idx.ancestors(c)) for c in codes}
    top = [c for c in codes if not (anc[c] & set(codes))]  # an ancestor beats its descendants
    for rank in (-1, 0):
        if len(top) > 1:
            strong = [c for c in top if any(t[3] == c and t[1] <= rank for t in tied)]
            if len(strong) == 1:
                top = strong
    if narrow and not 2 <= len(top) <= 6:
        return None, float("inf")
    if len(top) > 1:
        shown = [(f"icd10cm:{_default_child(idx, c)}", idx.title(_default_child(idx, c))) for c in top[:6]]
        raise AmbiguousDisease(text, sorted(set(shown)))
    return _default_child(idx, top[0]), best


def _in_block(block: str, ranges) -> bool:
    if block in ranges:
        return True
    if "-" not in block:
        return False
    lo, hi = block.split("-", 1)
    for r in ranges:
        if "-" in r:
            a, b = r.split("-", 1)
            if a <= lo and hi <= b:
                return True
    return False


def _code_match(code: str, prefix: str) -> bool:
    return code == prefix or code.startswith(prefix if "." in prefix else prefix + ".")


def _mapping_tables(kb: Knowledge) -> dict:
    """Per knowledge base: each code prefix a mapping names -> the mappings naming it (in id order),
    and the mappings of each (block, chapter) already asked for."""
    t = kb.memo("_icd_mapping_tables", kb.icd_mappings, kb.categories)
    if not t:
        prefixes: dict[str, list[str]] = {}
        for rid in sorted(kb.icd_mappings):
            for p in kb.icd_mappings[rid].get("codes") or ():
                prefixes.setdefault(p, []).append(rid)
        t.update(prefixes=prefixes, blocks={})
    return t


def _by_code(kb: Knowledge, code: str, *, index: bool = True) -> list[dict]:
    """The mappings that name ``code`` or a code above it, the most specific first (then by id)."""
    best: dict[str, int] = {}
    if index:
        prefixes = _mapping_tables(kb)["prefixes"]
        for i in range(1, len(code) + 1):
            p = code[:i]
            if p in prefixes and _code_match(code, p):
                for rid in prefixes[p]:
                    best[rid] = max(best.get(rid, 0), len(p))
    else:  # the plain definition (tests compare)
        for rid in sorted(kb.icd_mappings):
            hits = [p for p in kb.icd_mappings[rid].get("codes") or () if _code_match(code, p)]
            if hits:
                best[rid] = max(len(p) for p in hits)
    return [kb.icd_mappings[rid] for rid in sorted(best, key=lambda r: (-best[r], r))]


def _by_place(kb: Knowledge, block: str, chapter: str) -> tuple:
    """The mappings and organ-system / process categories of an ICD-10-CM block and chapter."""
    by_block, by_chapter = [], []
    for rid in sorted(kb.icd_mappings):
        m = kb.icd_mappings[rid]
        if _in_block(block, m.get("blocks") or ()):
            by_block.append(m)
        if chapter in (m.get("chapters") or ()):
            by_chapter.append(m)
    cat_block = [cid for cid, c in kb.categories.items()
                 if c["kind"] == "organ-system" and _in_block(block, c.get("icd10cm_blocks") or ())]
    cat_chapter = [cid for cid, c in kb.categories.items()
                   if c["kind"] == "organ-system" and chapter in (c.get("icd10cm_chapters") or ())]
    cat_processes = tuple(cid for cid, c in kb.categories.items() if c["kind"] == "process" and (
        _in_block(block, c.get("icd10cm_blocks") or ()) or chapter in (c.get("icd10cm_chapters") or ())))
    return by_block, by_chapter, cat_block, cat_chapter, cat_processes


def icd_profile(kb: Knowledge, code: str, block: str, chapter: str, *, index: bool = True) -> tuple[str, tuple, tuple]:
    """Organ system, processes and populations of an ICD-10-CM code (knowledge/vocabulary.yaml).
    With ``index`` (the default) the mappings are looked up by code prefix, and each block and
    chapter is read once per knowledge base; ``index=False`` scans them all (tests compare)."""
    by_code = _by_code(kb, code, index=index)
    if index:
        places = _mapping_tables(kb)["blocks"]
        if (block, chapter) not in places:
            places[(block, chapter)] = _by_place(kb, block, chapter)
        by_block, by_chapter, cat_block, cat_chapter, cat_processes = places[(block, chapter)]
    else:
        by_block, by_chapter, cat_block, cat_chapter, cat_processes = _by_place(kb, block, chapter)
    organ = next((m["organ"] for m in by_code + by_block if m.get("organ")), None)
    organ = organ or (cat_block[0] if cat_block else None)
    organ = organ or next((m["organ"] for m in by_chapter if m.get("organ")), None)
    organ = organ or (cat_chapter[0] if cat_chapter else "systemic")
    processes: tuple = ()
    for group in (by_code, by_block, by_chapter):
        found = [p for m in group for p in m.get("processes") or ()]
        if found:
            processes = tuple(dict.fromkeys(found))
            break
    if not processes:
        processes = cat_processes
    pops = tuple(p for p in ("neonate", "child", "adult", "elderly", "female", "male")
                 if any(p in (m.get("populations") or ()) for m in by_code + by_block + by_chapter))
    return organ, processes, pops


def icd_site(kb: Knowledge, code: str, block: str, chapter: str, organ: str) -> str:
    """The site of an ICD-10-CM code within its organ system (knowledge/vocabulary.yaml mappings: the
    most specific mapping that names one, code, then block, then chapter), or '' when none does or
    the site lies in another organ system than the one the code was placed in."""
    by_code = _by_code(kb, code)
    places = _mapping_tables(kb)["blocks"]
    if (block, chapter) not in places:
        places[(block, chapter)] = _by_place(kb, block, chapter)
    by_block, by_chapter = places[(block, chapter)][:2]
    site = next((m["site"] for m in (*by_code, *by_block, *by_chapter) if m.get("site")), "")
    return site if site and (kb.categories.get(site) or {}).get("within") == organ else ""


def _curated_by_code(kb: Knowledge) -> dict[str, list[str]]:
    cached = kb.__dict__.get("_curated_by_code")
    if cached is None:
        cached = {}
        for did in sorted(kb.diseases):
            code = kb.diseases[did].get("icd10cm")
            if code:
                cached.setdefault(code, []).append(did)
        kb.__dict__["_curated_by_code"] = cached
    return cached


def _relatives(kb: Knowledge, idx, block: str) -> tuple[str, ...]:
    cached = kb.__dict__.get("_curated_blocks")
    if cached is None:
        cached = {}
        for did in sorted(kb.diseases):
            code = kb.diseases[did].get("icd10cm")
            r = idx.row(code) if code else None
            if r is not None:
                cached.setdefault(r[3], []).append(did)
        kb.__dict__["_curated_blocks"] = cached
    return tuple(cached.get(block, ()))


def _icd_resolution(kb: Knowledge, idx, text: str, code: str, notes: list[str],
                    how: str = "category") -> Resolution:
    r = idx.row(code)
    title, block, chapter = r[1], r[3], r[4]
    organ, processes, pops = icd_profile(kb, code, block, chapter)
    return Resolution(text=text, id=f"icd10cm:{code}", name=title, matched_by=how, organ=organ,
                      processes=processes, site=icd_site(kb, code, block, chapter, organ),
                      populations=pops, icd10cm=code, curated=False,
                      icd_block=block, icd_chapter=chapter, notes=tuple(notes),
                      relatives=_relatives(kb, idx, block))


def _curated(kb: Knowledge, text: str, did: str, how: str, notes=()) -> Resolution:
    d = kb.diseases[did]
    block = chapter = ""
    rel: tuple[str, ...] = ()
    return Resolution(text=text, id=did, name=d["name"], matched_by=how, organ=d["organ"],
                      processes=tuple(d.get("processes") or ()), site=d.get("site") or "",
                      populations=tuple(d.get("populations") or ()),
                      icd10cm=d.get("icd10cm"), curated=True, icd_block=block, icd_chapter=chapter,
                      notes=tuple(notes), relatives=rel)


def _candidates(kb: Knowledge, ids) -> list[tuple[str, str]]:
    return [(i, kb.diseases[i]["name"]) for i in sorted(ids)]


# --- suggestions ------------------------------------------------------------------------------

def suggestions(kb: Knowledge, text: str, n: int = 5, *, use_icd: bool = True) -> list[str]:
    """Curated ids, then ICD-10-CM codes, that share words with ``text`` (not mere spelling)."""
    lex = lexicon(kb)
    idx = _safe_index() if use_icd else None
    toks = []
    for t in _tokens_with(lex.spellings, text)[:MAX_WORDS]:
        if t in GENERIC or len(t) < 2:
            continue
        if not _known(lex, idx, t):
            t = _correct(lex, idx, t) or t
        toks.append(t)
    if not toks:
        return []
    want = set(toks)
    scored: list[tuple] = []
    for key, dids in lex.curated_keys.items():
        overlap = len(want & set(key))
        if overlap:
            for did in dids:
                scored.append((-overlap, 0, len(key), 0.0, did))
    if idx is not None:
        try:
            rows = idx.any_words(sorted(want))
        except sqlite3.Error:
            rows = []
        for r in rows:
            overlap = len(want & set(r[3].split()))
            scored.append((-overlap, 1, r[5], r[7], r[1]))
    out: list[str] = []
    for *_, item in sorted(scored):
        label = item if item in kb.diseases else f"icd10cm:{_default_child(idx, item)}"
        if label not in out:
            out.append(label)
        if len(out) >= n:
            break
    return out[:n]


def _safe_index():
    try:
        return _index()
    except (OSError, sqlite3.Error, ImportError):  # no ICD-10-CM: curated names still resolve
        return None


# --- resolve ------------------------------------------------------------------------------

def resolve(kb: Knowledge, text: str, *, use_icd: bool = True) -> Resolution:
    if not isinstance(text, str):
        raise UnknownDisease(repr(text), [])
    raw = text.strip()
    if len(raw) > HARD_CAP:  # not even read
        raise InputTooLong(raw, len(set(raw[:HARD_CAP].split())), len(text))
    try:
        res = _resolve(kb, raw, text, use_icd)
    except InputTooLong:
        raise
    except (UnknownDisease, AmbiguousDisease) as exc:
        both = _bracketed(kb, raw, text, use_icd)
        if both is not None:
            return both
        # "MSC exosomes for stroke", "allergic asthma in kids": the words around the disease are
        # left out (and said) when the whole text names nothing and the rest names a disease
        rest, notes, pop, said = _without_surroundings(raw)
        if not notes or not rest:
            # "bleomycin-induced pulmonary fibrosis", "skin wound healing": how it was studied
            found = _as_model(kb, raw, raw, text, use_icd) if isinstance(exc, UnknownDisease) else None
            if found is None:
                raise
            return _as_typed(found[0], raw, found[1])
        res = None
        if pop in _POPULATION_ADJECTIVE:
            # "stroke in newborns" is neonatal stroke, "infertility in women" female infertility:
            # for these populations the words name another disease, which is tried first
            adjective = _POPULATION_ADJECTIVE[pop]
            try:
                res = _resolve(kb, f"{adjective} {rest}", text, use_icd)
                notes = [*notes[:-1], f"read {said!r} as {adjective!r}: {adjective} {rest}"]
            except (UnknownDisease, AmbiguousDisease):
                res = None
        if res is None:
            try:
                res = _resolve(kb, rest, text, use_icd)
            except AmbiguousDisease:
                raise exc from None
            except UnknownDisease:
                # "MSC exosomes for skin wound healing": the rest names the disease through its model
                found = _as_model(kb, rest, raw, text, use_icd) if isinstance(exc, UnknownDisease) else None
                if found is None:
                    raise exc from None
                res, notes = found[0], [*notes, *found[1]]
        return _as_typed(res, raw, notes)
    if not res.curated:  # "lupus (SLE)" is the curated disease, not ICD-10-CM's title with "(SLE)"
        return _bracketed(kb, raw, text, use_icd) or res
    return res


def _without_surroundings(raw: str) -> tuple[str, list[str], str | None, str]:
    """The text without a leading question or treatment ("MSC exosomes for", "therapy of"), a
    trailing population or species and a trailing "treatment" ("stroke treatment in newborns"),
    with a note for each (the population's last), the population named (neonate, child, ...), if
    any, and its words."""
    notes = []
    pop = None
    left = ""
    words = raw.split()
    lead = 0
    while lead < len(words) - 1 and norm(words[lead]).replace(" ", "") in _FRAMING:
        lead += 1
    if lead and not (any(norm(w).replace(" ", "") in _FRAMING_ANCHOR for w in words[:lead])
                     or norm(words[lead - 1]) == "for"):
        lead = 0  # "cell injury" is not "injury": only a question or a treatment is left out
    if lead:
        notes.append(f"left out {' '.join(words[:lead])!r}: words about the treatment, not the disease")
    rest = " ".join(words[lead:])
    m = _IN_POPULATION.match(rest)
    if m is not None:
        left = rest[m.end("disease"):].strip()
        rest = m.group("disease").strip()
    words = rest.split()
    tail = len(words)
    while tail > 1 and norm(words[tail - 1]) in _FRAMING_TAIL:
        tail -= 1
    if tail < len(words):
        notes.append(f"left out {' '.join(words[tail:])!r}: words about the treatment, not the disease")
        rest = " ".join(words[:tail])
    if m is not None:
        who = m.group("who").lower()
        if who in _SPECIES:
            notes.append(f"left out {left!r}: the species studied, not part of the disease")
        else:
            pop = _POPULATION_WORD.get(who)
            hint = f" (to consult for them, add --population {pop})" if pop else ""
            notes.append(f"left out {left!r}: a population, not part of the disease{hint}")
    return rest, notes, pop, left


# --- words about how the disease was studied -------------------------------------------------
# A researcher names a disease through the model it was studied in: "bleomycin-induced pulmonary
# fibrosis", "calvarial bone defect", "skin wound healing", "rat model of stroke". When the whole
# text names nothing, these words are left out (fewest first) and said in the notes. Words that
# narrow the disease (what induced it, the site of the lesion, the kind of lesion made) are left
# out only for a curated disease, and only when no other disease could be meant: a term of
# ICD-10-CM or a curated name holding all the words ("alcohol-induced liver disease": alcoholic
# liver disease), or the left-out words naming a disease themselves ("sepsis-induced AKI"), make it
# an ambiguity. Words that only frame it (the species, "model", "healing") are left out as a
# trailing population is.
_MODEL_SPECIES = frozenset("mouse mice murine rat rats rodent rodents rabbit rabbits porcine pig pigs swine canine "
                           "dog dogs ovine sheep primate primates monkey monkeys zebrafish animal animals".split())
_MODEL = frozenset(("model", "models"))
_MODEL_OPENING = frozenset("a an the preclinical experimental animal disease vivo in".split()) | _MODEL_SPECIES
_HEALING = frozenset(("healing", "repair", "regeneration"))
# sites of a lesion within a tissue, as the models name them ("calvarial", "femoral", "dorsal" skin)
_SITE = frozenset("calvarial calvaria calvarium cranial skull femoral femur tibial tibia mandibular mandible "
                  "maxillary alveolar radial ulnar vertebral iliac humeral parietal dorsal back ear paw tail".split())
# the kind of lesion a model makes ("critical-size", "full-thickness", "excisional")
_LESION = (("critical", "size"), ("critical", "sized"), ("full", "thickness"), ("partial", "thickness"),
           ("excisional",), ("incisional",), ("punch",), ("segmental",), ("surgical",), ("experimental",))
_NARROWING_KINDS = frozenset(("agent", "site", "lesion"))
_MODEL_SAID = {
    "agent": "what induced the disease in the model, not the disease",
    "site": "the site of the lesion, not the disease",
    "lesion": "the kind of lesion made in the model, not the disease",
    "species": "the species studied, not part of the disease",
    "model": "words about the model, not the disease",
    "healing": "the process studied, not the disease",
}
_RAW_WORD = re.compile(r"[^\s\-/(),;:.]+")
_MAX_MODEL_PARTS = 5  # parts left out in at most 2**5 combinations, tried only when nothing else matched


@dataclass(frozen=True)
class _Part:
    start: int  # word indexes [start, end) in the text
    end: int
    kind: str
    adds: str = ""  # a word the rest gains when the part is left out ("CCl4-injured liver": liver injury)


def _model_words(raw: str) -> list[tuple[str, int, int]]:
    """The words of ``raw`` as the resolver reads them, each with its span in ``raw``."""
    out = []
    for m in _RAW_WORD.finditer(raw):
        for w in norm(m.group()).split():
            out.append((w, m.start(), m.end()))
    return out


def _model_parts(words: list[str]) -> list[_Part]:
    """The parts of a text that say how the disease was studied, found from both ends inwards."""
    parts: list[_Part] = []
    lo, hi = 0, len(words)
    while hi - lo > 1 and len(parts) < _MAX_MODEL_PARTS:
        w = words[lo:hi]
        n = len(w)
        found = None
        if n > 2 and w[-1] in _MODEL_SPECIES and w[-2] in ("in", "of"):  # "colitis of rats"
            found = _Part(hi - 2, hi, "species")
        elif n > 3 and w[-1] in _MODEL_SPECIES and w[-2] == "the" and w[-3] in ("in", "of"):
            found = _Part(hi - 3, hi, "species")
        elif w[-1] in _MODEL:  # "stroke model", "EAE rat models"
            i = n - 1
            while i > 1 and w[i - 1] in _MODEL_SPECIES:
                i -= 1
            found = _Part(lo + i, hi, "model")
        elif w[-1] in _HEALING:  # "skin wound healing"
            found = _Part(hi - 1, hi, "healing")
        elif "of" in w[1:n - 1] and w[w.index("of", 1) - 1] in _MODEL \
                and all(x in _MODEL_OPENING for x in w[:w.index("of", 1) - 1]):  # "a rat model of stroke"
            found = _Part(lo, lo + w.index("of", 1) + 1, "model")
        elif n > 2 and w[0] in _HEALING and w[1] == "of":  # "healing of skin wounds"
            found = _Part(lo, lo + (3 if n > 3 and w[2] == "the" else 2), "healing")
        elif w[0] in _MODEL_SPECIES:  # "murine colitis"
            found = _Part(lo, lo + 1, "species")
        elif "induced" in w[1:n - 2] and w[w.index("induced", 1) + 1] == "by":  # "... induced by bleomycin"
            found = _Part(lo + w.index("induced", 1), hi, "agent")
        elif "induced" in w[:4] and w.index("induced") < n - 1:  # "bleomycin-induced ..."
            found = _Part(lo, lo + w.index("induced") + 1, "agent")
        elif "injured" in w[1:4] and w.index("injured") < n - 1:  # "CCl4-injured liver": what injured it
            found = _Part(lo, lo + w.index("injured"), "agent")
        elif w[0] == "injured" and n > 1:  # "injured liver": a liver injury
            found = _Part(lo, lo + 1, "injured", "injury")
        elif w[0] in _SITE:
            found = _Part(lo, lo + 1, "site")
        else:
            for lesion in _LESION:
                if tuple(w[:len(lesion)]) == lesion and n > len(lesion):
                    found = _Part(lo, lo + len(lesion), "lesion")
                    break
        if found is None:
            break
        parts.append(found)
        if found.start == lo:
            lo = found.end
        else:
            hi = found.start
    return parts


def _span(raw: str, words: list[tuple[str, int, int]], part: _Part) -> str:
    """The text of a part as typed ("bleomycin-induced")."""
    return raw[words[part.start][1]:words[part.end - 1][2]]


def _model_rest(raw: str, words: list[tuple[str, int, int]], gone: set[int]) -> str:
    """The text without the words ``gone``: the words as typed where a whole typed word stays."""
    out: list[str] = []
    spans: dict[tuple[int, int], list[int]] = {}
    for k, (_, s, e) in enumerate(words):
        spans.setdefault((s, e), []).append(k)
    for (s, e), ks in spans.items():
        kept = [k for k in ks if k not in gone]
        if len(kept) == len(ks):
            out.append(raw[s:e])
        else:
            out.extend(words[k][0] for k in kept)
    return " ".join(out)


def _as_model(kb: Knowledge, raw: str, shown: str, text: str, use_icd: bool) -> tuple[Resolution, list[str]] | None:
    """``raw`` without the words that say how the disease was studied (see _MODEL_SAID), fewest left
    out first: the resolution of the rest and the notes on what was left out; AmbiguousDisease
    (about ``shown``, the text as typed); or None when no such reading names a disease.
    A reading that leaves out what induced the disease, the site or the kind of lesion must be a
    curated disease that nothing else typed could name (else it is an ambiguity); UnknownDisease
    when those readings name only ICD-10-CM codes (they are offered as suggestions)."""
    import itertools

    words = _model_words(raw)
    parts = _model_parts([w for w, _, _ in words])
    if not parts:
        return None
    combos = sorted((c for r in range(1, len(parts) + 1) for c in itertools.combinations(range(len(parts)), r)),
                    key=lambda c: (len(c), sum(parts[i].kind in _NARROWING_KINDS for i in c), c))
    offered: list[str] = []
    offered_for = ""  # the first rest that named only ICD-10-CM codes
    for combo in combos:
        chosen = sorted((parts[i] for i in combo), key=lambda p: p.start)
        gone = {k for p in chosen for k in range(p.start, p.end)}
        rest = _model_rest(raw, words, gone)
        if not rest:
            continue
        rest = " ".join([rest, *(p.adds for p in chosen if p.adds)])
        narrowing = [p for p in chosen if p.kind in _NARROWING_KINDS]
        try:
            res = _resolve(kb, rest, text, use_icd, suggest=False)
        except AmbiguousDisease as exc:
            if narrowing:  # what is left after leaving out a narrowing word is no curated disease
                continue
            raise AmbiguousDisease(shown, exc.candidates, exc.note) from None
        except UnknownDisease:
            continue
        said = [f"read {_span(raw, words, p)!r} as 'injury' of what follows" if p.kind == "injured"
                else f"left out {_span(raw, words, p)!r}: {_MODEL_SAID[p.kind]}" for p in chosen]
        if narrowing:
            others = _other_readings(kb, words, narrowing, gone, res, text, use_icd)
            if not res.curated:
                offered += [res.id, *(i for i, _ in others)]
                offered_for = offered_for or rest
                continue
            if others:
                left = ", ".join(repr(_span(raw, words, p)) for p in narrowing)
                raise AmbiguousDisease(shown, [(res.id, res.name), *others], f"{left} may name another disease")
        return res, said
    if offered:
        seen = list(dict.fromkeys([*offered, *suggestions(kb, offered_for, use_icd=use_icd)]))
        raise UnknownDisease(shown, seen[:5])
    return None


_AGENT_GLUE = frozenset(("induced", "injured", "by", "experimentally", "chemically"))
_EXTERNAL_CHAPTERS = frozenset(("19", "20"))  # ICD-10-CM injury and poisoning, external causes


def _other_readings(kb: Knowledge, words, narrowing: list[_Part], gone: set[int], res: Resolution, text: str,
                    use_icd: bool) -> list[tuple[str, str]]:
    """The diseases that the words left out could make, besides ``res``: a curated name or an
    ICD-10-CM term holding every word typed (what induced it counted as the start of a word:
    "alcohol" in "alcoholic liver disease"), and the disease the left-out words name by themselves
    ("sepsis" in "sepsis-induced AKI")."""
    lex = lexicon(kb)
    left = [words[k][0] for p in narrowing for k in range(p.start, p.end) if words[k][0] not in _AGENT_GLUE]
    kept = [w for k, (w, _, _) in enumerate(words) if k not in gone]
    toks = _tokens_with(lex.spellings, " ".join([*kept, *left]))
    stems = set(_tokens_with(lex.spellings, " ".join(words[k][0] for p in narrowing if p.kind == "agent"
                                                    for k in range(p.start, p.end))))
    prefixes = {t for t in toks if t in stems and len(t) >= 4}
    found: list[tuple[str, str]] = []

    def holds(name: list[str]) -> bool:
        return all(any(x == t or (t in prefixes and x.startswith(t)) for x in name) for t in toks)

    if not left:  # only words that name no disease were left out ("experimentally induced")
        return []
    for did in sorted(kb.diseases):
        if did != res.id and any(holds(t) for t in _name_tokens(kb, lex, did)):
            found.append((did, kb.diseases[did]["name"]))
    idx = _safe_index() if use_icd else None
    if idx is not None and toks:
        try:
            rows = idx.search(toks, limit=40, prefixes=prefixes)
        except sqlite3.Error:
            rows = []
        # terms that add at most one word ("Alcoholic liver disease, unspecified"), not every longer
        # one that mentions them ("esophageal varices in alcoholic liver disease")
        codes = list(dict.fromkeys(_default_child(idx, r[1]) for r in rows if r[5] <= len(toks) + 1))
        found += [(f"icd10cm:{c}", idx.title(c)) for c in codes if c != res.icd10cm][:3]
    try:
        alone = _resolve(kb, " ".join(left), text, use_icd, suggest=False)
    except (UnknownDisease, AmbiguousDisease):
        alone = None
    # a disease of its own, not a poisoning by it ("carbon tetrachloride": T53.0X, toxic effect of ...)
    if alone is not None and alone.matched_by != "fuzzy" and alone.icd_chapter not in _EXTERNAL_CHAPTERS:
        found.append((alone.id, alone.name))
    return [c for c in dict.fromkeys(found) if c[0] != res.id]


def _bracketed(kb: Knowledge, raw: str, text: str, use_icd: bool) -> Resolution | None:
    """"myocardial infarction (MI)", "lupus (SLE)": a name with another name or its abbreviation in
    brackets is the curated disease both name, said in notes; anything else is read as typed."""
    m = _BRACKETS.match(raw)
    if m is None:
        return None
    try:
        outer = _resolve(kb, m.group(1).strip(), text, use_icd)
    except (UnknownDisease, AmbiguousDisease):
        return None
    try:
        same = _resolve(kb, m.group(2).strip(), text, use_icd).id == outer.id
    except AmbiguousDisease as exc:  # "Alzheimer's disease (AD)": AD is one of its readings
        same = outer.id in {c for c, _ in exc.candidates}
    except UnknownDisease:
        return None
    if not outer.curated or not same:
        return None
    return _as_typed(outer, raw, [f"read {m.group(1).strip()!r} and {m.group(2).strip()!r} as names of one disease"])


def _as_typed(res: Resolution, raw: str, notes: list[str]) -> Resolution:
    """A resolution of part of ``raw`` given as the resolution of ``raw``: its text, the notes on
    what was left out, and never ``exact`` (the words typed were not the name)."""
    how = "synonym" if res.matched_by == "exact" else res.matched_by
    return replace(res, text=raw, matched_by=how, notes=(*res.notes, *notes))


def _resolve(kb: Knowledge, raw: str, text: str, use_icd: bool, suggest: bool = True) -> Resolution:
    """One reading of ``raw``; ``suggest=False`` (a trial reading of part of the text) raises
    UnknownDisease without suggestions, which cost more than the reading."""
    lex = lexicon(kb)
    notes: list[str] = []
    words = norm(raw).split()
    distinct = list(dict.fromkeys(words))
    if len(distinct) > MAX_WORDS or len(" ".join(distinct)) > MAX_CHARS:
        raise InputTooLong(raw, len(distinct), len(text))
    if len(words) != len(distinct):
        words = distinct
        notes.append("ignored repeated words")
    key = " ".join(words)
    if not key:
        raise UnknownDisease(raw, [])

    opened: list = []

    def icd_index():  # opened on first need: a curated name never needs it
        if not opened:
            opened.append(_safe_index() if use_icd else None)
        return opened[0]

    m = _CODE_RE.match(raw)
    if m and (idx := icd_index()) is not None:
        code = m.group(1).upper()
        if len(code) > 3 and "." not in code:
            code = code[:3] + "." + code[3:]
        r = idx.row(code)
        if r is not None and not r[7]:
            # the code of exactly one curated disease whose title says no more than one of that
            # disease's names (fillers such as "unspecified" aside) is that disease: "M17.9" is knee
            # osteoarthritis, but "H35.34" (macular cyst, hole, or pseudohole) is more than the
            # curated macular hole, and a nearest code (K75.9 for acute liver injury) names another
            own = _named_by_title(kb, lex, code, r[1])
            if len(own) == 1:
                d = kb.diseases[own[0]]
                return _curated(kb, raw, own[0], "exact",
                                [*notes, f"ICD-10-CM {code} is the code of {d['name']!r} ({own[0]}), which the reviews name"])
            return _icd_resolution(kb, idx, raw, code, notes)
    if raw.lower().startswith("icd10cm:"):
        raise UnknownDisease(raw, [])

    # curated names, as typed
    if key in lex.exact:
        return _curated(kb, raw, lex.exact[key], "exact", notes)
    hits = set(lex.synonym.get(key, ())) | set(lex.abbreviation.get(key, ()))
    if len(hits) == 1:
        return _curated(kb, raw, hits.pop(), "synonym", notes)
    if len(hits) > 1:
        note = ""
        if key in lex.source_abbrev:
            note = f"{raw!r} is also the MSC source {lex.source_abbrev[key]}"
        raise AmbiguousDisease(raw, _candidates(kb, hits), note)
    if key in lex.source_abbrev:
        raise UnknownDisease(raw, [])

    toks = _tokens_with(lex.spellings, key)
    if not toks:
        raise UnknownDisease(raw, [])
    # curated names in another word order or spelling
    hit = _curated_key(kb, raw, lex, toks, "synonym", notes)
    if hit is not None:
        return hit
    for variant, said in _curated_variants(lex, toks):
        hit = _curated_key(kb, raw, lex, variant, "synonym", [*notes, *said])
        if hit is not None:
            return hit
    idx = icd_index()
    # typos and words nobody uses in a disease name
    typed = {_fold_with(lex.spellings, w): w for w in reversed(words)}
    fixed: list[str] = []
    options: dict[str, list[str]] = {}
    changed = False
    for t in toks:
        if _known(lex, idx, t):
            fixed.append(t)
            continue
        found = _corrections(lex, idx, t, typed=_fold_raw(lex, typed.get(t, "")))
        if found:
            options[t] = found
            if found[0] not in fixed:
                fixed.append(found[0])
            changed = True
        elif t in GENERIC:
            notes.append(f"ignored the word {typed.get(t, t)!r}")
            changed = True
        else:
            raise UnknownDisease(raw, suggestions(kb, raw, use_icd=use_icd) if suggest else [])
    if not fixed:
        raise UnknownDisease(raw, [])
    if options:
        # a curated name reachable through any of the close corrections wins ("diabetis":
        # "diabetic" is one edit away, but only "diabetes" names a disease)
        for choice in _choices(toks, options, fixed):
            ids = lex.curated_keys.get(tuple(sorted(set(choice))))
            if ids:
                fixed = list(dict.fromkeys(choice))
                break
        for t in toks:
            if t in options:
                c = next(c for c in options[t] if c in fixed)
                shown = typed.get(t, t)
                c = min(lex.forms.get(c, {c}), key=lambda f: (_osa(shown, f), f))
                notes.append(f"read {shown!r} as {c!r}")
    if changed:
        hit = _curated_key(kb, raw, lex, fixed, "fuzzy", notes)
        if hit is not None:
            return hit
    if idx is None:
        raise UnknownDisease(raw, suggestions(kb, raw, use_icd=False) if suggest else [])
    try:
        try:
            code, extra = _pick_icd(lex, idx, raw, fixed)
            pending = None
        except AmbiguousDisease as exc:
            code, extra, pending = None, float("inf"), exc
        generic = [t for t in fixed if t in GENERIC]
        if extra > 0 and generic and len(generic) < len(fixed):
            # "heart failure disease": when the typed words name no code exactly but the words
            # without the generic one do, take that and say the generic word was left out
            try:
                bare, bare_extra = _pick_icd(lex, idx, raw, [t for t in fixed if t not in GENERIC])
            except AmbiguousDisease:
                bare, bare_extra = None, float("inf")
            if bare is not None and bare_extra == 0:
                code, pending = bare, None
                notes.extend(f"ignored the word {typed.get(t, t)!r}" for t in generic)
                changed = True
        if pending is not None:
            inside = _curated_inside(kb, lex, fixed)
            if inside:  # "knee arthritis": knee osteoarthritis is a reading too
                raise AmbiguousDisease(pending.text, _candidates(kb, inside) + list(pending.candidates), pending.note)
            raise pending
    except sqlite3.Error:
        code = None
    if code is None:
        raise UnknownDisease(raw, suggestions(kb, raw) if suggest else [])
    title = idx.title(code)
    if norm(title) != key:
        notes.append(f"matched {_shown(raw)} to {code} {title}")
    # the code of exactly one curated disease, and the words typed name it (all the words of
    # its name or of a synonym are among them): the curated disease, said in the notes
    # or its title is the curated name ("lou gehrigs" is G12.21, as for a typed code, above)
    by_title = _named_by_title(kb, lex, code, title)
    curated = [did for did in _curated_by_code(kb).get(code, []) if did in by_title
               or (not kb.diseases[did].get("note") and _names_within(kb, lex, did, set(fixed)))]
    if len(curated) == 1:
        d = kb.diseases[curated[0]]
        notes.append(f"the reviews name it {d['name']!r} ({curated[0]})")
        return _curated(kb, raw, curated[0], "fuzzy" if changed else "synonym", notes)
    return _icd_resolution(kb, idx, raw, code, notes)


def _choices(toks: list[str], options: dict[str, list[str]], kept: list[str], limit: int = 27):
    """Token lists with each corrected word replaced by one of its options, best first."""
    import itertools

    slots = [options[t] if t in options else [t] for t in toks if t in options or t in kept]
    return itertools.islice(itertools.product(*slots), limit)


def _curated_variants(lex: _Lexicon, toks: list[str]):
    """The typed words as a curated name may say them, each with what the notes say: one word
    typed as two ("osteo arthritis"), a severity left out ("severe burns"), damage read as injury
    and back ("sciatic nerve damage"). Only curated names are tried with them."""
    for i in range(len(toks) - 1):
        joined = toks[i] + toks[i + 1]
        if joined in lex.words:
            yield [*toks[:i], joined, *toks[i + 2:]], [f"read {toks[i] + ' ' + toks[i + 1]!r} as {joined!r}"]
    if len(toks) > 1 and any(t in _SEVERITY for t in toks):
        yield ([t for t in toks if t not in _SEVERITY],
               [f"left out {t!r}: the severity, not the disease" for t in toks if t in _SEVERITY])
    if "induced" in toks and len(toks) > 2:  # "acetaminophen-induced liver injury": a name without "-induced"
        yield [t for t in toks if t != "induced"], ["read it without 'induced'"]
    if any(t in _INTERCHANGEABLE for t in toks):
        yield ([_INTERCHANGEABLE.get(t, t) for t in toks],
               [f"read {t!r} as {_INTERCHANGEABLE[t]!r}" for t in toks if t in _INTERCHANGEABLE])


def _name_tokens(kb: Knowledge, lex: _Lexicon, did: str) -> list[list[str]]:
    """The folded words of each name of a curated disease (its name, then its synonyms), read once
    per knowledge base."""
    table = kb.memo("_resolve_name_tokens", kb.diseases, kb.spellings)
    found = table.get(did)
    if found is None:
        d = kb.diseases[did]
        names = (_tokens_with(lex.spellings, n) for n in [d["name"], *(d.get("synonyms") or ())])
        found = table[did] = [t for t in names if t]
    return found


# what a code's title may add to a disease's name and still be the disease in general: the code
# ICD-10-CM gives the plain form ("Type 1 diabetes mellitus without complications", E10.9)
_PLAIN_FORM = frozenset(("without", "complication", "uncomplicated"))


def _named_by_title(kb: Knowledge, lex: _Lexicon, code: str, title: str) -> list[str]:
    """The curated diseases with ICD-10-CM code ``code`` whose name the code's title says."""
    words = set(_tokens_with(lex.spellings, title))
    return [did for did in _curated_by_code(kb).get(code, []) if _title_is_name(kb, lex, did, words)]


def _title_is_name(kb: Knowledge, lex: _Lexicon, did: str, title: set[str]) -> bool:
    """Does a code's title say what one of the curated disease's names says, and nothing more
    (fillers such as "unspecified", and "without complications", aside)?"""
    return any(set(t) <= title and _extra_weight(title - set(t) - _PLAIN_FORM) == 0
               for t in _name_tokens(kb, lex, did))


def _curated_inside(kb: Knowledge, lex: _Lexicon, toks: list[str], limit: int = 4) -> list[str]:
    """Curated diseases one of whose names holds every typed word inside one of its own words
    (``arthritis`` in ``osteoarthritis``): readings that ICD-10-CM's whole-word search cannot see.
    Only words of four letters or more, and only a few diseases (fewest words in the name first)."""
    if not toks or any(len(t) < 4 for t in toks):
        return []
    found: list[tuple[int, str]] = []
    for did in sorted(kb.diseases):
        mine = next((t for t in _name_tokens(kb, lex, did) if all(any(w in x for x in t) for w in toks)), None)
        if mine:
            found.append((len(mine), did))
    return [did for _, did in sorted(found)[:limit]]


def _names_within(kb: Knowledge, lex: _Lexicon, did: str, toks: set[str]) -> bool:
    return any(set(t) <= toks for t in _name_tokens(kb, lex, did))


def _curated_key(kb, raw, lex, toks, how, notes) -> Resolution | None:
    ids = lex.curated_keys.get(tuple(sorted(toks)))
    if not ids:
        return None
    if len(ids) > 1:
        raise AmbiguousDisease(raw, _candidates(kb, ids))
    did = next(iter(ids))
    name = kb.diseases[did]["name"]
    return _curated(kb, raw, did, how, [*notes, f"matched {raw!r} to {name} ({did})"])


def deep_check_vocabulary(kb: Knowledge) -> list:
    """ICD-10-CM checks of knowledge/vocabulary.yaml (needs the index): every thesaurus code is
    a code (not a chapter or block); every mapping names real chapters, blocks and codes."""
    from .errors import SchemaProblem
    from .kb import _mark_of

    idx = _index()
    problems = []
    for rid, rec in sorted(kb.vocabulary.items()):
        r = idx.row(rec["icd10cm"])
        if r is None or r[7]:
            loc = kb.where[("vocabulary", rid)]
            line, col = _mark_of(rec, "icd10cm")
            problems.append(SchemaProblem(loc.path, line, col, "icd10cm",
                                          f"{rec['icd10cm']!r} is not an ICD-10-CM code"))
    for rid, rec in sorted(kb.icd_mappings.items()):
        for fld in ("chapters", "blocks", "codes"):
            for code in rec.get(fld) or ():
                r = idx.row(code)
                ok = r is not None and (fld == "codes" or r[7] or r[3] == code)
                if ok and fld == "chapters":
                    ok = r[4] == code
                if not ok:
                    loc = kb.where[("icd_mappings", rid)]
                    line, col = _mark_of(rec, fld)
                    problems.append(SchemaProblem(loc.path, line, col, fld,
                                                  f"{code!r} is not an ICD-10-CM {fld[:-1]}"))
    return problems


__all__ = ["deep_check_vocabulary", "Resolution", "resolve", "suggestions", "icd_profile", "InputTooLong", "MAX_WORDS", "MAX_CHARS",
           "query_tokens"]
