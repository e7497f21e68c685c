"""Reuse of what the rules concluded, for a fact set the engine has already reasoned about.

The engine's conclusions are a function of the facts asserted and the rules (with the weights the
actions use). Many phrasings resolve to the same facts (a batch of thousands of distinct rows holds
a few hundred distinct fact sets), so a consultation whose asserted facts and knowledge fingerprint
equal those of an earlier one takes that run's derived facts, its recorded trace and what was built
from them alone (the ranked candidates, exclusions, context) instead of running the engine again.

- The key (:func:`key`) is a BLAKE2b digest of the knowledge fingerprint (:func:`fingerprint`) and of
  the facts in canonical form: sorted by id, each written by orjson with sorted keys. What only names
  the query (the text typed, the disease's name, its ICD-10-CM code) is not in the facts, so it is not
  in the key; the parts of an advice that name it (the query block, the notes, the wording of the
  cautions) are built for each consultation by the caller.
- The fingerprint covers the knowledge base (a token of its own per set of tables: a copy with other
  evidence or weights, as what-if and the stability check make, and a knowledge base with an overlay
  get others), the weights' content and the rules' declarations. An overlay or a weight change is a
  different key.
- A first-seen fact set always runs the engine. Entries are held in a bounded LRU
  (:data:`~msc_ev.advisor.limits.REUSE_ENTRIES`), one per process (batch workers have theirs).
- ``MSC_EV_NO_REUSE=1`` (the ``--no-reuse`` option of advise, batch and explain sets it) turns reuse
  off: every consultation runs the engine. Nothing else changes: the answers are the same bytes
  (tests/test_reuse.py checks it on every curated disease and a sample of ICD-10-CM titles).

The same bounded LRU remembers the facts prepared for a concept (the resolved disease's id when the
reviews name it, its organ system, processes and populations): see :func:`prepared`.
"""

from __future__ import annotations

import itertools
import os
from collections import OrderedDict
from hashlib import blake2b
from typing import Callable

import orjson

from .limits import REUSE_ENTRIES

ENV = "MSC_EV_NO_REUSE"
_OFF = {"", "0", "false", "no"}
_TOKENS = itertools.count(1)
STATS = {"hits": 0, "misses": 0, "bypassed": 0}


def enabled() -> bool:
    """Reuse is on unless ``MSC_EV_NO_REUSE`` is set (to anything but 0, false, no or empty)."""
    v = os.environ.get(ENV)
    return v is None or v.strip().lower() in _OFF


def turn_off() -> None:
    """Reuse off for this process and the batch workers it starts (``--no-reuse``)."""
    os.environ[ENV] = "1"


class LRU:
    """A bounded mapping that forgets the entry used least recently."""

    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()

    def get(self, k):
        v = self.data.get(k)
        if v is not None:
            self.data.move_to_end(k)
        return v

    def put(self, k, v):
        self.data[k] = v
        self.data.move_to_end(k)
        while len(self.data) > self.size:
            self.data.popitem(last=False)
        return v

    def clear(self):
        self.data.clear()

    def __len__(self):
        return len(self.data)


CONCLUSIONS = LRU(REUSE_ENTRIES)  # key -> what the engine concluded and what was built from it alone
PREPARED = LRU(REUSE_ENTRIES)  # (fingerprint, concept) -> the facts of that concept


def clear() -> None:
    """Forget every entry (tests; a process that changed its knowledge in place)."""
    CONCLUSIONS.clear()
    PREPARED.clear()
    for k in STATS:
        STATS[k] = 0


def _rules_digest() -> bytes:
    from ..rules import RULE_LIST, TIERS

    h = blake2b(digest_size=16)
    for r in RULE_LIST:
        h.update(repr(r).encode())
    h.update(orjson.dumps(TIERS, option=orjson.OPT_SORT_KEYS))
    return h.digest()


_RULES: bytes | None = None


def fingerprint(kb) -> bytes:
    """The knowledge fingerprint of ``kb``: a token of its own per set of tables (a copy with other
    evidence, references or weights, as what-if and the stability check make, gets another), the
    weights' content and the rules' declarations. Remembered on ``kb`` while its tables are the same
    objects (:meth:`Knowledge.memo`)."""
    global _RULES
    memo = kb.memo("_reuse_fingerprint", kb.evidence, kb.diseases, kb.sources, kb.routes, kb.engineering,
                   kb.comparisons, kb.references, kb.weights, kb.strength)
    fp = memo.get("fp")
    if fp is None:
        if _RULES is None:
            _RULES = _rules_digest()
        h = blake2b(_RULES, digest_size=16)
        h.update(b"T" + str(next(_TOKENS)).encode() + b"\0")
        h.update(orjson.dumps(kb.weights, option=orjson.OPT_SORT_KEYS))
        fp = memo["fp"] = h.digest()
    return fp


def canonical(facts: list[dict]) -> bytes:
    """The facts in canonical form: sorted by id, each written by orjson with its keys sorted."""
    return orjson.dumps(sorted(facts, key=_by_id), option=orjson.OPT_SORT_KEYS)


def key(kb, facts: list[dict], shared: "Prepared | None" = None) -> bytes:
    """The digest of the knowledge fingerprint and the facts in canonical form. With ``shared`` (the
    remembered facts of a concept, which ``facts`` hold with a few others: the query fact and the
    constraints), the concept's canonical form, written once, is hashed with that of the others."""
    fp = fingerprint(kb)
    if shared is None:
        h = blake2b(digest_size=20, key=fp)
        h.update(b"A" + canonical(facts))
    else:
        h = shared.hasher(fp)
        inside = shared.ids
        h.update(canonical([f for f in facts if id(f) not in inside]))
    return h.digest()


def _by_id(f: dict) -> str:
    return f["id"]


def conclusions(kb, facts: list[dict], run: Callable[[], object], shared: "Prepared | None" = None):
    """What ``run()`` returns for these facts: reused when an equal fact set was reasoned about before
    (same knowledge fingerprint), else computed now and remembered."""
    if not enabled():
        STATS["bypassed"] += 1
        return run()
    k = key(kb, facts, shared)
    hit = CONCLUSIONS.get(k)
    if hit is not None:
        STATS["hits"] += 1
        return hit
    STATS["misses"] += 1
    return CONCLUSIONS.put(k, run())


class Prepared:
    """The remembered facts of one concept and their canonical form (read only)."""

    __slots__ = ("facts", "canon", "ids", "_part", "_hashed")

    def __init__(self, facts: list[dict]):
        self.facts = facts
        self.canon = canonical(facts)
        self.ids = frozenset(id(f) for f in facts)
        self._part = None
        self._hashed = None  # (fingerprint, the hash with the concept's canonical form fed in)

    def hasher(self, fp: bytes):
        """A hash keyed with ``fp`` that has read the concept's canonical form (fed once, then copied)."""
        if self._hashed is None or self._hashed[0] != fp:
            h = blake2b(digest_size=20, key=fp)
            h.update(b"C" + self.canon + b"\0R")
            self._hashed = (fp, h)
        return self._hashed[1].copy()

    def engine_part(self):
        """The facts as the engine gets them (:class:`~msc_ev.advisor.engine.Part`), written once."""
        if self._part is None:
            from .engine import Part

            self._part = Part(self.facts)
        return self._part


def prepared(kb, concept: tuple, build: Callable[[], list[dict]]) -> Prepared:
    """The facts of ``concept`` (built by ``build()`` the first time, per knowledge fingerprint)."""
    k = (fingerprint(kb), concept)
    hit = PREPARED.get(k)
    if hit is None:
        hit = PREPARED.put(k, Prepared(build()))
    return hit
