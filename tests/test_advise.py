"""Reasoning core: agreement with the reviews, scoring, constraints, trace, engine hazards."""

import json
import subprocess
import sys

import pytest
from pathlib import Path

from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev import cli
from msc_ev.advisor import engine
from msc_ev.advisor.consult import Constraints, consult, prepare
from msc_ev.advisor.scoring import combine

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def top(adv, axis, n=1):
    return [r.id for r in adv.recs[axis][:n]]


# One expectation per row of Cai 2020 Tables 1 and 2 (what the review reports for that disease).
AGREEMENT = [
    # disease,                         top source(s) allowed,        top route allowed
    ("perinatal brain injury",          {"uc-msc"},                    {"intranasal", "intraperitoneal"}),
    ("osteoarthritis",                  {"bm-msc", "es-msc"},          {"intra-articular"}),
    ("atopic dermatitis",               {"ad-msc"},                    {"intravenous", "subcutaneous", "systemic"}),
    ("myocardial infarction",           {"bm-msc"},                    {"intramyocardial"}),
    ("tendon injury",                   {"bm-msc"},                    {"topical"}),
    ("kidney injury",                   {"bm-msc", "uc-msc"},          {"intravenous"}),
    ("graft-versus-host disease",       {"bm-msc"},                    {"systemic"}),
    ("liver fibrosis",                  {"bm-msc", "uc-msc", "es-msc"}, {"intraperitoneal"}),
    ("autism spectrum disorder",        {"bm-msc"},                    {"intranasal"}),
    ("hepatic failure",                 {"bm-msc", "uc-msc"},          {"intravenous", "intraperitoneal"}),
    ("Alzheimer's disease",             {"bm-msc"},                    {"intracerebral", "intranasal", "intravenous"}),
    ("EAE",                             {"bm-msc", "ad-msc"},          {"intraperitoneal", "intravenous", "intranasal"}),
    ("hepatic ischemia-reperfusion injury", {"uc-msc"},                {"intraperitoneal"}),
    ("peripheral nerve injury",         {"uc-msc"},                    {"intravenous"}),
    ("senile osteoporosis",             {"uc-msc", "bm-msc"},          {"intravenous"}),
    ("intrauterine adhesions",          {"uc-msc"},                    {"intravenous"}),
    ("renal ischemia-reperfusion injury", {"wj-msc", "bm-msc", "uc-msc"}, {"intravenous"}),
    ("liver injury",                    {"uc-msc"},                    {"intraperitoneal", "intravenous"}),
    ("prematurity",                     {"uc-msc"},                    {"intranasal", "intraperitoneal"}),
    ("primary ovarian insufficiency",   {"uc-msc"},                    {"intravenous"}),
    ("allergic asthma",                 {"bm-msc", "ad-msc"},          {"systemic"}),
    ("cutaneous wound",                 {"ad-msc"},                    {"systemic", "topical"}),
    # Table 1 (clinical trials)
    ("bronchopulmonary dysplasia",      {"uc-msc", "bm-msc"},          {"intravenous", "systemic"}),
    ("covid-19",                        {"bm-msc"},                    {"inhalation", "systemic"}),
    ("chronic kidney disease",          {"uc-msc"},                    {"intravenous"}),
    ("macular hole",                    {"uc-msc"},                    {"periocular"}),
    ("dry eye",                         {"uc-msc"},                    {"periocular", "topical"}),
    ("type 1 diabetes",                 {"uc-msc", "msc"},             None),
]


@pytest.mark.parametrize("disease,sources,routes", AGREEMENT)
def test_ranking_agrees_with_the_reviews(kb, disease, sources, routes):
    adv = consult(kb, disease)
    assert top(adv, "sources")[0] in sources
    if routes:
        assert top(adv, "routes")[0] in routes


def test_perinatal_brain_injury_exact_ranking(kb):
    adv = consult(kb, "perinatal brain injury")
    assert top(adv, "sources", 2) == ["uc-msc", "wj-msc"]
    assert top(adv, "routes", 3) == ["intranasal", "intravenous", "intraperitoneal"]
    assert adv.resolution.matched_by == "exact"


