"""Reuse of the engine's conclusions for an equal fact set (advisor/reuse.py).

The oracle is the consultation that runs the engine (reuse off, ``MSC_EV_NO_REUSE=1``): with reuse on,
the first and the second call of every query must give the same JSON, trace included, byte for byte,
on every curated disease and on 500 ICD-10-CM titles drawn with a fixed seed, with and without
constraints. The other tests pin what the key holds and what it leaves out.
"""

import importlib
import json
import random

import pytest

from msc_ev import advisor
from msc_ev.advisor import engine, icd, reuse
from msc_ev.rules import RULE_LIST
from msc_ev.rules.declare import Ref

C = importlib.import_module("msc_ev.advisor.consult")
SEED = 20261207
CONSTRAINED = C.Constraints(exclude_sources=("uc-msc",), routes=("intravenous", "intranasal"), clinical_only=False,
                            population="adult")


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch):
    monkeypatch.delenv(reuse.ENV, raising=False)
    reuse.clear()
    yield
    reuse.clear()


def _icd_titles(n: int) -> list[str]:
    rows = icd.index().con.execute("SELECT title FROM codes WHERE leaf = 1 ORDER BY code").fetchall()
    return random.Random(SEED).sample([t for (t,) in rows], n)


def _json(kb, text, cons, monkeypatch, *, reuse_on: bool) -> str | None:
    if reuse_on:
        monkeypatch.delenv(reuse.ENV, raising=False)
    else:
        monkeypatch.setenv(reuse.ENV, "1")
    try:
        adv = advisor.consult(kb, text, cons)
    except (advisor.UnknownDisease, advisor.AmbiguousDisease):
        return None
    return json.dumps(adv.as_json(), sort_keys=False)


def _differential(kb, texts, variants, monkeypatch) -> dict:
    seen = {"queries": 0, "engine_runs_reused": 0}
    for cons in variants:
        for text in texts:
            fresh = _json(kb, text, cons, monkeypatch, reuse_on=False)
            if fresh is None:
                continue
            runs = engine.STATS["consultations"]
            first = _json(kb, text, cons, monkeypatch, reuse_on=True)
            hits = reuse.STATS["hits"]
            second = _json(kb, text, cons, monkeypatch, reuse_on=True)
            assert reuse.STATS["hits"] == hits + 1, text  # the second call really reused
            assert first == fresh, (text, cons)
            assert second == fresh, (text, cons)
            seen["queries"] += 1
            seen["engine_runs_reused"] += engine.STATS["consultations"] == runs  # the first call was a hit too
    return seen


def test_reused_answers_equal_fresh_ones_on_every_curated_disease(kb, monkeypatch):
    texts = [d["name"] for _, d in sorted(kb.diseases.items())]
    seen = _differential(kb, texts, [C.Constraints(), CONSTRAINED], monkeypatch)
    assert seen["queries"] == 2 * len(texts)


def test_reused_answers_equal_fresh_ones_on_500_icd_titles(kb, monkeypatch):
    titles = _icd_titles(500)
    seen = _differential(kb, titles, [C.Constraints(), CONSTRAINED], monkeypatch)
    assert seen["queries"] >= 900  # a few titles are ambiguous or name nothing the reviews place
    # the titles share fact sets: most first calls are answered by another title's run
    assert seen["engine_runs_reused"] > seen["queries"] // 2


def test_phrasings_of_one_disease_share_one_engine_run(kb):
    names = ["knee osteoarthritis", "Knee osteoarthritis", "M17.9"]
    runs = engine.STATS["consultations"]
    advs = [advisor.consult(kb, t) for t in names]
    assert engine.STATS["consultations"] == runs + 1
    assert [a.as_json()["query"]["text"] for a in advs] == names
    assert advs[2].resolution.notes and not advs[0].resolution.notes  # the notes are each query's own


