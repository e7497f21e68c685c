"""The knowledge compile cache: validate the YAML once, then load the result in milliseconds.

Reading and validating ``knowledge/*.yaml`` costs tens of milliseconds at the shipped size and
seconds at 100x; a one-shot command should not pay that on every run. :func:`load` compiles the
validated, indexed :class:`~advisor.kb.Knowledge` into one file in the user's cache directory
(``$MSC_EV_CACHE/msc-ev``, else ``$XDG_CACHE_HOME/msc-ev``, else ``~/.cache/msc-ev``: the same
directory as the ICD-10-CM table) and later loads that file instead.

The cache is never trusted:

- its **key** hashes (BLAKE2b) the content and the path of every ``*.yaml`` file of every knowledge
  directory, shipped and overlays, in load order; the package version; the Python version; and
  the source of the modules that build a Knowledge (kb.py, schema.py, yamlio.py, this file). Any
  change gives a new key, so a stale file is simply never looked at;
- the file starts with a header (magic, format, key, payload length, BLAKE2b digest of the
  payload); a file whose header, length or digest does not match (truncated, corrupted, written by
  another version) or cannot be read is rebuilt from source, with one note on standard error;
- the payload is a pickle read by an unpickler that only constructs the four classes a Knowledge
  is made of (Knowledge, Located, MDict, MList) and builtins, so a foreign pickle cannot run code
  through it;
- only a knowledge base that validated is written; an invalid one raises KnowledgeError from
  source every time (``kb check`` always validates from source: ``load(..., use_cache=False)``).

The loaded Knowledge is the one validation built (records keep their ``file:line:col`` marks); the
cwd-relative paths it shows are recomputed for the current directory. :data:`last` says what the
latest :func:`load` did (``hit``, ``built``, ``rebuilt`` or ``uncached``), for tests and the
benchmark.

Tables that other modules derive from a loaded knowledge base (the resolver's lexicon: 40 ms to
build, 2 ms to load) are cached the same way by :func:`derived`: one file per table, keyed by the
knowledge base's key, the table's name and the source of the modules that build it, sealed with
the same header, and read by an unpickler that constructs no class at all (builtins only). A
Knowledge that did not come from :func:`load` has no key, and its tables are simply built.
"""

from __future__ import annotations

import gc
import io
import os
import pickle
import sys
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

from . import kb as K
from .fileio import cache_dir, note, unwritable_reason, write_cache
from .limits import MAX_KB_FILE_BYTES
from .yamlio import MDict, MList

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up cost)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterable

try:  # the built-in BLAKE2 module, without hashlib's OpenSSL start-up
    from _blake2 import blake2b
except ImportError:  # pragma: no cover
    from hashlib import blake2b

MAGIC = b"MSCEVKB\n"
FORMAT = 1
KEEP = 16  # compiled knowledge bases kept in the cache directory (newest first)
_DIGEST = 32
_HEADER = len(MAGIC) + 2 + _DIGEST + 8 + _DIGEST  # magic, format, key, payload length, payload digest
_CODE = ("kb.py", "schema.py", "yamlio.py", "kbcache.py")

last: dict = {"status": None, "path": None, "reason": None}