def test_myocardial_infarction_prefers_hydrogel_or_preconditioning(kb):
    adv = consult(kb, "heart attack")
    assert adv.resolution.id == "myocardial-infarction" and adv.resolution.matched_by == "synonym"
    eng = top(adv, "engineering", 4)
    assert all(e.startswith(("hydrogel-", "preconditioning-", "mirna-22")) for e in eng)
    assert {"hydrogel-alginate", "preconditioning-hypoxia"} <= set(top(adv, "engineering", 5))


def test_glioblastoma_advises_against_adipose(kb):
    adv = consult(kb, "glioblastoma")
    ad = adv.find("ad-msc")
    assert ad is not None and ad.score < 0
    assert ad.rank == len(adv.recs["sources"])
    assert "opposing-evidence:cai2020-21c" in {c["id"] for c in adv.cautions}
    assert top(adv, "sources", 2) == ["bm-msc", "uc-msc"]


def test_es_msc_support_raises_the_ethics_caution(kb):
    adv = consult(kb, "osteoarthritis")
    assert top(adv, "sources") == ["es-msc"]
    assert "es-ethics" in {c["id"] for c in adv.cautions}


def test_every_score_recomputes_from_its_contributions(kb):
    for d in ("perinatal brain injury", "glioblastoma", "myocardial infarction", "atopic dermatitis"):
        adv = consult(kb, d)
        for axis in ("sources", "routes", "engineering"):
            for r in adv.recs[axis]:
                cfs = [round(c.cf, 3) for c in r.support]
                assert round(combine(cfs)[0], 3) == round(r.score, 3)
                j = r.as_json()
                assert round(combine([s["cf"] for s in j["support"]])[0], 3) == j["score"]


def test_combination_is_mycin():
    assert combine([0.5, 0.4])[0] == pytest.approx(0.7)
    assert combine([0.5, 0.4])[1] == ["0.500 + 0.400 x (1 - 0.500) = 0.700"]
    assert combine([-0.5, -0.4])[0] == pytest.approx(-0.7)
    assert combine([0.6, -0.4])[0] == pytest.approx((0.6 - 0.4) / (1 - 0.4))
    assert combine([0.3, -0.2, 0.5])[0] == combine([-0.2, 0.5, 0.3])[0]


def test_direct_evidence_outranks_generalisations(kb):
    """An item backed by exact empirical evidence (no opposing) ranks above any item backed only by rules of thumb."""
    checked = 0
    for did in sorted(kb.diseases):
        adv = consult(kb, did)
        for axis in ("sources", "routes", "engineering"):
            direct = [r for r in adv.recs[axis]
                      if any(c.match == "exact" and c.cf > 0 and c.model != "review-inference" for c in r.support)
                      and all(c.cf >= 0 for c in r.support)]
            generic = [r for r in adv.recs[axis] if r.support and all(not c.evidence for c in r.support)]
            for d in direct:
                for g in generic:
                    checked += 1
                    assert d.rank < g.rank, (did, axis, d.id, g.id)
    assert checked > 100


def test_unknown_disease_exits_1_and_suggests():
    result = runner.invoke(cli.app, ["advise", "perinatl brain injuri"])
    assert result.exit_code == 0  # close enough: fuzzy
    result = runner.invoke(cli.app, ["advise", "xyzzy syndrome"])
    assert result.exit_code == 1
    assert result.stderr.startswith("msc-ev: unknown disease: 'xyzzy syndrome'")


def test_unknown_disease_suggestions(kb):
    with pytest.raises(advisor.UnknownDisease) as exc:
        advisor.resolve(kb, "brain damage of the newborn baby", use_icd=False)
    assert exc.value.exit_code == 1


def test_ambiguous_abbreviation_lists_candidates():
    result = runner.invoke(cli.app, ["advise", "AD"])
    assert result.exit_code == 1
    assert result.stderr == (
        "msc-ev: ambiguous disease: 'AD' could mean: alzheimers-disease (Alzheimer's disease); "
        "atopic-dermatitis (Atopic dermatitis). Ask again with the full name or id "
        "('AD' is also the MSC source ad-msc)\n")


