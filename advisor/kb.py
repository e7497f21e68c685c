"""Loading, validating and indexing the knowledge base (``knowledge/*.yaml``).

``load()`` reads every YAML file under the knowledge directory (and optional overlay directories),
validates each record against :mod:`advisor.schema`, cross-checks references between records and
builds the indices the advisor needs. Every problem found is collected and raised together as a
:class:`~advisor.errors.KnowledgeError` whose lines read ``path:line:col: field: message``.
"""

from __future__ import annotations

import copy
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import schema as S
from .axes import AXIS_OF
from .errors import KnowledgeError, SchemaProblem, UsageError
from .echo import inert
from .limits import shown as quoted
from .yamlio import EmptyFile, MDict, MList, YamlProblem, load_file

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Iterable

SHIPPED = Path(__file__).resolve().parent.parent / "knowledge"


@dataclass
class Located:
    """Where a record (or one of its fields) was defined."""

    path: str
    line: int
    col: int


@dataclass
class Knowledge:
    references: dict[str, dict] = field(default_factory=dict)
    evidence: dict[str, dict] = field(default_factory=dict)
    trials: dict[str, dict] = field(default_factory=dict)
    diseases: dict[str, dict] = field(default_factory=dict)
    categories: dict[str, dict] = field(default_factory=dict)
    comparisons: dict[str, dict] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)
    routes: dict[str, dict] = field(default_factory=dict)
    engineering: dict[str, dict] = field(default_factory=dict)
    vocabulary: dict[str, dict] = field(default_factory=dict)
    spellings: dict[str, dict] = field(default_factory=dict)
    icd_mappings: dict[str, dict] = field(default_factory=dict)
    weights: dict[str, Any] = field(default_factory=dict)
    where: dict[tuple[str, str], Located] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    # indices (filled by _index)
    cite_index: dict[tuple[str, int], str] = field(default_factory=dict)
    evidence_by_disease: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    diseases_by_category: dict[str, list[str]] = field(default_factory=dict)
    evidence_by_reference: dict[str, list[str]] = field(default_factory=dict)
    strength: dict[str, int] = field(default_factory=dict)
    category_evidence: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, dict]:
        return getattr(self, name)

    def resolve_cite(self, token: str) -> str | None:
        """``cai2020:76`` -> reference key; ``cai2020`` -> ``cai2020``; a key -> itself."""
        m = S.CITE_RE.match(token)
        if not m:
            return None
        review, num, key = m.groups()
        if key:
            return key if key in self.references else None
        if num is None:
            return review if review in self.references else None
        if len(num) > 9:  # no review lists a billion references (and int() of 5,000 digits raises)
            return None
        return self.cite_index.get((review, int(num)))

    def citations(self, record: dict) -> list[str]:
        """The reference keys a record cites, in the order written, without repeats (a new list;
        resolved once per distinct list of tokens)."""
        toks = tuple(record.get("cites") or ())
        memo = self.memo("_cite_memo", self.references, self.cite_index)
        hit = memo.get(toks)
        if hit is None:
            out: list[str] = []
            for tok in toks:
                key = self.resolve_cite(tok)
                if key and key not in out:
                    out.append(key)
            hit = memo[toks] = tuple(out)
        return list(hit)

    def memo(self, name: str, *sources) -> dict:
        """A table of values derived from ``sources`` (tables of this knowledge base), kept on it
        while they are the same objects with the same sizes; a copy with other tables (whatif) or a
        table that grew starts it afresh, empty, for the caller to fill. Never pickled with the
        knowledge base (kbcache keeps the dataclass fields only)."""
        key = tuple((id(s), len(s)) for s in sources)
        held = self.__dict__.get(name)
        if held is None or held[0] != key:
            held = self.__dict__[name] = (key, {}, sources)  # the sources are held: their ids stay theirs
        return held[1]

    def source_ancestors(self, source: str) -> list[str]:
        out, cur = [], self.sources.get(source, {}).get("parent")
        while cur and cur not in out:
            out.append(cur)
            cur = self.sources.get(cur, {}).get("parent")
        return out

    def disease_ancestors(self, disease: str) -> list[str]:
        out, cur = [], self.diseases.get(disease, {}).get("parent")
        while cur and cur not in out:
            out.append(cur)
            cur = self.diseases.get(cur, {}).get("parent")
        return out


# --------------------------------------------------------------------------------------------
# reading