def test_two_codes_of_one_shape_share_a_run_but_each_caution_names_its_own_disease(kb):
    a, b = "Acute pancreatitis without necrosis or infection, unspecified", "Other acute pancreatitis"
    runs = engine.STATS["consultations"]
    ja, jb = advisor.consult(kb, a).as_json(), advisor.consult(kb, b).as_json()
    assert engine.STATS["consultations"] == runs + 1
    assert ja["query"]["disease"] == {"id": "icd10cm:K85.90", "name": a, "matched_by": "category"}
    assert jb["query"]["disease"] == {"id": "icd10cm:K85.8", "name": b, "matched_by": "category"}
    ca = {c["id"]: c["text"] for c in ja["cautions"]}
    cb = {c["id"]: c["text"] for c in jb["cautions"]}
    assert ca["indirect"].startswith(f"The reviews do not name {a!r}. It was placed by ICD-10-CM K85.90 ")
    assert cb["indirect"].startswith(f"The reviews do not name {b!r}. It was placed by ICD-10-CM K85.8 ")
    ja.pop("query"), jb.pop("query"), ja.pop("cautions"), jb.pop("cautions")
    assert ja == jb  # everything else the rules derived is the same


def test_a_first_seen_fact_set_runs_the_engine_and_no_reuse_always_does(kb, monkeypatch):
    runs = engine.STATS["consultations"]
    advisor.consult(kb, "osteoarthritis")
    advisor.consult(kb, "osteoarthritis", C.Constraints(clinical_only=True))  # other facts: a run of its own
    advisor.consult(kb, "osteoarthritis")
    assert engine.STATS["consultations"] == runs + 2
    monkeypatch.setenv(reuse.ENV, "1")
    advisor.consult(kb, "osteoarthritis")
    assert engine.STATS["consultations"] == runs + 3
    for off in ("0", "false", "no", ""):
        monkeypatch.setenv(reuse.ENV, off)
        assert reuse.enabled()


def test_a_weight_change_or_an_overlay_is_another_key(kb, tmp_path):
    import copy

    facts = C.prepare(kb, advisor.resolve(kb, "osteoarthritis"), C.Constraints())
    base = reuse.key(kb, facts)
    assert reuse.key(kb, facts) == base
    other = copy.copy(kb)
    other.weights = copy.deepcopy(kb.weights)
    other.weights["source_rollup"] = round(kb.weights["source_rollup"] / 2, 3)
    assert reuse.key(other, facts) != base
    overlay = tmp_path / "extra"
    overlay.mkdir()
    (overlay / "notes.yaml").write_text("evidence: []\n")
    with_overlay = advisor.load_kb(None, [overlay])
    assert reuse.key(with_overlay, facts) != base


def test_the_key_is_the_canonical_fact_set(kb):
    facts = C.prepare(kb, advisor.resolve(kb, "osteoarthritis"), C.Constraints())
    shuffled = [dict(reversed(list(f.items()))) for f in reversed(facts)]
    assert reuse.key(kb, shuffled) == reuse.key(kb, facts)
    changed = [dict(f) for f in facts]
    changed[1]["lineage"] = "broader" if changed[1].get("lineage") != "broader" else "self"
    assert reuse.key(kb, changed) != reuse.key(kb, facts)


def test_the_memo_is_bounded(kb, monkeypatch):
    monkeypatch.setattr(reuse, "CONCLUSIONS", reuse.LRU(3))
    for name in ["osteoarthritis", "stroke", "psoriasis", "knee osteoarthritis", "osteoarthritis"]:
        advisor.consult(kb, name)
    assert len(reuse.CONCLUSIONS) == 3
    runs = engine.STATS["consultations"]
    advisor.consult(kb, "stroke")  # forgotten (least recently used): runs again
    assert engine.STATS["consultations"] == runs + 1


def test_the_only_condition_on_the_querys_disease_joins_comparison_scopes(kb):
    """The query fact of a disease the reviews do not name carries no code (prepare leaves ``disease``
    empty): allowed because no condition tests the query's disease but one join with the diseases a
    comparison names, and those are always curated ids, never a code or an empty string."""
    reads = set()
    for r in RULE_LIST:
        kind_of = {c.bind: c.fact for c in r.conditions}
        for cond in r.conditions:
            for t in cond.tests:
                if cond.fact == "query" and t.field == "disease":
                    reads.add(("query", "disease", t.op, str(t.value)))
                if isinstance(t.value, Ref) and kind_of[t.value.bind] == "query" and t.value.field == "disease":
                    reads.add((cond.fact, t.field, t.op, "$query.disease"))
    assert reads == {("comparison-scope", "disease", "eq", "$query.disease")}
    named = {d for c in kb.comparisons.values() for d in c.get("diseases") or ()}
    assert named and named <= set(kb.diseases) and "" not in named