def test_fuzzy_and_synonym_resolution(kb):
    assert advisor.resolve(kb, "osteoarthritus").matched_by == "fuzzy"
    assert advisor.resolve(kb, "osteoarthritus").id == "osteoarthritis"
    assert advisor.resolve(kb, "Asherman syndrome").id == "intrauterine-adhesions"
    assert advisor.resolve(kb, "AKI").id == "acute-kidney-injury"


def test_icd_category_route_for_an_uncurated_disease(kb):
    adv = consult(kb, "Parkinson's disease")
    assert adv.resolution.matched_by == "category"
    assert adv.resolution.id == "icd10cm:G20"
    assert adv.resolution.icd_block == "G20-G26"
    assert "indirect" in {c["id"] for c in adv.cautions}
    assert adv.recs["sources"] and all(c.match in ("category", "sibling", "") for r in adv.recs["sources"] for c in r.support)


# --- constraints ---------------------------------------------------------------------------

def test_exclude_source_removes_it_and_its_parts(kb):
    adv = consult(kb, "perinatal brain injury", Constraints(exclude_sources=("uc-msc",)))
    ids = top(adv, "sources", 10)
    assert "uc-msc" not in ids and "wj-msc" not in ids
    assert [(x["axis"], x["id"], x["rule"]) for x in adv.excluded] == [
        ("source", "uc-msc", "con-exclude-source"), ("source", "wj-msc", "con-exclude-source-part")]
    assert adv.excluded[1]["reason"] == "part of excluded source uc-msc"


def test_route_only_keeps_just_those_routes(kb):
    adv = consult(kb, "perinatal brain injury", Constraints(routes=("intraperitoneal",)))
    assert top(adv, "routes", 10) == ["intraperitoneal"]
    assert {x["id"] for x in adv.excluded if x["axis"] == "route"} == set(kb.routes) - {"intraperitoneal"}


def test_clinical_only_uses_trials_only(kb):
    adv = consult(kb, "bronchopulmonary dysplasia", Constraints(clinical_only=True))
    assert top(adv, "sources", 5) == ["bm-msc"]
    assert all(c.model.startswith("clinical") for r in adv.recs["sources"] for c in r.support)
    assert all(x["axis"] == "evidence" and x["rule"] == "con-clinical-only" for x in adv.excluded)
    assert adv.excluded


def test_population_neonate_penalises_invasive_routes(kb):
    adv = consult(kb, "alzheimers disease", Constraints(population="neonate"))
    intracerebral = adv.find("intracerebral")
    assert any(c.rule == "route-gentle-neonate" and c.cf < 0 for c in intracerebral.support)
    assert "population-mismatch" in {c["id"] for c in adv.cautions}


def test_bad_constraint_is_a_usage_error():
    result = runner.invoke(cli.app, ["advise", "osteoarthritis", "--exclude-source", "uc-mcs"])
    assert result.exit_code == 2
    assert result.stderr == "msc-ev: unknown source for --exclude-source: 'uc-mcs'; did you mean: uc-msc, ucb-msc, cp-msc?\n"
    result = runner.invoke(cli.app, ["advise", "osteoarthritis", "--population", "teen"])
    assert result.exit_code == 2
    assert "use one of neonate, child, adult, elderly" in result.stderr


# --- output ------------------------------------------------------------------------------

def test_json_contract_and_determinism():
    a = runner.invoke(cli.app, ["advise", "perinatal brain injury", "--format", "json"])
    b = runner.invoke(cli.app, ["advise", "perinatal brain injury", "--format", "json"])
    assert a.exit_code == 0 and a.stdout == b.stdout
    data = json.loads(a.stdout)
    assert list(data) == ["query", "sources", "routes", "engineering", "excluded", "cautions", "trace",
                          "references", "disclaimer"]
    assert data["query"]["disease"] == {"id": "perinatal-brain-injury", "name": "Perinatal brain injury",
                                        "matched_by": "exact"}
    rec = data["sources"][0]
    assert list(rec) == ["rank", "id", "name", "score", "level", "support"]
    assert list(rec["support"][0]) == ["rule", "cf", "evidence", "citations", "text"]
    assert data["references"]["thomi2019b"]["cited_in"] == {"cai2020": 76}
    assert "not medical advice" in data["disclaimer"]
    for axis in ("sources", "routes", "engineering"):
        scores = [(-r["score"], r["id"]) for r in data[axis]]
        assert scores == sorted(scores)


