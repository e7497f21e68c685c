"""The rule declarations: read ``rules/rules.yaml`` once, validate it, and describe it in words.

A rule is data: an id, a stage, a priority, a description, citations, the name of the weight it uses,
its conditions and one action. This module is the only reader of that file; the durable-rules
compiler (:mod:`.compile`), the plain-Python interpreter (:mod:`.interpret`), why-not, the rule
listing and the rule book all use the :class:`Rule` objects it returns, so a condition is written
once and read everywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES_FILE = HERE / "rules.yaml"
HIERARCHY_FILE = HERE / "hierarchy.yaml"

STAGES = ("constraint", "classify", "guard", "evidence", "support", "heuristic", "preference", "caution")

# The facts rules can match: kind -> (a label for the text, its fields with a few words each).
FACTS: dict[str, tuple[str, dict[str, str]]] = {
    "query": ("the query", {
        "disease": "the disease asked about", "organ": "its organ system", "processes": "its processes",
        "cancer": "1 if it is a cancer", "curated": "1 if the reviews name it",
        "site": "where in its organ system (brain, peripheral-nerve, ocular-surface, ...), or ''",
        "user_population": "1 if the user named a population"}),
    "disease": ("a candidate disease", {
        "disease": ("its id; outside the query's family, the id of the group of diseases that agree on every "
                    "field below (e.g. other-organ+fibrosis)"),
        "members": "the diseases it stands for (itself, or the group's)",
        "lineage": "self, narrower, broader or none (its place in the query's family)",
        "same_organ": "1 if it has the query's organ system", "shared_process": "a process it shares with the query, or ''",
        "cancer": "1 if it is a cancer"}),
    "disease-population": ("a population the disease usually affects", {"population": "the population"}),
    "evidence": ("an evidence item", {
        "evidence": "its id (the first of its members)", "members": "the evidence items it stands for: one, or several from one paper that agree on every field",
        "disease": "the candidate disease (or group) of the disease studied", "source": "the MSC source", "route": "the route, or ''",
        "model": "the kind of study", "direction": "supports or opposes", "strength": "model x species x vesicle, out of 1000",
        "vesicle": "the vesicle type", "paper": "the primary paper", "registered": "1 for a registered trial without results",
        "unstated": "1 if the MSC source is not stated", "clinical": "1 for a reported trial or case report",
        "reaches": "1 if its route reaches the query's organ system or site (or it has none)", "order": "its place in a stable order"}),
    "evidence-engineering": ("an engineering option used in an evidence item", {
        "evidence": "the evidence item", "engineering": "the option",
        "organ_ok": "1 unless the option is specific to other organ systems",
        "population_ok": "1 unless the option is specific to a population the disease does not affect"}),
    "route": ("a route", {"route": "its id", "reaches": "1 if it reaches the query's organ system (or its site)",
                          "local": "1 if it delivers into or onto the organ, 0 into the circulation or a cavity",
                          "invasive": "1 if it is highly invasive"}),
    "option": ("an engineering option", {
        "engineering": "its id", "family": "the category word its id starts with", "purposes": "what it is for",
        "fits": "1 if reported for the query's organ system and a process of it (an axis it does not name is no restriction)",
        "fits_transfer": ("1 if it matches the query on one of the two axes it names only (never across cancer and "
                          "non-cancer)"),
        "organ_ok": "1 unless it is specific to other organ systems",
        "population_ok": "1 unless it is specific to a population the disease does not affect"}),
    "source-part": ("a source that is part of another", {"part": "the part", "whole": "the whole"}),
    "comparison": ("a comparison the reviews make", {
        "comparison": "its id", "axis": "what it compares", "type": "preference, tie or readiness",
        "scope": "where it was made: disease, organ, process or cells",
        "scoped": "1 if it names diseases", "organ": "the organ system it concerns, or ''",
        "process": "the process it concerns, or ''", "process_match": "1 if the query has that process",
        "better": "the item it favours, or ''", "candidate": "1 if it compares candidates (sources, routes, options)",
        "cancer": "1 if it is about cancer",
        "paper": "its primary paper, or ''"}),
    "comparison-scope": ("a disease a comparison names", {"comparison": "the comparison", "disease": "the disease"}),
    "constraint": ("a constraint the user set", {
        "type": "exclude-source, route-not-allowed, clinical-only or population", "value": "its value",
        "in_disease": "1 if the population is one the disease usually affects",
        "disease_has_populations": "1 if the disease usually affects particular populations"}),
    # derived
    "relation": ("a relation of a disease to the query", {"disease": "the disease (or group)",
                                                        "basis": "direct, related or indirect", "how": "in words",
                                                        "same_organ": "1 if it has the query's organ system"}),
    "preference": ("a comparison that applies to the query", {
        "comparison": "the comparison", "axis": "what it compares", "type": "preference or tie",
        "scope": "disease (it reorders the candidates it names) or organ, process, cells (a contribution)",
        "better": "the item it favours, or ''", "candidate": "1 if it compares candidates", "paper": "its primary paper",
        "cancer": "1 if it is about cancer"}),
    "contribution": ("a contribution", {
        "axis": "source, route or engineering", "item": "the candidate", "cf": "its certainty factor", "tier": "its tier",
        "basis": "direct, related, indirect or reach", "paper": "its primary paper, or ''", "evidence": "its evidence item, or ''",
        "comparison": "the comparison it comes from, or ''", "origin": "evidence, rollup, heuristic or comparison", "rule": "the rule that made it", "clinical": "1 if clinical",
        "order": "strength order (lower is stronger)"}),
    "exclusion": ("an exclusion", {"axis": "source or route", "item": "the excluded item"}),
    "population": ("a population of the consultation", {"population": "the population", "via": "disease or user"}),
    "caution": ("a caution", {"name": "its name"}),
}

# Fields the advisor keeps beside a fact but does not hand to the engine: no condition may test them
# and no action reads them (a group's member list can be thousands of ids long at 100x knowledge).
HOST_ONLY: dict[str, frozenset[str]] = {"disease": frozenset({"members"}), "evidence": frozenset({"members"})}

ACTIONS: dict[str, tuple[set[str], set[str]]] = {  # action -> (required params, optional params)
    "relate": ({"disease", "basis", "how", "same_organ"}, set()),
    "block": ({"axis", "item", "reason"}, {"evidence"}),
    "contribute": ({"axis", "item"}, {"evidence", "relation", "contribution", "scale", "comparison", "basis"}),
    "exclude": ({"axis", "item", "reason"}, set()),
    "set-aside": ({"contribution"}, set()),
    "population": ({"population", "via"}, set()),
    "context": ({"type"}, {"evidence", "comparison"}),
    "prefer": ({"comparison"}, set()),
    "supersede": ({"weaker", "stronger"}, set()),
    "caution": ({"name"}, {"item", "evidence"}),
    "withdraw": ({"caution", "by"}, set()),
}
OPS = ("eq", "ne", "lt", "gt", "le", "ge", "in", "has", "has-any")
REF_RE = re.compile(r"^\$([a-z]\w*)(?:\.([a-z_]\w*))?$")


class DeclarationError(Exception):
    """The rule file is malformed (a packaging error: the tests keep it from shipping)."""


@dataclass(frozen=True)
class Ref:
    """``$b.field`` (a field of the fact bound as b) or ``$b`` (the whole fact)."""

    bind: str
    field: str | None

    def __str__(self) -> str:
        return f"${self.bind}.{self.field}" if self.field else f"${self.bind}"


@dataclass(frozen=True)
class Test:
    field: str
    op: str  # one of OPS
    value: object  # a literal, a tuple of literals (in, has-any) or a Ref

    def as_json(self) -> dict:
        v = self.value
        if isinstance(v, Ref):
            v = str(v)
        elif isinstance(v, tuple):
            v = list(v)
        return {"field": self.field, "op": self.op, "value": v}


@dataclass(frozen=True)
class Condition:
    bind: str
    fact: str
    tests: tuple[Test, ...]
    text: str

    def as_json(self) -> dict:
        return {"bind": self.bind, "fact": self.fact, "test": [t.as_json() for t in self.tests], "text": self.text}


@dataclass(frozen=True)
class Rule:
    id: str
    stage: str
    priority: int
    description: str
    cites: tuple[str, ...]
    weight: str | None
    conditions: tuple[Condition, ...]
    action: str
    params: dict
    index: int  # place in the file: the tie-break after priority

    @property
    def then_text(self) -> str:
        return action_text(self.action, self.params)

    @cached_property
    def param_plan(self) -> tuple[tuple[str, str | None, object], ...]:
        """The action's parameters as (name, bind, field) for a ``$bind.field`` (field None for the
        whole fact), or (name, None, constant): what :func:`.actions.run` reads, worked out once."""
        return tuple((k, v.bind, v.field) if isinstance(v, Ref) else (k, None, v) for k, v in self.params.items())

    def as_json(self) -> dict:
        return {"id": self.id, "stage": self.stage, "priority": self.priority, "description": self.description,
                "citations": list(self.cites), "weight": self.weight,
                "conditions": [c.as_json() for c in self.conditions],
                "asserts": {"action": self.action, "params": _params_json(self.params), "text": self.then_text}}


def _params_json(params: dict) -> dict:
    return {k: (str(v) if isinstance(v, Ref) else v) for k, v in params.items()}


# --------------------------------------------------------------------------------------------
# words


def _value_text(v) -> str:
    if isinstance(v, Ref):
        return f"the {v.field} of {v.bind}" if v.field else v.bind
    if v == "":
        return "empty"
    return str(v)


_OP_TEXT = {"eq": "is", "ne": "is not", "lt": "is below", "gt": "is above", "le": "is at most", "ge": "is at least",
            "in": "is one of", "has": "include", "has-any": "include one of"}


def test_text(t: Test) -> str:
    v = ", ".join(map(str, t.value)) if isinstance(t.value, tuple) else _value_text(t.value)
    return f"{t.field} {_OP_TEXT[t.op]} {v}"


def condition_text(bind: str, fact: str, tests) -> str:
    label = FACTS[fact][0]
    head = f"{label} ({bind})"
    return head if not tests else f"{head} whose " + " and ".join(test_text(t) for t in tests)


def action_text(action: str, p: dict) -> str:
    v = {k: _value_text(x) for k, x in p.items()}
    if action == "relate":
        return f"relate {v['disease']} to the query as {p['basis']} evidence ({p['how']})"
    if action == "block":
        return f"block {p['axis']} {v['item']}: {p['reason']}"
    if action == "contribute":
        if "evidence" in p:
            how = (f"with the tier of {v['relation']}'s basis and {v['evidence']}'s model (rules/hierarchy.yaml), "
                   "CF = strength x tier discount, negated if it opposes")
        elif "contribution" in p:
            how = f"with the CF of {v['contribution']} x {p['scale']}, same tier"
        elif "comparison" in p:
            how = f"as the comparison {v['comparison']} cited, with this rule's certainty factor, tier 4"
        elif p.get("basis") == "reach":
            how = "with the certainty factor of its kind of delivery, tier 4 (basis: reach)"
        else:
            how = "with this rule's certainty factor, tier 4 (a generalisation)"
        return f"contribute to {p['axis']} {v['item']} {how}"
    if action == "exclude":
        return f"exclude {p['axis']} {v['item']} ({p['reason']})"
    if action == "set-aside":
        return f"set aside {v['contribution']}"
    if action == "population":
        return f"the consultation concerns population {v['population']} (from the {p['via']})"
    if action == "context":
        return f"context: {p['type']}"
    if action == "prefer":
        return f"apply the comparison {v['comparison']} (+1 to the favoured item, -1 to each item it beats)"
    if action == "supersede":
        return f"{v['weaker']} is superseded by {v['stronger']}"
    if action == "caution":
        return f"caution: {p['name']}"
    if action == "withdraw":
        return f"withdraw {v['caution']} (found {v['by']})"
    return action  # pragma: no cover - ACTIONS is closed


# --------------------------------------------------------------------------------------------
# reading


def _value(raw, binds: set[str], where: str):
    if isinstance(raw, str) and raw.startswith("$"):
        m = REF_RE.match(raw)
        if not m or m.group(1) not in binds:
            raise DeclarationError(f"{where}: {raw!r} refers to no fact bound before it")
        return Ref(m.group(1), m.group(2))
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise DeclarationError(f"{where}: values are strings, whole numbers or $refs, got {raw!r}")
    return raw


def _tests(fact: str, where_map, binds: set[str], where: str) -> tuple[Test, ...]:
    if where_map is None:
        return ()
    if not isinstance(where_map, dict):
        raise DeclarationError(f"{where}: 'where' must be a mapping")
    out = []
    fields = {k: v for k, v in FACTS[fact][1].items() if k not in HOST_ONLY.get(fact, ())}
    for fld, raw in where_map.items():
        if fld not in fields:
            raise DeclarationError(f"{where}: {fact} has no field {fld!r} (fields: {', '.join(fields)})")
        if isinstance(raw, dict):
            if len(raw) != 1:
                raise DeclarationError(f"{where}: {fld}: one operator per test, got {raw!r}")
            (op, val), = raw.items()
            if op not in OPS:
                raise DeclarationError(f"{where}: {fld}: unknown operator {op!r} (known: {', '.join(OPS)})")
            if op in ("in", "has-any"):
                if not isinstance(val, list) or not val:
                    raise DeclarationError(f"{where}: {fld}: {op} takes a list")
                value = tuple(_value(x, set(), where) for x in val)
            else:
                value = _value(val, binds, where)
            out.append(Test(fld, op, value))
        else:
            out.append(Test(fld, "eq", _value(raw, binds, where)))
    return tuple(out)


def parse(doc, origin: str = str(RULES_FILE)) -> tuple[Rule, ...]:
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise DeclarationError(f"{origin}: expected a mapping with a 'rules' list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(doc["rules"]):
        where = f"{origin}: rule {i + 1}"
        if not isinstance(raw, dict):
            raise DeclarationError(f"{where}: must be a mapping")
        known = {"id", "stage", "priority", "description", "cites", "weight", "when", "then"}
        if set(raw) - known:
            raise DeclarationError(f"{where}: unknown keys {sorted(set(raw) - known)}")
        rid = raw.get("id")
        if not isinstance(rid, str) or not re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", rid) or rid in seen:
            raise DeclarationError(f"{where}: id must be a new kebab-case id, got {rid!r}")
        seen.add(rid)
        where = f"{origin}: rule {rid}"
        if raw.get("stage") not in STAGES:
            raise DeclarationError(f"{where}: stage must be one of {', '.join(STAGES)}")
        pri = raw.get("priority")
        if isinstance(pri, bool) or not isinstance(pri, int) or not 1 <= pri <= 99:
            raise DeclarationError(f"{where}: priority must be a whole number from 1 to 99")
        if not isinstance(raw.get("description"), str) or not raw["description"].strip():
            raise DeclarationError(f"{where}: needs a description")
        cites = raw.get("cites") or []
        if not isinstance(cites, list) or not all(isinstance(x, str) for x in cites):
            raise DeclarationError(f"{where}: cites must be a list of citations")
        when = raw.get("when")
        if not isinstance(when, list) or not when:
            raise DeclarationError(f"{where}: 'when' must be a non-empty list of conditions")
        binds: set[str] = set()
        conds = []
        for j, cond in enumerate(when):
            cw = f"{where}: condition {j + 1}"
            if not isinstance(cond, dict) or set(cond) - {"bind", "fact", "where"} or "bind" not in cond or "fact" not in cond:
                raise DeclarationError(f"{cw}: must be {{bind: NAME, fact: KIND, where: {{...}}}}")
            b, fact = cond["bind"], cond["fact"]
            if not isinstance(b, str) or not re.match(r"^[a-z]\w*$", b) or b in binds:
                raise DeclarationError(f"{cw}: bind must be a new short name, got {b!r}")
            if fact not in FACTS:
                raise DeclarationError(f"{cw}: unknown fact kind {fact!r} (known: {', '.join(FACTS)})")
            tests = _tests(fact, cond.get("where"), binds, cw)
            binds.add(b)
            conds.append(Condition(b, fact, tests, condition_text(b, fact, tests)))
        then = raw.get("then")
        if not isinstance(then, dict) or len(then) != 1:
            raise DeclarationError(f"{where}: 'then' must hold exactly one action")
        (action, params), = then.items()
        if action not in ACTIONS:
            raise DeclarationError(f"{where}: unknown action {action!r} (known: {', '.join(ACTIONS)})")
        need, opt = ACTIONS[action]
        if not isinstance(params, dict) or need - set(params) or set(params) - need - opt:
            raise DeclarationError(f"{where}: {action} takes {sorted(need)} and optionally {sorted(opt)}")
        params = {k: _value(v, binds, f"{where}: then.{k}") for k, v in params.items()}
        weight = raw.get("weight")
        if weight is not None and not isinstance(weight, str):
            raise DeclarationError(f"{where}: weight must be the name of a weight")
        own_cf = action == "contribute" and "evidence" not in params and "contribution" not in params
        if own_cf and weight != f"rules.{rid}" and not (weight or "").startswith("reach."):
            raise DeclarationError(f"{where}: a contribution with its own certainty factor names weight rules.{rid} "
                                   "(or reach.local / reach.systemic)")
        rules.append(Rule(rid, raw["stage"], pri, raw["description"].strip(), tuple(cites), weight,
                          tuple(conds), action, params, i))
    return tuple(rules)


def _yaml(data: bytes):
    import yaml  # only when the JSON copy below is missing or stale

    return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def _read(path: Path, check):
    """The declarations of ``path``, read through a JSON copy in the user cache keyed by the file's hash
    (so a plain run does not import PyYAML); ``check`` validates whatever was read. Never trusted
    blindly, never required: the copy's first line holds the SHA-256 of the YAML it was made from and
    of the JSON after that line, and a copy whose hashes do not match (edited, truncated, rotted),
    that cannot be read or that does not validate is made again from the YAML, with one note on
    standard error."""
    from ..cachefiles import cache_dir, note, write_cache

    data = path.read_bytes()
    source = hashlib.sha256(data).hexdigest()
    copy = cache_dir() / f"{path.stem}-{source[:20]}.sealed.json"
    damaged = None
    try:
        head, _, body = copy.read_bytes().partition(b"\n")
        seal = json.loads(head)
        if not (isinstance(seal, dict) and seal.get("source") == source
                and seal.get("sha256") == hashlib.sha256(body).hexdigest()):
            raise ValueError("its hashes do not match its content")
        return check(json.loads(body))
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (OSError, ValueError, DeclarationError) as exc:
        damaged = exc.strerror if isinstance(exc, OSError) else str(exc)
    if damaged is not None:
        note("declarations-damaged", f"the cached copy {copy} of {path.name} could not be used ({damaged}); "
                                      "read the YAML again")
    doc = _yaml(data)
    out = check(doc)
    body = json.dumps(doc).encode("utf-8")
    seal = json.dumps({"source": source, "sha256": hashlib.sha256(body).hexdigest()}).encode("utf-8")
    write_cache(copy, seal + b"\n" + body)  # a read-only cache: read the YAML every time
    return out


def load_rules() -> tuple[Rule, ...]:
    return _read(RULES_FILE, parse)


def _tiers(doc) -> dict[str, dict[str, int]]:
    tiers = doc.get("tiers") if isinstance(doc, dict) else None
    if not isinstance(tiers, dict) or set(tiers) != {"direct", "related", "indirect"}:
        raise DeclarationError(f"{HIERARCHY_FILE}: 'tiers' must map direct, related and indirect to model tiers")
    for basis, table in tiers.items():
        if not isinstance(table, dict) or not all(isinstance(v, int) and 1 <= v <= 4 for v in table.values()):
            raise DeclarationError(f"{HIERARCHY_FILE}: tiers.{basis} must map models to tiers 1-4")
    return tiers


def load_tiers() -> dict[str, dict[str, int]]:
    return _read(HIERARCHY_FILE, _tiers)