def _yaml_files(directory: Path, col: "_Collector | None" = None) -> list[Path]:
    """The ``*.yaml`` files under ``directory``, sorted. A link that leads nowhere (or to something
    that is not a file) is reported to ``col`` by its path rather than skipped silently."""
    from .fileio import yaml_files
    from .limits import LIMITS, LimitError

    out = []
    try:
        paths = yaml_files(directory)
    except LimitError as exc:  # "--kb /": refused at once, not walked
        if col is not None:
            col.add(_display(Path(exc.where)), 1, 1, "kb", f"{exc.what} (limit {exc.limit} = {LIMITS[exc.limit]:,})")
        return []
    for p in paths:
        if p.is_file():
            out.append(p)
        elif col is not None and p.is_symlink():
            target = os.readlink(p)
            why = "leads nowhere" if not p.exists() else "does not lead to a file"
            col.add(_display(p), 1, 1, "file", f"symbolic link to {quoted(target)} {why}")
        elif col is not None and not p.is_dir():
            col.add(_display(p), 1, 1, "file", "not a regular file")
    return out


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - different drive on Windows
        return str(path)
    return rel if not rel.startswith("..") else str(path)


_MAX_MESSAGE = 300


class _Collector:
    def __init__(self):
        self.problems: list[SchemaProblem] = []

    def add(self, path: str, line: int, col: int, fld: str, msg: str):
        # a message never carries an unbounded value (a huge YAML value repr'd by a check)
        if len(msg) > _MAX_MESSAGE:
            msg = msg[:_MAX_MESSAGE] + "..."
        if len(fld) > _MAX_MESSAGE:
            fld = fld[:_MAX_MESSAGE] + "..."
        self.problems.append(SchemaProblem(path, line, col, fld, msg))


def _mark_of(container, key) -> tuple[int, int]:
    if isinstance(container, MDict) and key in container.marks:
        return container.marks[key]
    if isinstance(container, MList) and isinstance(key, int) and key < len(container.marks):
        return container.marks[key]
    return getattr(container, "mark", (1, 1))


def _check_value(fspec: S.Field, value, rec, name, path, col: _Collector) -> bool:
    line, c = _mark_of(rec, name)

    def bad(msg):
        col.add(path, line, c, name, msg)
        return False

    kind = fspec.kind
    if kind in ("str", "nullable-str"):
        if value is None and kind == "nullable-str":
            return True
        if not isinstance(value, str) or not value.strip():
            return bad("must be a non-empty string")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return bad(f"must be a whole number, got {quoted(value)}")
    elif kind == "bool":
        if not isinstance(value, bool):
            return bad(f"must be true or false, got {quoted(value)}")
    elif kind in ("id", "nullable-id"):
        if value is None and kind == "nullable-id":
            return True
        if not isinstance(value, str) or not S.ID_RE.match(value):
            return bad(f"must be a lower-case kebab-case id, got {quoted(value)}")
    elif kind == "key":
        if not isinstance(value, str) or not S.ID_RE.match(value):
            return bad(f"must be a lower-case key of letters, digits and dashes, got {quoted(value)}")
    elif kind == "enum":
        if value not in fspec.enum:
            return bad(f"must be one of {', '.join(fspec.enum)}; got {quoted(value)}")
    elif kind in ("idlist", "strlist", "enumlist", "cites"):
        if not isinstance(value, list):
            return bad("must be a list")
        ok = True
        for i, item in enumerate(value):
            il, ic = _mark_of(value, i)
            if kind == "idlist" and (not isinstance(item, str) or not S.ID_RE.match(item)):
                col.add(path, il, ic, name, f"item {i + 1} must be an id, got {quoted(item)}")
                ok = False
            elif kind == "strlist" and (not isinstance(item, str) or not item.strip()):
                col.add(path, il, ic, name, f"item {i + 1} must be a non-empty string")
                ok = False
            elif kind == "enumlist" and item not in fspec.enum:
                col.add(path, il, ic, name,
                        f"item {i + 1} must be one of {', '.join(fspec.enum)}; got {quoted(item)}")
                ok = False
            elif kind == "cites" and (not isinstance(item, str) or not S.CITE_RE.match(item)):
                col.add(path, il, ic, name,
                        f"item {i + 1} must be 'heo2018', 'cai2020', 'REVIEW:N' or a reference key; got {quoted(item)}")
                ok = False
        if kind == "cites" and not value:
            return bad("needs at least one citation")
        return ok
    elif kind == "cited_in":
        if not isinstance(value, dict):
            return bad("must be a mapping of review key to reference number")
        for k, v in value.items():
            if k not in S.REVIEWS or isinstance(v, bool) or not isinstance(v, int) or v < 1:
                return bad(f"entry {quoted(k)}: must map heo2018/cai2020 to a reference number")
    elif kind == "also_numbered":
        if not isinstance(value, dict) or not all(
            k in S.REVIEWS and isinstance(v, list) and all(isinstance(n, int) for n in v)
            for k, v in value.items()
        ):
            return bad("must map heo2018/cai2020 to a list of reference numbers")
    elif kind == "versus":
        if not isinstance(value, list):
            return bad("must be a list")
        for i, item in enumerate(value):
            il, ic = _mark_of(value, i)
            keys = set(item) if isinstance(item, dict) else set()
            axis = keys & {"source", "vesicle", "species"}
            if len(axis) != 1 or keys - {"source", "vesicle", "species", "outcome"} or item.get("outcome") not in S.OUTCOMES:
                col.add(path, il, ic, name,
                        f"item {i + 1} must be {{source|vesicle|species: X, outcome: better|worse|similar}}")
                ok = False
                continue
        return True
    elif kind == "properties":
        if not isinstance(value, list):
            return bad("must be a list")
        for i, prop in enumerate(value):
            il, ic = _mark_of(value, i)
            if not isinstance(prop, dict):
                col.add(path, il, ic, name, f"item {i + 1} must be a mapping")
                continue
            _check_record(prop, S.PROPERTY_FIELDS, path, col, prefix=f"{name}[{i + 1}].")
    return True