def _code_fingerprint() -> bytes:
    from . import __version__

    h = blake2b(digest_size=_DIGEST)
    h.update(f"{FORMAT}\0{__version__}\0{sys.implementation.cache_tag}\0{sys.version}\0".encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        try:
            h.update(name.encode() + b"\0" + (here / name).read_bytes())
        except OSError:  # pragma: no cover - e.g. a zipped install: the version alone then
            h.update(name.encode() + b"\0?")
    return h.digest()


def _dirs(kb_dir, extra) -> list[Path]:
    return K.knowledge_dirs(kb_dir, extra)


def _read_small(path: Path) -> bytes | None:
    """The bytes of a knowledge file, or None if it cannot be read or is larger than
    MAX_KB_FILE_BYTES: its size is checked by ``stat`` before anything is read, and no more than the
    limit is read even if it grows meanwhile (loading from source then reports it)."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_KB_FILE_BYTES:
                return None
            data = fh.read(MAX_KB_FILE_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_KB_FILE_BYTES else None


def key(kb_dir: str | Path | None = None, extra: Iterable[str | Path] = ()) -> tuple[bytes, list[Path]] | None:
    """The cache key of this knowledge base and the files it hashed, or None if a directory is missing,
    too large to walk, or a file cannot be read or is over the size limit (then there is nothing to
    cache: loading from source reports it)."""
    from .fileio import yaml_files
    from .limits import LimitError

    h = blake2b(_code_fingerprint(), digest_size=_DIGEST)
    files: list[Path] = []
    for d in _dirs(kb_dir, extra):
        if not d.is_dir():
            return None
        try:
            yaml_files(d)  # the bounds first: K._yaml_files reports them only to a collector
        except LimitError:
            return None
        found = K._yaml_files(d)
        h.update(b"D\0" + str(d.resolve()).encode("utf-8", "surrogateescape") + b"\0")
        for p in found:
            data = _read_small(p)
            if data is None:
                return None
            rel = p.relative_to(d).as_posix().encode("utf-8", "surrogateescape")
            h.update(b"F\0" + rel + b"\0" + len(data).to_bytes(8, "little") + data)
            files.append(p)
    return h.digest(), files


def path_for(k: bytes) -> Path:
    return cache_dir() / f"kb-{k.hex()[:40]}.pickle"


# --------------------------------------------------------------------------------------------
# the file


class _Unpickler(pickle.Unpickler):
    ALLOWED = {(c.__module__, c.__qualname__): c for c in (K.Knowledge, K.Located, MDict, MList)}

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a knowledge base") from None


def _state(kb: K.Knowledge) -> dict:
    # the dataclass fields only: attributes memoised later (e.g. resolve's name index) stay out
    return {f.name: getattr(kb, f.name) for f in fields(kb)}


def _seal(k: bytes, payload: bytes, magic: bytes = MAGIC) -> bytes:
    digest = blake2b(payload, digest_size=_DIGEST).digest()
    return magic + FORMAT.to_bytes(2, "little") + k + len(payload).to_bytes(8, "little") + digest + payload


def _unseal(k: bytes, blob: bytes, magic: bytes = MAGIC) -> memoryview:
    """The payload of ``blob``; ValueError unless it is intact and for key k."""
    head = blob[:_HEADER]
    if len(head) < _HEADER or not head.startswith(magic):
        raise ValueError("not a compiled knowledge base")
    pos = len(magic)
    if int.from_bytes(head[pos:pos + 2], "little") != FORMAT:
        raise ValueError("another cache format")
    pos += 2
    if head[pos:pos + _DIGEST] != k:
        raise ValueError("another key")
    pos += _DIGEST
    size = int.from_bytes(head[pos:pos + 8], "little")
    pos += 8
    payload = memoryview(blob)[_HEADER:]
    if len(payload) != size:
        raise ValueError("truncated" if len(payload) < size else "trailing bytes")
    if blake2b(payload, digest_size=_DIGEST).digest() != head[pos:pos + _DIGEST]:
        raise ValueError("digest mismatch")
    return payload


def _unpickle(payload: memoryview, unpickler=_Unpickler):
    enabled = gc.isenabled()
    gc.disable()  # millions of small objects, no cycles: the collector would triple the load time
    try:
        return unpickler(io.BytesIO(payload)).load()
    except Exception as exc:  # noqa: BLE001 - any failure means "rebuild"
        raise ValueError(f"unreadable: {exc}") from None
    finally:
        if enabled:
            _promote()
            gc.enable()


def encode(k: bytes, kb: K.Knowledge, shown: list[str]) -> bytes:
    return _seal(k, pickle.dumps((shown, _state(kb)), protocol=pickle.HIGHEST_PROTOCOL))


def decode(k: bytes, blob: bytes) -> tuple[list[str], dict]:
    """The (shown paths, Knowledge fields) in ``blob``; ValueError unless it is intact and for key k."""
    shown, state = _unpickle(_unseal(k, blob))
    if not (isinstance(shown, list) and isinstance(state, dict) and set(state) == {f.name for f in fields(K.Knowledge)}):
        raise ValueError("unexpected content")
    return shown, state


def _promote() -> None:
    """Move what was just unpickled to the oldest GC generation without a collection.

    Created with the collector off, the whole knowledge base sits in the youngest generation, and
    the next young collection (inside some later consultation) would walk all of it, once per
    generation. freeze() + unfreeze() moves every tracked object to the oldest generation in
    constant time; it is skipped when the process froze objects itself (unfreeze would thaw them).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _write(path: Path, blob: bytes, pattern: str = "kb-*.pickle") -> None:
    """Write a cache file atomically; OSError (with the reason) if the cache directory cannot be
    written, which leaves nothing behind and is said once on standard error (advisor.fileio)."""
    if not write_cache(path, blob):
        raise OSError(0, unwritable_reason(path.parent) or "cannot write")
    _prune(path.parent, keep=path, pattern=pattern)


def _damaged(path: Path, reason: str) -> None:
    note("kb-cache-damaged", f"the knowledge cache {path} could not be used ({reason}); rebuilt it from the knowledge files")


def _prune(directory: Path, keep: Path, pattern: str = "kb-*.pickle") -> None:
    try:
        old = sorted((p for p in directory.glob(pattern) if p != keep),
                     key=lambda p: p.stat().st_mtime, reverse=True)
        for p in old[KEEP - 1:]:
            p.unlink()
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# loading


def _finish(k: bytes, state: dict, shown: list[str], dirs: list[Path], files: list[Path]) -> K.Knowledge:
    kb = K.Knowledge(**state)
    kb.__dict__["_cache_key"] = k  # not a field: for derived(); copies of kb made in memory keep it
    now = [K._display(p) for p in files]
    if now != shown:  # another working directory: re-show the paths relative to this one
        remap = dict(zip(shown, now))
        for loc in kb.where.values():
            loc.path = remap.get(loc.path, loc.path)
    kb.files = tuple(now)
    kb.dirs = tuple(str(d) for d in dirs)
    return kb


def load(kb_dir: str | Path | None = None, extra: Iterable[str | Path] = ()) -> K.Knowledge:
    """The validated knowledge base, from the compile cache when it is there and intact."""
    extra = tuple(extra)
    dirs = _dirs(kb_dir, extra)
    keyed = key(kb_dir, extra)
    if keyed is None:
        last.update(status="uncached", path=None, reason="a knowledge directory or file is missing")
        return K.load_source(kb_dir, extra)
    k, files = keyed
    path = path_for(k)
    reason = None
    try:
        blob = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # not built yet, or no cache directory at all
        blob = None
    except OSError as exc:
        blob, reason = None, f"cannot read: {exc.strerror}"
    if blob is not None:
        try:
            shown, state = decode(k, blob)
        except ValueError as exc:
            reason = str(exc)
        else:
            last.update(status="hit", path=path, reason=None)
            return _finish(k, state, shown, dirs, files)
        del blob
    kb = K.load_source(kb_dir, extra)  # raises KnowledgeError: nothing invalid is cached
    shown = list(kb.files)
    status = "rebuilt" if reason else "built"
    if reason:
        _damaged(path, reason)
    again = key(kb_dir, extra)
    if again is None or again[0] != k:  # a file changed while we read it: do not file it under k
        last.update(status="uncached", path=None, reason="knowledge changed while loading")
        return kb
    try:
        blob = encode(k, kb, shown)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        last.update(status="uncached", path=None, reason=f"not picklable: {exc}")
        return kb
    try:
        _write(path, blob)
    except OSError as exc:  # a read-only cache directory still works, only slower
        last.update(status="uncached", path=None, reason=f"cannot write: {exc.strerror}")
        return kb
    # hand back exactly what a hit will give (fresh objects, only the dataclass fields); a
    # Knowledge that the restricted unpickler refuses (a field holding some other class) is not
    # left behind to be rebuilt on every run
    try:
        shown, state = decode(k, blob)
    except ValueError as exc:
        try:
            path.unlink()
        except OSError:
            pass
        last.update(status="uncached", path=None, reason=f"does not load back: {exc}")
        return kb
    last.update(status=status, path=path, reason=reason)
    return _finish(k, state, shown, dirs, files)


# --------------------------------------------------------------------------------------------
# tables derived from a loaded knowledge base

_DERIVED_MAGIC = b"MSCEVDT\n"
last_derived: dict = {}  # table name -> what the latest derived() did: hit, built, rebuilt or uncached


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"{module}.{name}: a derived table holds builtins only")


