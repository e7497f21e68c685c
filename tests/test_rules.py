"""The rule base as data, the engine that runs it, and the invariants of the evidence hierarchy.

Oracles here are independent of the code under test: the certainty-factor combination is written
out again from docs/design.md; the plain-Python interpreter evaluates the same declarations without
durable-rules; FNV-1a is computed by its definition; knowledge facts are read from the YAML.
"""

import importlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from msc_ev import advisor, cli
from msc_ev.advisor import engine
from msc_ev.rules import RULE_LIST, RULES, TIERS, actions, interpret
from msc_ev.rules.declare import DeclarationError, parse

C = importlib.import_module("msc_ev.advisor.consult")
runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent

VARIANTS = [
    C.Constraints(),
    C.Constraints(exclude_sources=("uc-msc",)),
    C.Constraints(routes=("intravenous", "intranasal")),
    C.Constraints(clinical_only=True),
    C.Constraints(population="neonate"),
    C.Constraints(population="female"),
]


def consultations(kb):
    for did in sorted(kb.diseases):
        for cons in VARIANTS:
            yield did, cons


# ------------------------------------------------------------------------------------------
# declarations


def test_every_rule_is_declared_once_with_conditions_as_data():
    ids = [r.id for r in RULE_LIST]
    assert len(ids) == len(set(ids))
    doc = yaml.safe_load((ROOT / "rules" / "rules.yaml").read_text())
    assert [r["id"] for r in doc["rules"]] == ids
    for r in RULE_LIST:
        assert r.description and r.conditions
        for cond in r.conditions:
            j = cond.as_json()
            assert set(j) == {"bind", "fact", "test", "text"}


def test_condition_text_is_generated_from_the_declaration():
    r = RULES["sup-source"]
    assert [c.text for c in r.conditions] == [
        "a relation of a disease to the query (r)",
        "an evidence item (e) whose disease is the disease of r and registered is 0 and unstated is 0",
    ]
    assert RULES["guard-cancer"].conditions[1].text == (
        "a candidate disease (d) whose lineage is not self and cancer is not the cancer of q")