def _check_record(rec, spec: dict[str, S.Field], path: str, col: _Collector, prefix: str = "") -> bool:
    ok = True
    line, c = getattr(rec, "mark", (1, 1))
    for name in rec:
        if name not in spec:
            ln, cc = _mark_of(rec, name)
            known = ", ".join(spec)
            col.add(path, ln, cc, prefix + str(name), f"unknown field (known: {known})")
            ok = False
    for name, fspec in spec.items():
        if name not in rec:
            if fspec.required:
                col.add(path, line, c, prefix + name, "required field is missing")
                ok = False
            continue
        before = len(col.problems)
        _check_value(fspec, rec[name], rec, name, path, col)
        if len(col.problems) > before:
            for i in range(before, len(col.problems)):
                p = col.problems[i]
                if prefix and not p.field.startswith(prefix):
                    col.problems[i] = SchemaProblem(p.path, p.line, p.col, prefix + p.field, p.message)
            ok = False
    return ok


def _merge_weights(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge_weights(out[k], v)
        else:
            out[k] = v
    return out


def _check_weights(w, path: str, col: _Collector):
    line, c = getattr(w, "mark", (1, 1))
    for grp, keys in S.WEIGHT_GROUPS.items():
        g = w.get(grp)
        if not isinstance(g, dict):
            col.add(path, line, c, f"weights.{grp}", "required mapping is missing")
            continue
        for k in keys:
            v = g.get(k)
            if k not in g:
                gl, gc = getattr(g, "mark", (line, c))
                col.add(path, gl, gc, f"weights.{grp}.{k}", "required weight is missing")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                kl, kc = _mark_of(g, k)
                col.add(path, kl, kc, f"weights.{grp}.{k}", f"must be a number from 0 to 1, got {quoted(v)}")
        for k in g:
            if k not in keys:
                kl, kc = _mark_of(g, k)
                col.add(path, kl, kc, f"weights.{grp}.{k}", f"unknown weight (known: {', '.join(keys)})")
    for k in S.WEIGHT_SCALARS:
        v = w.get(k)
        kl, kc = _mark_of(w, k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            col.add(path, kl, kc, f"weights.{k}", f"must be a number from 0 to 1, got {quoted(v)}")
    rules = w.get("rules")
    if not isinstance(rules, dict):
        col.add(path, line, c, "weights.rules", "required mapping of rule id to certainty factor is missing")
    else:
        for k, v in rules.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not -1 <= v <= 1:
                kl, kc = _mark_of(rules, k)
                col.add(path, kl, kc, f"weights.rules.{k}", f"must be a number from -1 to 1, got {quoted(v)}")
    for k in w:
        if k not in S.WEIGHT_GROUPS and k not in S.WEIGHT_SCALARS and k != "rules":
            kl, kc = _mark_of(w, k)
            col.add(path, kl, kc, f"weights.{k}", "unknown weight group")


def knowledge_dirs(kb_dir: str | Path | None = None, extra: Iterable[str | Path] = ()) -> list[Path]:
    """The knowledge directories to read: ``kb_dir`` (None: the shipped one), then the overlays.
    An empty path is refused: it would silently mean the shipped knowledge (or, as an overlay, the
    current directory)."""
    extra = tuple(extra)
    if any(isinstance(d, str) and d == "" for d in (kb_dir, *extra)):
        raise UsageError("an empty path names no knowledge directory: give --kb and --kb-extra a directory "
                         "of knowledge files (*.yaml), or leave --kb out for the shipped knowledge")
    base = SHIPPED if kb_dir is None else Path(kb_dir)
    return [base, *(Path(e) for e in extra)]


def load_source(kb_dir: str | Path | None = None, extra: Iterable[str | Path] = ()) -> Knowledge:
    """Read, validate and index the YAML (no cache); raise KnowledgeError listing every problem."""
    dirs = knowledge_dirs(kb_dir, extra)
    base = dirs[0]
    col = _Collector()
    kb = Knowledge()
    raw_weights: list[tuple[str, dict]] = []
    files: list[str] = []
    for d in dirs:
        if not d.is_dir():
            col.add(_display(d), 1, 1, "kb", "knowledge directory not found")
            continue
        before = len(col.problems)
        found = _yaml_files(d, col)
        if not found and len(col.problems) == before:
            col.add(_display(d), 1, 1, "kb", "no *.yaml files in this directory")
        for path in found:
            shown = _display(path)
            files.append(shown)
            try:
                doc = load_file(path)
            except YamlProblem as exc:
                col.add(shown, exc.line, exc.col, "yaml", exc.message)
                continue
            except EmptyFile:
                col.add(shown, 1, 1, "file", "empty: no YAML document in this file")
                continue
            except OSError as exc:
                col.add(shown, 1, 1, "file", f"cannot read: {exc.strerror or exc}")
                continue
            if not isinstance(doc, dict):
                col.add(shown, 1, 1, "document", "top level must be a mapping of section names")
                continue
            for section, body in doc.items():
                sl, sc = _mark_of(doc, section)
                if section == "weights":
                    if not isinstance(body, dict):
                        col.add(shown, sl, sc, "weights", "must be a mapping")
                    else:
                        raw_weights.append((shown, body))
                        _note_weight_places(kb, shown, body, "weights")
                    continue
                if section not in S.SECTIONS:
                    known = ", ".join([*S.SECTIONS, "weights"])
                    col.add(shown, sl, sc, str(section), f"unknown section (known: {known})")
                    continue
                if not isinstance(body, list):
                    col.add(shown, sl, sc, section, "must be a list of records")
                    continue
                spec = S.SECTIONS[section]
                idf = S.ID_FIELD[section]
                store = kb.section(section)
                for i, rec in enumerate(body):
                    rl, rc = _mark_of(body, i)
                    if not isinstance(rec, dict):
                        col.add(shown, rl, rc, section, f"item {i + 1} must be a mapping")
                        continue
                    _check_record(rec, spec, shown, col)
                    rid = rec.get(idf)
                    if not isinstance(rid, str):
                        continue
                    if rid in store:
                        first = kb.where[(section, rid)]
                        il, ic = _mark_of(rec, idf)
                        col.add(shown, il, ic, idf,
                                f"duplicate id {quoted(rid)} (first defined at {first.path}:{first.line})")
                        continue
                    store[rid] = rec
                    kb.where[(section, rid)] = Located(shown, rl, rc)
    kb.dirs = tuple(str(d) for d in dirs)
    kb.files = tuple(files)
    if not raw_weights:
        col.add(_display(base), 1, 1, "weights", "no 'weights' section found in the knowledge base")
    else:
        merged: dict = {}
        for shown, w in raw_weights:
            merged = _merge_weights(merged, w)
        _check_weights_located(raw_weights, merged, col)
        kb.weights = merged
    if not col.problems:
        _cross_check(kb, col)
        _check_vocabulary(kb, col)
        col.problems.extend(rule_weight_problems(kb))
    if col.problems:
        raise KnowledgeError(col.problems)
    _index(kb)
    return kb


def rule_weight_problems(kb: Knowledge) -> list[SchemaProblem]:
    """Every rule that takes a weight has one, and every weight under ``weights.rules`` belongs to
    such a rule (a misspelled rule id in an overlay would otherwise be silently ignored); each
    problem is placed at the file and line that set the weight (an overlay's own)."""
    from ..rules import RULES

    problems: list[SchemaProblem] = []
    wrules = kb.weights.get("rules", {})
    for rid, meta in sorted(RULES.items()):
        if meta.weight == f"rules.{rid}" and rid not in wrules:
            loc = weight_place(kb, "weights.rules", first=True)
            problems.append(SchemaProblem(loc.path, loc.line, loc.col, f"weights.rules.{rid}",
                                          "rule has no certainty factor"))
    for rid in sorted(wrules):
        if rid not in RULES or RULES[rid].weight != f"rules.{rid}":
            loc = weight_place(kb, f"weights.rules.{rid}")  # the overlay that set it, if any
            problems.append(SchemaProblem(loc.path, loc.line, loc.col, f"weights.rules.{inert(str(rid), 60)}",
                                          "no rule with this id takes a weight"))
    return problems


def _note_weight_places(kb: Knowledge, path: str, node, prefix: str):
    """``kb.where[("weights", "weights.rules.X")]``: the file and line that set each weight last
    (an overlay's value is blamed on the overlay, not on the shipped weights file)."""
    if not isinstance(node, dict):
        return
    for k, v in node.items():
        line, c = _mark_of(node, k)
        key = f"{prefix}.{k}"
        kb.where[("weights", key)] = Located(path, line, c)
        kb.where.setdefault(("weights-first", key), Located(path, line, c))
        _note_weight_places(kb, path, v, key)


def weight_place(kb: Knowledge, dotted: str, first: bool = False) -> Located:
    """Where the weight ``weights.GROUP.KEY`` was set last (``first``: first), else the weights file."""
    loc = kb.where.get(("weights-first" if first else "weights", dotted))
    if loc is not None:
        return loc
    first = next((f for f in kb.files if f.endswith("weights.yaml")), kb.files[0] if kb.files else "weights")
    return Located(first, 1, 1)


def _check_weights_located(raw, merged, col):
    # Validate the merged result, but attribute each problem to the file that set the value last.
    sub = _Collector()
    first_path, first = raw[0]
    _check_weights(merged if len(raw) > 1 else first, first_path, sub)
    if len(raw) == 1:
        col.problems.extend(sub.problems)
        return
    for p in sub.problems:
        keys = p.field.split(".")[1:]
        path, line, c = first_path, p.line, p.col
        for shown, w in raw:
            node = w
            for k in keys[:-1]:
                node = node.get(k) if isinstance(node, dict) else None
            if isinstance(node, dict) and keys and keys[-1] in node:
                path = shown
                line, c = _mark_of(node, keys[-1])
        col.add(path, line, c, p.field, p.message)


def _cross_check(kb: Knowledge, col: _Collector):
    # cite index first: (review, number) -> key
    for key, ref in kb.references.items():
        loc = kb.where[("references", key)]
        numbers = [(r, n) for r, n in ref["cited_in"].items()]
        for r, ns in (ref.get("also_numbered") or {}).items():
            numbers.extend((r, n) for n in ns)
        for r, n in numbers:
            other = kb.cite_index.get((r, n))
            if other and other != key:
                col.add(loc.path, loc.line, loc.col, "cited_in",
                        f"{r} [{n}] is already the number of reference {quoted(other)}")
            kb.cite_index[(r, n)] = key

    def where(section, rid, fld):
        loc = kb.where[(section, rid)]
        rec = kb.section(section)[rid]
        line, c = _mark_of(rec, fld) if fld in rec else (loc.line, loc.col)
        return loc.path, line, c

    def check_ref(section, rid, fld, value, target):
        if value is None:
            return
        if value not in kb.section(target):
            path, line, c = where(section, rid, fld)
            col.add(path, line, c, fld, f"unknown {_LABEL[target]} id {quoted(value)}"
                    + _did_you_mean(value, kb.section(target)))

    def check_cites(section, rid, rec):
        for tok in rec.get("cites") or ():
            if kb.resolve_cite(tok) is None:
                path, line, c = where(section, rid, "cites")
                m = S.CITE_RE.match(tok)
                if m and m.group(2):
                    col.add(path, line, c, "cites", f"no reference numbered {m.group(2)} in {m.group(1)}")
                else:
                    col.add(path, line, c, "cites", f"unknown reference {quoted(tok)}")

    def check_kind(section, rid, fld, values, kind):
        for value in values:
            if value is None:
                continue
            if value not in kb.categories:
                check_ref(section, rid, fld, value, "categories")
            elif kb.categories[value]["kind"] != kind:
                path, line, c = where(section, rid, fld)
                col.add(path, line, c, fld, f"{quoted(value)} is a {kb.categories[value]['kind']}, not an {kind}"
                        if kind[0] in "aeiou" else f"{quoted(value)} is an {kb.categories[value]['kind']}, not a {kind}")

    for rid, rec in kb.categories.items():  # a site lies within one organ system; nothing else does
        if rec["kind"] == "site":
            if not rec.get("within"):
                path, line, c = where("categories", rid, "kind")
                col.add(path, line, c, "within", "a site names the organ system it lies within")
            else:
                check_kind("categories", rid, "within", [rec["within"]], "organ-system")
        elif rec.get("within"):
            path, line, c = where("categories", rid, "within")
            col.add(path, line, c, "within", f"only a site lies within an organ system, not an {rec['kind']}")
    for sec in ("sources", "routes", "engineering"):
        for rid, rec in kb.section(sec).items():
            check_cites(sec, rid, rec)
            for prop in rec.get("properties") or ():
                for tok in prop.get("cites") or ():
                    if kb.resolve_cite(tok) is None:
                        path, line, c = where(sec, rid, "properties")
                        col.add(path, line, c, "properties.cites", f"unknown reference {quoted(tok)}")
            if sec == "sources":
                check_ref(sec, rid, "parent", rec.get("parent"), "sources")
            for value in rec.get("reaches") or ():  # an organ system, or one site of one (brain, ocular surface)
                if value in kb.categories and kb.categories[value]["kind"] == "process":
                    path, line, c = where(sec, rid, "reaches")
                    col.add(path, line, c, "reaches", f"{value!r} is a process, not an organ system or a site")
                elif value not in kb.categories:
                    check_ref(sec, rid, "reaches", value, "categories")
            check_kind(sec, rid, "organs", rec.get("organs") or (), "organ-system")
            for cat in rec.get("fits") or ():
                check_ref(sec, rid, "fits", cat, "categories")
            if sec == "engineering" and not any(rid.startswith(p + "-") for p in S.ENGINEERING_PREFIXES):
                path, line, c = where(sec, rid, "id")
                col.add(path, line, c, "id",
                        f"engineering ids start with a category word ({', '.join(S.ENGINEERING_PREFIXES)}): {quoted(rid)}")
        # parent cycles
    for rid in kb.sources:
        if rid in kb.source_ancestors(rid):
            path, line, c = where("sources", rid, "parent")
            col.add(path, line, c, "parent", f"parent chain of {quoted(rid)} loops back to itself")
    for rid, rec in kb.diseases.items():
        check_ref("diseases", rid, "parent", rec.get("parent"), "diseases")
        check_kind("diseases", rid, "organ", [rec.get("organ")], "organ-system")
        check_kind("diseases", rid, "processes", rec.get("processes") or (), "process")
        if rec.get("site"):
            check_kind("diseases", rid, "site", [rec["site"]], "site")
            site = kb.categories.get(rec["site"]) or {}
            if site.get("kind") == "site" and site.get("within") != rec.get("organ"):
                path, line, c = where("diseases", rid, "site")
                col.add(path, line, c, "site", f"{rec['site']!r} is a site of {site.get('within')!r}, "
                        f"not of the disease's organ system {rec.get('organ')!r}")
        if not rec.get("processes"):
            path, line, c = where("diseases", rid, "processes")
            col.add(path, line, c, "processes", "a disease needs at least one process (e.g. fibrosis, cancer)")
        if rid in kb.disease_ancestors(rid):
            path, line, c = where("diseases", rid, "parent")
            col.add(path, line, c, "parent", f"parent chain of {quoted(rid)} loops back to itself")
    for rid, rec in kb.evidence.items():
        check_ref("evidence", rid, "source", rec.get("source"), "sources")
        check_ref("evidence", rid, "disease", rec.get("disease"), "diseases")
        check_ref("evidence", rid, "route", rec.get("route"), "routes")
        for e in rec.get("engineering") or ():
            check_ref("evidence", rid, "engineering", e, "engineering")
        for v in rec.get("versus") or ():
            if "source" in v and v["source"] not in kb.sources:
                path, line, c = where("evidence", rid, "versus")
                col.add(path, line, c, "versus", f"unknown source id {quoted(v['source'])}")
        if rec.get("trial") is not None and rec["trial"] not in kb.trials:
            check_ref("evidence", rid, "trial", rec["trial"], "trials")
        if rec.get("route") is not None and rec.get("model") == "in-vitro":
            path, line, c = where("evidence", rid, "route")
            col.add(path, line, c, "route", "an in-vitro item has no administration route (give the route only for in-vivo or clinical work)")
        t2 = rec.get("table2")
        if t2 is not None and not 1 <= t2 <= 26:
            path, line, c = where("evidence", rid, "table2")
            col.add(path, line, c, "table2", f"Cai 2020 Table 2 has rows 1 to 26, got {t2}")
        check_cites("evidence", rid, rec)
    for rid, rec in kb.comparisons.items():
        check_cites("comparisons", rid, rec)
        for d in rec.get("diseases") or ():
            check_ref("comparisons", rid, "diseases", d, "diseases")
        check_kind("comparisons", rid, "organ", [rec.get("organ")], "organ-system")
        check_kind("comparisons", rid, "process", [rec.get("process")], "process")
        target = AXIS_OF.get(rec["axis"])
        named = ([rec["better"]] if rec.get("better") else []) + list(rec.get("worse") or ()) + list(rec.get("tie") or ())
        if target:
            for fld in ("better", "worse", "tie"):
                vals = rec.get(fld)
                for v in ([vals] if isinstance(vals, str) else vals or ()):
                    check_ref("comparisons", rid, fld, v, target)
        else:
            allowed = S.COMPARISON_VALUES[rec["axis"]]
            for fld in ("better", "worse", "tie"):
                vals = rec.get(fld)
                for v in ([vals] if isinstance(vals, str) else vals or ()):
                    if v not in allowed:
                        path, line, c = where("comparisons", rid, fld)
                        col.add(path, line, c, fld, f"unknown {rec['axis']} {quoted(v)} (known: {', '.join(allowed)})")
        kind = rec["kind"]
        if kind == "tie" and (len(set(rec.get("tie") or ())) < 2 or rec.get("better") or rec.get("worse")):
            path, line, c = where("comparisons", rid, "tie")
            col.add(path, line, c, "tie", "a tie names at least two items under 'tie' and no 'better' or 'worse'")
        if kind != "tie" and not rec.get("better"):
            path, line, c = where("comparisons", rid, "better")
            col.add(path, line, c, "better", f"a {kind} comparison names the item it favours under 'better'")
        if kind != "tie" and rec.get("tie"):
            path, line, c = where("comparisons", rid, "tie")
            col.add(path, line, c, "tie", f"a {kind} comparison lists what it disfavours under 'worse', not 'tie'")
        if kind != "tie" and rec.get("better") and not rec.get("worse") and rec["axis"] != "engineering":
            path, line, c = where("comparisons", rid, "worse")
            col.add(path, line, c, "worse", f"a {kind} comparison on the {rec['axis']} axis names what it is compared with under 'worse'")
        if rec.get("better") and rec["better"] in (rec.get("worse") or ()):
            path, line, c = where("comparisons", rid, "worse")
            col.add(path, line, c, "worse", f"{quoted(rec['better'])} cannot be both better and worse")
        if not named:
            path, line, c = where("comparisons", rid, "id")
            col.add(path, line, c, "id", "a comparison names the items it compares")
        scope_problem = _scope_problem(rec)
        if scope_problem:
            path, line, c = where("comparisons", rid, "scope")
            col.add(path, line, c, "scope", scope_problem)
    for rid, rec in kb.trials.items():
        check_ref("trials", rid, "source", rec.get("source"), "sources")
        check_ref("trials", rid, "disease", rec.get("disease"), "diseases")
        check_ref("trials", rid, "route", rec.get("route"), "routes")
        check_cites("trials", rid, rec)


def _scope_problem(rec: dict) -> str | None:
    """What is wrong with a comparison's ``scope`` given the fields that say where it applies (None
    when they agree): ``disease`` names its diseases and no organ or process; ``organ`` and
    ``process`` name theirs (the other may narrow it) and no diseases; ``cells`` names no diseases, and
    may name the organ system or process where the cells' property matters (immunomodulation: where
    inflammation is; without one it is context only)."""
    scope = rec["scope"]
    has = {f: bool(rec.get(f)) for f in ("diseases", "organ", "process")}
    if scope == "disease":
        if not has["diseases"]:
            return "scope 'disease' needs the diseases the review made the comparison in, under 'diseases'"
        if has["organ"] or has["process"]:
            return "scope 'disease' takes no 'organ' or 'process': its diseases say where it applies"
        return None
    if scope in ("organ", "process"):
        if not has[scope]:
            return f"scope {scope!r} needs the {'organ system' if scope == 'organ' else 'disease process'} under {scope!r}"
        if has["diseases"]:
            return f"scope {scope!r} takes no 'diseases' (a comparison made in diseases has scope 'disease')"
        return None
    if has["diseases"]:
        return "scope 'cells' is about the cells or vesicles in general and takes no 'diseases'"
    return None  # an organ or process, if given, is where the cells' property matters (the note says why)


def _check_vocabulary(kb: Knowledge, col: _Collector):
    """Cross-checks of knowledge/vocabulary.yaml that need no ICD-10-CM (those are in
    advisor.resolve.deep_check_vocabulary): mapping organs and processes are categories of the
    right kind; a lay term names one code only."""
    from .text import norm

    for rid, rec in kb.icd_mappings.items():
        loc = kb.where[("icd_mappings", rid)]
        for fld, kind in (("organ", "organ-system"), ("site", "site"), ("processes", "process")):
            vals = rec.get(fld)
            vals = [vals] if isinstance(vals, str) else (vals or [])
            for v in vals:
                line, c = _mark_of(rec, fld)
                if v not in kb.categories:
                    col.add(loc.path, line, c, fld, f"unknown category {quoted(v)}{_did_you_mean(v, kb.categories)}")
                elif kb.categories[v]["kind"] != kind:
                    col.add(loc.path, line, c, fld, f"{quoted(v)} is not an {kind}" if kind[0] == "o"
                            else f"{quoted(v)} is not a {kind}")
        site = kb.categories.get(rec.get("site") or "")
        if site and rec.get("organ") and site.get("within") != rec["organ"]:
            line, c = _mark_of(rec, "site")
            col.add(loc.path, line, c, "site", f"{rec['site']!r} lies within {site.get('within')!r}, not {rec['organ']!r}")
        if not (rec.get("chapters") or rec.get("blocks") or rec.get("codes")):
            col.add(loc.path, loc.line, loc.col, "id", "a mapping names chapters, blocks or codes")
    seen: dict[str, tuple[str, str]] = {}
    for rid, rec in kb.vocabulary.items():
        for term in rec["terms"]:
            key = norm(term)
            other = seen.get(key)
            if other and other[1] != rec["icd10cm"]:
                loc = kb.where[("vocabulary", rid)]
                line, c = _mark_of(rec, "terms")
                col.add(loc.path, line, c, "terms",
                        f"{quoted(term)} already maps to {other[1]} (vocabulary {quoted(other[0])})")
            seen.setdefault(key, (rid, rec["icd10cm"]))


_LABEL = {"sources": "source", "routes": "route", "engineering": "engineering option",
          "diseases": "disease", "categories": "category", "trials": "trial", "evidence": "evidence",
          "comparisons": "comparison"}


def _did_you_mean(value: str, pool) -> str:
    import difflib

    close = difflib.get_close_matches(value, list(pool), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _index(kb: Knowledge):
    w = kb.weights
    by_disease: dict[str, list[str]] = defaultdict(list)
    by_ref: dict[str, list[str]] = defaultdict(list)
    for eid, ev in kb.evidence.items():
        by_disease[ev["disease"]].append(eid)
        cites = kb.citations(ev)
        for key in cites:
            by_ref[key].append(eid)
        weighty = [k for k in cites if not kb.references[k].get("mismatch")]
        factor = (w["model"].get(ev["model"], 0) * w["species"][ev["species"]] * w["vesicle"][ev["vesicle"]])
        kb.strength[eid] = int(round(factor * 1000)) if weighty else 0
    kb.evidence_by_disease = {k: sorted(v) for k, v in by_disease.items()}
    kb.evidence_by_reference = {k: sorted(v) for k, v in by_ref.items()}
    children: dict[str, list[str]] = defaultdict(list)
    by_cat: dict[str, list[str]] = defaultdict(list)
    for did, d in kb.diseases.items():
        if d.get("parent"):
            children[d["parent"]].append(did)
        for cat in categories_of(d):
            by_cat[cat].append(did)
    kb.children = {k: sorted(v) for k, v in children.items()}
    kb.diseases_by_category = {k: sorted(v) for k, v in by_cat.items()}
    # per category, its evidence strongest first: the same-category step reads only the head
    cat_ev: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for cat, dids in kb.diseases_by_category.items():
        for did in dids:
            for eid in kb.evidence_by_disease.get(did, ()):
                cat_ev[cat].append((-kb.strength[eid], eid, did))
    kb.category_evidence = {k: sorted(v) for k, v in cat_ev.items()}


def categories_of(disease: dict) -> list[str]:
    """A disease's categories: its organ system, then its processes (derived, for dumps and indices)."""
    return [disease["organ"], *disease.get("processes", ())]