def test_json_is_byte_identical_across_processes():
    cmd = [sys.executable, "-c", "from msc_ev import cli; cli.main()", "advise", "glioblastoma", "--format", "json"]
    outs = {subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=str(ROOT)).stdout
            for _ in range(2)}
    assert len(outs) == 1


def test_markdown_and_rich_carry_the_disclaimer():
    md = runner.invoke(cli.app, ["advise", "osteoarthritis", "--format", "markdown"])
    assert md.exit_code == 0 and md.stdout.startswith("# MSC-EV advice: Osteoarthritis\n")
    assert md.stdout.count("not medical advice") == 2
    rich = runner.invoke(cli.app, ["advise", "osteoarthritis"])
    assert rich.exit_code == 0 and "not medical advice" in " ".join(rich.stdout.split())


# --- trace and engine ----------------------------------------------------------------------

def test_trace_comes_from_real_firings_in_order(kb):
    adv = consult(kb, "wharton jelly kidney" if False else "perinatal brain injury")
    steps = [t["step"] for t in adv.trace]
    assert steps == list(range(1, len(steps) + 1))
    stages = [t["rule"].split("-")[0] for t in adv.trace]
    assert stages[0] in ("cls", "con", "caution")
    assert adv.trace[0]["matched"]
    # every support fact in the output was asserted by some recorded firing
    asserted = {a for t in adv.trace for a in t["asserted"]}
    for r in adv.recs["sources"]:
        for c in r.support:
            assert any(a.startswith(f"support:source:{r.id}:{c.rule}:") for a in asserted)


def test_only_relevant_evidence_is_asserted(kb):
    res = advisor.resolve(kb, "tendon injury")
    facts = prepare(kb, res, Constraints())
    evs = [f for f in facts if f["kind"] == "evidence"]
    assert 0 < len(evs) < len(kb.evidence) / 3


def test_hash_clash_is_detected_and_rerun_with_salt(kb):
    res = advisor.resolve(kb, "perinatal brain injury")
    facts = prepare(kb, res, Constraints())
    before = engine.STATS["salted_reruns"]
    normal = engine.run(facts, kb.weights)
    lost = next(f["id"] for f in normal.derived if f["kind"] == "support")
    recovered = engine.run(facts, kb.weights, _drop_once={lost})
    assert engine.STATS["salted_reruns"] == before + 1
    assert [f["id"] for f in recovered.derived] == [f["id"] for f in normal.derived]


def test_many_consultations_in_one_process_match_a_fresh_one(kb):
    first = consult(kb, "atopic dermatitis").as_json()
    for i in range(1100):  # beyond durable_rules' 1024 live-session cap
        consult(kb, ("osteoarthritis", "glioblastoma", "prematurity")[i % 3])
    assert consult(kb, "atopic dermatitis").as_json() == first
    fresh = subprocess.run([sys.executable, "-c", "from msc_ev import cli; cli.main()", "advise", "atopic dermatitis", "--format", "json"],
                           capture_output=True, text=True, check=True, cwd=str(ROOT)).stdout
    assert json.loads(fresh) == json.loads(json.dumps(first))


def test_consultations_are_serialised_across_threads(kb):
    import threading

    expected = consult(kb, "osteoarthritis").as_json()
    results = []

    def work():
        for _ in range(20):
            results.append(consult(kb, "osteoarthritis").as_json() == expected)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 80


def test_ten_thousand_consultations_flat_memory_same_answers(kb):
    """10,000 consultations in one process: same answers as the first run, memory flat."""
    import resource

    diseases = sorted(kb.diseases)
    reference = {d: consult(kb, d).as_json() for d in diseases[:10]}
    for i in range(1000):
        consult(kb, diseases[i % len(diseases)])
    rss_1k = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    for i in range(9000):
        adv = consult(kb, diseases[i % len(diseases)])
        if i % 900 == 0 and adv.resolution.id in reference:
            assert adv.as_json() == reference[adv.resolution.id]
    rss_10k = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert {d: consult(kb, d).as_json() for d in reference} == reference
    assert rss_10k - rss_1k < 20 * 1024, f"peak RSS grew by {(rss_10k - rss_1k) / 1024:.1f} MiB"