def test_rules_json_prints_each_rule_as_declared():
    res = runner.invoke(cli.app, ["rules", "--format", "json"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert [r["id"] for r in data["rules"]] == [r for r in advisor.kbtools.rule_ids()]
    one = next(r for r in data["rules"] if r["id"] == "rel-organ-process")
    assert one["conditions"][1] == {
        "bind": "d", "fact": "disease",
        "test": [{"field": "lineage", "op": "eq", "value": "none"}, {"field": "same_organ", "op": "eq", "value": 1},
                 {"field": "shared_process", "op": "ne", "value": ""},
                 {"field": "cancer", "op": "eq", "value": "$q.cancer"}],
        "text": ("a candidate disease (d) whose lineage is none and same_organ is 1 and shared_process is not empty"
                 " and cancer is the cancer of q")}
    assert one["asserts"]["action"] == "relate"
    assert data["disclaimer"]


def test_rule_book_markdown_lists_every_rule():
    res = runner.invoke(cli.app, ["rules", "--format", "markdown"])
    assert res.exit_code == 0
    assert res.stdout.startswith("# The msc-ev rule book\n")
    for r in RULE_LIST:
        assert f"### `{r.id}` (priority {r.priority}" in res.stdout


@pytest.mark.parametrize("doc,message", [
    ({"rules": [{"id": "x", "stage": "guard", "priority": 1, "description": "d",
                 "when": [{"bind": "q", "fact": "query", "where": {"colour": 1}}],
                 "then": {"caution": {"name": "n"}}}]},
     "rule x: condition 1: query has no field 'colour'"),
    ({"rules": [{"id": "x", "stage": "guard", "priority": 1, "description": "d",
                 "when": [{"bind": "q", "fact": "query", "where": {"organ": "$z.organ"}}],
                 "then": {"caution": {"name": "n"}}}]},
     "rule x: condition 1: '$z.organ' refers to no fact bound before it"),
    ({"rules": [{"id": "x", "stage": "guard", "priority": 1, "description": "d",
                 "when": [{"bind": "q", "fact": "query"}], "then": {"explode": {}}}]},
     "rule x: unknown action 'explode'"),
    ({"rules": [{"id": "x", "stage": "heuristic", "priority": 1, "description": "d",
                 "when": [{"bind": "q", "fact": "query"}], "then": {"contribute": {"axis": "source", "item": "bm-msc"}}}]},
     "rule x: a contribution with its own certainty factor names weight rules.x"),
    # a group's members stay beside the fact (HOST_ONLY): the engine never sees them, so no rule may test them
    ({"rules": [{"id": "x", "stage": "guard", "priority": 1, "description": "d",
                 "when": [{"bind": "d", "fact": "disease", "where": {"members": {"has": "asthma"}}}],
                 "then": {"caution": {"name": "n"}}}]},
     "rule x: condition 1: disease has no field 'members'"),
])
def test_malformed_declarations_are_refused_with_the_rule_named(doc, message):
    with pytest.raises(DeclarationError) as e:
        parse(doc, "rules.yaml")
    assert message in str(e.value)


# ------------------------------------------------------------------------------------------
# the engine and the interpreter agree; every firing asserts something


def test_engine_and_interpreter_derive_the_same_facts_and_rankings(kb):
    w = actions.Weights.from_kb(kb.weights, TIERS)
    for did, cons in consultations(kb):
        cons = C.normalise_constraints(kb, cons)
        res = advisor.resolve(kb, did)
        facts = C.prepare(kb, res, cons)
        ctx = engine.run(facts, kb.weights, verify=True)  # and it holds exactly what was asserted, not retracted
        derived, firings = interpret.run(RULE_LIST, facts, w)
        assert set(ctx.derived) == {f["id"] for f in derived}, (did, cons)
        assert sorted(s.rule for s in ctx.steps) == sorted(f.rule for f in firings), (did, cons)
        a = C.advice_from(kb, did, res, cons, facts, list(ctx.derived.values()), [])
        b = C.advice_from(kb, did, res, cons, facts, derived, [])
        assert a.as_json() == b.as_json(), (did, cons)


def test_every_firing_asserts_at_least_one_fact(kb):
    for did, cons in consultations(kb):
        adv = advisor.consult(kb, did, cons)
        for step in adv.trace:
            assert step["asserted"], (did, cons, step)


def test_the_evidence_index_never_changes_an_answer(kb):
    for did in sorted(kb.diseases):
        res = advisor.resolve(kb, did)
        cons = C.Constraints()
        full = C.prepare(kb, res, cons, index=False)
        small = C.prepare(kb, res, cons)
        assert len(small) <= len(full)
        a = C.advice_from(kb, did, res, cons, small, list(engine.run(small, kb.weights).derived.values()), [])
        b = C.advice_from(kb, did, res, cons, full, list(engine.run(full, kb.weights).derived.values()), [])
        assert a.as_json() == b.as_json(), did


def test_repeated_or_differently_cased_constraints_answer_like_one():
    one = runner.invoke(cli.app, ["advise", "osteoarthritis", "--exclude-source", "msc", "--format", "json"])
    two = runner.invoke(cli.app, ["advise", "osteoarthritis", "--exclude-source", "msc", "--exclude-source", "MSC",
                                  "--format", "json"])
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout
    assert json.loads(two.stdout)["query"]["constraints"]["exclude_sources"] == ["msc"]


# ------------------------------------------------------------------------------------------
# fact identity: durable-rules keys facts by a 32-bit FNV-1a hash of the id


def fnv1a_by_definition(s: str) -> int:
    h = 2166136261
    for byte in s.encode("ascii"):
        h = ((h ^ byte) * 16777619) % 2**32
    return h


# found by a birthday search over "ev:collide-N" and "contribution:source:bm-msc:sup-source:c-N"
INPUT_PAIR = ("ev:collide-512789", "ev:collide-749192")
DERIVED_PAIR = ("c-26981", "c-382210")  # their bm-msc contributions collide
DERIVED = "contribution:source:bm-msc:sup-source:{}"


def _clash_facts(ids, names):
    q = {"id": "query", "kind": "query", "disease": "x", "organ": "skin", "processes": ["fibrosis"], "cancer": 0,
         "curated": 1, "user_population": 0}
    d = {"id": "disease:x", "kind": "disease", "disease": "x", "lineage": "self", "same_organ": 1,
         "shared_process": "fibrosis", "cancer": 0}
    ev = [{"id": i, "kind": "evidence", "evidence": n, "disease": "x", "source": "bm-msc", "route": "",
           "model": "in-vivo", "direction": "supports", "strength": 500, "vesicle": "exosome", "paper": n,
           "registered": 0, "unstated": 0, "clinical": 0, "reaches": 1, "order": k} for k, (i, n) in enumerate(zip(ids, names))]
    return [q, d, *ev]


def test_the_pairs_really_collide():
    assert fnv1a_by_definition(INPUT_PAIR[0]) == fnv1a_by_definition(INPUT_PAIR[1])
    a, b = (DERIVED.format(n) for n in DERIVED_PAIR)
    assert fnv1a_by_definition(a) == fnv1a_by_definition(b)
    assert engine.fnv1a32(a) == fnv1a_by_definition(a)


def test_colliding_input_facts_both_survive(kb):
    ctx = engine.run(_clash_facts(INPUT_PAIR, ("e1", "e2")), kb.weights)
    assert {DERIVED.format("e1"), DERIVED.format("e2")} <= set(ctx.derived)
    assert ctx.clashes == [(INPUT_PAIR[1], INPUT_PAIR[0])]


def test_colliding_derived_facts_both_survive(kb):
    ctx = engine.run(_clash_facts(("ev:a", "ev:b"), DERIVED_PAIR), kb.weights)
    assert {DERIVED.format(n) for n in DERIVED_PAIR} <= set(ctx.derived)
    assert ctx.clashes == [(DERIVED.format(DERIVED_PAIR[1]), DERIVED.format(DERIVED_PAIR[0]))]  # the second asserted gets the suffix


def test_without_the_guard_durable_really_loses_a_colliding_fact(kb, monkeypatch):
    def naive(self, fid):
        self.logical[fid] = fid
        return fid

    monkeypatch.setattr(engine.Session, "engine_id", naive)
    with pytest.raises(advisor.EngineError):
        engine.run(_clash_facts(INPUT_PAIR, ("e1", "e2")), kb.weights)
    with pytest.raises(advisor.EngineError, match="MessageObservedException"):
        engine.run(_clash_facts(("ev:a", "ev:b"), DERIVED_PAIR), kb.weights)


def test_a_duplicate_fact_is_an_error_not_a_crash(kb):
    q = _clash_facts(("ev:a",), ("e1",))
    with pytest.raises(advisor.EngineError, match="asserted twice"):
        engine.run(q + [dict(q[-1])], kb.weights)


# ------------------------------------------------------------------------------------------
# scores recomputed from the JSON alone (docs/design.md), sharing nothing with the scorer


def mycin(cfs):
    pos = [x for x in cfs if x > 0]
    neg = [x for x in cfs if x < 0]
    p = 0.0
    for x in pos:
        p = p + x * (1 - p)
    n = 0.0
    for x in neg:
        n = n + x * (1 + n)
    if pos and neg:
        return (p + n) / (1 - min(abs(p), abs(n)))
    return p if pos else n


def test_every_score_tier_and_order_recomputes_from_the_json(kb):
    for did in sorted(kb.diseases):
        out = json.loads(json.dumps(advisor.consult(kb, did).as_json()))
        for axis in ("sources", "routes", "engineering"):
            recs = out[axis]
            for r in recs:
                cfs = [s["cf"] for s in r["support"]]
                assert abs(mycin(cfs) - r["score"]) < 0.002 * len(cfs) + 0.0005, (did, r["id"])
                # support counts only when at least as strong as the strongest evidence against
                against = min([s["tier"] for s in r["support"] if s["cf"] < 0] or [6])
                pos = [s["tier"] for s in r["support"] if s["cf"] > 0 and s["tier"] <= against]
                assert r["tier"] == (min(pos) if pos else 5)
                assert r["preference"] == sum(c["effect"] for c in r["comparisons"] if c["scope"] == "disease")
            assert [r["tier"] for r in recs] == sorted(r["tier"] for r in recs), (did, axis)
            for i, a in enumerate(recs):  # by score within a tier, unless this disease's comparison lifts it
                for b in recs[i + 1:]:
                    if b["tier"] == a["tier"] and (b["score"], a["id"]) > (a["score"], b["id"]):
                        lifted = {w for c in a["comparisons"] if c["scope"] == "disease" and c["effect"] == 1
                                  for w in WORSE[c["comparison"]]}
                        assert recs[i + 1]["id"] in lifted, (did, axis, a["id"], b["id"])
            assert [r["rank"] for r in recs] == list(range(1, len(recs) + 1))


WORSE = {c["id"]: set(c.get("worse") or ()) for c in yaml.safe_load((ROOT / "knowledge" / "comparisons.yaml").read_text())["comparisons"]}


def test_the_oracle_notices_a_dropped_or_doubled_contribution(kb):
    out = advisor.consult(kb, "perinatal brain injury").as_json()
    r = out["sources"][0]
    cfs = [s["cf"] for s in r["support"]]
    assert len(cfs) > 1
    assert abs(mycin(cfs[1:]) - r["score"]) > 0.002
    assert abs(mycin(cfs + cfs[:1]) - r["score"]) > 0.002


# ------------------------------------------------------------------------------------------
# the hierarchy's invariants, over every curated disease


def _kb_yaml(name):
    return yaml.safe_load((ROOT / "knowledge" / name).read_text())


def test_msc_is_never_a_source_and_routes_reach_the_organ(kb):
    reaches = {r["id"]: set(r.get("reaches") or ()) for r in _kb_yaml("routes.yaml")["routes"]}
    where = {d["id"]: {d["organ"], d.get("site")} for d in _kb_yaml("diseases.yaml")["diseases"]}
    for did in sorted(kb.diseases):
        adv = advisor.consult(kb, did)
        assert "msc" not in [r.id for r in adv.recs["sources"]]
        for r in adv.recs["routes"]:
            if r.tier < 5:  # the organ system, or the disease's site of it (intranasal: the brain)
                assert where[did] & reaches[r.id], (did, r.id)


def test_level_and_key_citation_come_from_tier_1_to_3_evidence(kb):
    for did in sorted(kb.diseases):
        adv = advisor.consult(kb, did)
        for axis in C.AXES:
            for r in adv.recs[axis]:
                strong = [c for c in r.support if c.cf > 0 and c.tier <= 3]
                if strong:
                    best = min(strong, key=lambda c: (c.tier, -c.cf, c.evidence))
                    assert r.level == best.model and r.tier == best.tier
                    assert r.key_citation in best.citations
                    assert r.level not in ("clinical-registered", "review-inference")
                elif r.tier < 5:  # the review that makes the claim or cites its paper; none for reach alone
                    assert r.level == "review-inference"
                    cited = [k for c in r.support if c.cf > 0 and c.tier <= 4 for k in c.citations]
                    assert r.key_citation in (("heo2018", "cai2020") if cited else (None,)), (did, r.id)


def test_no_transfer_between_cancer_and_non_cancer(kb):
    cancer = {d["id"] for d in _kb_yaml("diseases.yaml")["diseases"] if "cancer" in d["processes"]}
    for did in sorted(kb.diseases):
        adv = advisor.consult(kb, did)
        for rel in adv.relations:
            if rel["disease"] != did:
                assert (rel["disease"] in cancer) == (did in cancer), (did, rel)


def test_registered_trials_are_context_never_evidence(kb):
    adv = advisor.consult(kb, "bronchopulmonary dysplasia")
    trial = [c for c in adv.context if c["kind"] == "registered-trial"]
    assert [c["evidence"] for c in trial] == [["trial-nct03857841"]]
    assert "preclinical-only" in [c["id"] for c in adv.cautions]
    for axis in C.AXES:
        for r in adv.recs[axis]:
            assert all(c.model != "clinical-registered" for c in r.support)


def test_one_paper_counts_once_however_it_is_split(kb, tmp_path):
    base = advisor.consult(kb, "osteoarthritis").as_json()
    ev = next(e for e in _kb_yaml("evidence/cai2020.yaml")["evidence"] if e["id"] == "cai2020-t2-26a")
    twin = dict(ev, id="twin-of-t2-26a", table2=None)
    twin.pop("table2")
    (tmp_path / "split.yaml").write_text(yaml.safe_dump({"evidence": [twin]}))
    split = advisor.consult(advisor.load_kb(extra=[tmp_path]), "osteoarthritis").as_json()
    for axis in ("sources", "routes", "engineering"):
        assert [(r["id"], r["tier"], r["score"]) for r in split[axis]] == \
               [(r["id"], r["tier"], r["score"]) for r in base[axis]], axis


def test_population_caution_only_on_a_mismatch(kb):
    same = advisor.consult(kb, "perinatal brain injury", C.Constraints(population="neonate"))
    other = advisor.consult(kb, "perinatal brain injury", C.Constraints(population="adult"))
    assert "population-mismatch" not in [c["id"] for c in same.cautions]
    mismatch = [c for c in other.cautions if c["id"] == "population-mismatch"]
    assert mismatch == [{"id": "population-mismatch", "citations": [],
                         "text": "Perinatal brain injury usually affects: neonate; you asked about: adult."}]


def test_engine_hazards_action_errors_surface(kb, monkeypatch):
    monkeypatch.setenv("MSC_EV_NO_REUSE", "1")  # every consultation runs the engine (advisor/reuse.py)
    before = advisor.consult(kb, "osteoarthritis").as_json()
    before.pop("trace")

    def boom(rule, bound, w):
        raise ValueError("kaput")

    monkeypatch.setattr(actions, "run", boom)
    with pytest.raises(advisor.EngineError, match="rule action failed: ValueError: kaput"):
        advisor.consult(kb, "osteoarthritis")
    monkeypatch.undo()  # the failed action was abandoned and its session deleted: the next one is whole
    after = advisor.consult(kb, "osteoarthritis").as_json()
    after.pop("trace")
    assert after == before


def test_ctrl_c_inside_a_rule_action_is_a_keyboard_interrupt_and_the_engine_stays_whole(kb, monkeypatch):
    monkeypatch.setenv("MSC_EV_NO_REUSE", "1")  # every consultation runs the engine (advisor/reuse.py)
    before = advisor.consult(kb, "osteoarthritis").as_json()
    before.pop("trace")

    def interrupted(rule, bound, w):
        raise KeyboardInterrupt

    monkeypatch.setattr(actions, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        advisor.consult(kb, "osteoarthritis")
    monkeypatch.undo()
    after = advisor.consult(kb, "osteoarthritis").as_json()
    after.pop("trace")
    assert after == before


def test_verify_reports_a_fact_the_engine_does_not_hold(kb, monkeypatch):
    facts = _clash_facts(("ev:a",), ("e1",))
    real = engine.held
    monkeypatch.setattr(engine, "held", lambda sid: [f for f in real(sid) if f["id"] != "ev:a"])
    with pytest.raises(advisor.EngineError, match="^rule engine lost facts: ev:a; holds others: $"):
        engine.run(facts, kb.weights, verify=True)
    assert engine.run(facts, kb.weights).steps  # without verify, nothing is asked of the engine


def test_a_fact_retracted_in_a_batch_is_not_matched_again_in_it(kb):
    # two clinical studies of the disease both match caution-clinical-found with the one caution; the
    # engine hands both matches to the action at once: only the first fires (it retracts the caution)
    facts = _clash_facts(("ev:c1", "ev:c2"), ("c1", "c2"))
    for f in facts[2:]:
        f.update(model="clinical-completed", clinical=1, strength=800)
    ctx = engine.run(facts, kb.weights)
    fired = [(s.rule, s.matched, [a["id"] for a in s.asserted], s.retracted) for s in ctx.steps
             if s.rule == "caution-clinical-found"]
    assert fired == [("caution-clinical-found", ["relation:x", "ev:c1", "caution:preclinical-only::"],
                      ["withdrawn:caution:preclinical-only::"], ["caution:preclinical-only::"])]
    derived, firings = interpret.run(RULE_LIST, facts, actions.Weights.from_kb(kb.weights, TIERS))
    assert sorted(f["id"] for f in derived) == sorted(ctx.derived)
    assert [(f.rule, f.matched) for f in firings if f.rule == "caution-clinical-found"] == [
        ("caution-clinical-found", ["relation:x", "ev:c1", "caution:preclinical-only::"])]