def test_leaving_the_code_out_of_the_query_fact_changes_no_conclusion(kb, monkeypatch):
    monkeypatch.setenv(reuse.ENV, "1")
    for title in _icd_titles(40):
        try:
            res = advisor.resolve(kb, title)
        except (advisor.UnknownDisease, advisor.AmbiguousDisease):
            continue
        if res.curated:
            continue
        for index in (True, False):  # index=False asserts every comparison scope of every disease
            facts = C.prepare(kb, res, C.Constraints(), index=index)
            assert facts[0]["disease"] == ""
            named = [dict(facts[0], disease=res.id), *facts[1:]]
            plain, coded = engine.run(facts, kb.weights), engine.run(named, kb.weights)
            assert sorted(plain.derived) == sorted(coded.derived)
            assert [(s.rule, s.matched) for s in plain.steps] == [(s.rule, s.matched) for s in coded.steps]


def test_the_key_of_a_consultation_is_the_key_of_its_whole_fact_set(kb):
    # consult hashes the remembered facts of the concept once, with the query and constraint facts
    # beside them: the same fact sets are equal under both, and different ones differ
    seen: dict[bytes, bytes] = {}
    for name in ["osteoarthritis", "knee osteoarthritis", "stroke", "Other acute pancreatitis", "psoriasis"]:
        res = advisor.resolve(kb, name)
        for cons in (C.Constraints(), CONSTRAINED, C.Constraints(population="neonate")):
            cons = C.normalise_constraints(kb, cons)
            facts, shared = C._prepare(kb, res, cons)
            whole, split = reuse.key(kb, facts), reuse.key(kb, facts, shared)
            assert seen.setdefault(whole, split) == split
    assert len(set(seen.values())) == len(seen) == 15


def test_no_reuse_on_the_command_line_gives_the_same_bytes(tmp_path):
    import os
    import subprocess
    import sys

    rows = tmp_path / "rows.txt"
    rows.write_text("stroke\nIschemic stroke\nOther acute pancreatitis\nAcute pancreatitis, unspecified\n")
    env = {k: v for k, v in os.environ.items() if k != reuse.ENV}

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "msc_ev", *args], capture_output=True, text=True, env=env,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    for cmd in (["advise", "Other acute pancreatitis", "--format", "json"],
                ["explain", "stroke", "--format", "json"],
                ["batch", str(rows), "--format", "jsonl", "--jobs", "2"]):
        assert run(*cmd) == run(*cmd, "--no-reuse"), cmd


def test_a_concepts_facts_written_once_for_the_engine_give_the_same_run(kb):
    # consult hands the engine the remembered facts of the concept already written (engine.Part)
    for name in ["osteoarthritis", "perinatal brain injury", "Other acute pancreatitis", "psoriasis"]:
        for cons in (C.Constraints(), CONSTRAINED):
            facts, shared = C._prepare(kb, advisor.resolve(kb, name), C.normalise_constraints(kb, cons))
            with_part = engine.run(facts, kb.weights, part=shared.engine_part(), verify=True)
            plain = engine.run(facts, kb.weights, verify=True)
            assert [(s.rule, s.matched, s.asserted, s.retracted) for s in with_part.steps] == \
                   [(s.rule, s.matched, s.asserted, s.retracted) for s in plain.steps]
            assert with_part.derived == plain.derived
    with pytest.raises(advisor.EngineError, match="do not hold all of its facts"):
        engine.run(facts[:1], kb.weights, part=shared.engine_part())


def test_an_advice_trace_and_references_are_its_own_though_copied_late(kb):
    # the trace and the references are copied from the shared conclusions when first read: a
    # caller changing them must not change the next advice with the same facts
    first = advisor.consult(kb, "perinatal brain injury")
    want_trace = json.dumps(first.as_json()["trace"])
    want_refs = json.dumps(first.as_json()["references"], sort_keys=True)
    first.trace[0]["matched"].append("tampered")
    first.trace.append({"step": 0})
    next(iter(first.references.values()))["cited_in"]["tampered"] = 1
    again = advisor.consult(kb, "perinatal brain injury")
    assert json.dumps(again.as_json()["trace"]) == want_trace
    assert json.dumps(again.as_json()["references"], sort_keys=True) == want_refs