def _derived_key(k: bytes, name: str, code: Iterable[Path]) -> bytes:
    h = blake2b(k, digest_size=_DIGEST)
    h.update(b"T\0" + name.encode() + b"\0")
    for p in code:
        data = Path(p).read_bytes()
        h.update(len(data).to_bytes(8, "little") + data)
    return h.digest()


def derived(kb: K.Knowledge, name: str, code: Iterable[Path], build) -> dict:
    """``build()``, a dict of builtins computed from ``kb``, cached under the knowledge base's key.

    ``code`` lists the source files whose change changes the table (they are part of its key).
    A file that is missing, corrupted or for another key is rebuilt; one that cannot be written
    leaves the table built in memory only.
    """
    k = kb.__dict__.get("_cache_key")
    try:
        dk = None if k is None else _derived_key(k, name, code)
    except OSError:
        dk = None
    if dk is None:
        last_derived[name] = "uncached"
        return build()
    path = cache_dir() / f"{name}-{dk.hex()[:40]}.pickle"
    status = "built"
    try:
        table = _unpickle(_unseal(dk, path.read_bytes(), _DERIVED_MAGIC), _BuiltinsOnly)
        if isinstance(table, dict):
            last_derived[name] = "hit"
            return table
        status, reason = "rebuilt", "not a table"
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        status, reason = "rebuilt", f"cannot read: {exc.strerror or exc}"
    except ValueError as exc:
        status, reason = "rebuilt", str(exc)
    if status == "rebuilt":
        _damaged(path, reason)
    table = build()
    try:
        _write(path, _seal(dk, pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL), _DERIVED_MAGIC),
               pattern=f"{name}-*.pickle")
    except (OSError, pickle.PicklingError, TypeError) as exc:
        last_derived[name] = f"uncached ({exc})"
        return table
    last_derived[name] = status
    return table


# ------------------------------------------------------------------------------------------
# the public ways in


def load_kb(kb_dir: str | Path | None = None, extra: Iterable[str | Path] = (), *,
         use_cache: bool = True) -> K.Knowledge:
    """The validated knowledge base of ``kb_dir`` (default: the shipped one) with the overlay
    directories ``extra``; raise KnowledgeError listing every problem.

    With ``use_cache`` (the default) the result comes from the compile cache when an intact one
    exists for exactly these files and this version (see :mod:`advisor.kbcache`), else it is read,
    validated and then cached. ``use_cache=False`` always reads and validates from source (what
    ``kb check`` needs)."""
    if use_cache:
        return load(kb_dir, extra)
    return K.load_source(kb_dir, extra)


@lru_cache(maxsize=8)
def load_cached(kb_dir: str | None = None, extra: tuple[str, ...] = ()) -> K.Knowledge:
    """:func:`load_kb` through the compile cache, memoised in this process (one Knowledge per
    directory set: commands and batch workers call it many times)."""
    return load(kb_dir, extra)
