"""Knowledge base: the shipped files pass; each kind of broken file gets its exact message."""

import json

import pytest
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev import cli
from msc_ev.advisor import kbtools

runner = CliRunner()

EV = """evidence:
  - id: {id}
    source: {source}
    vesicle: exosome
    species: human
    model: {model}
    disease: osteoarthritis
    route: null
    engineering: []
{effect}    direction: supports
    cites: ["{cite}"]
{extra}"""


def ev(id="extra-1", source="uc-msc", model="in-vivo", cite="cai2020:26", effect=True, extra=""):
    eff = "    effect: Made up for a test.\n" if effect else ""
    return EV.format(id=id, source=source, model=model, cite=cite, effect=eff, extra=extra)


DIS = ("diseases:\n  - id: made-up-syndrome\n    name: Made-up syndrome\n    parent: null\n"
       "{organ}{processes}    icd10cm: null\n")


class _Cmp(str):
    def format(self, axis="source", kind="preference", body="", scope="cells"):  # noqa: A003 - str.format with defaults
        return str.format(self, axis=axis, kind=kind, body=body, scope=scope)


CMP = _Cmp("comparisons:\n  - id: made-up-comparison\n    axis: {axis}\n    kind: {kind}\n{body}"
           "    text: Made up for a test.\n    cites: [\"cai2020:21\"]\n    scope: {scope}\n")

CASES = {
    "yaml-syntax": ("evidence:\n  - id: x\n   bad: 1\n",
                    "{f}:3:4: yaml: invalid YAML: did not find expected '-' indicator"),
    "unknown-field": (ev(extra="    colour: blue\n"),
                      "{f}:13:5: colour: unknown field (known: id, source, vesicle, species, model, disease, "
                      "route, engineering, cargo, effect, mechanism, direction, versus, table2, trial, cites, note)"),
    "missing-field": (ev(effect=False), "{f}:2:5: effect: required field is missing"),
    "bad-enum": (ev(model="in-silico"),
                 "{f}:6:5: model: must be one of clinical-completed, case-report, clinical-registered, in-vivo, "
                 "in-vitro, review-inference; got 'in-silico'"),
    "duplicate-id": (ev(id="cai2020-t2-01"),
                     "{f}:2:5: id: duplicate id 'cai2020-t2-01' (first defined at {s}:7)"),
    "unknown-id": (ev(source="uc-mcs"),
                   "{f}:3:5: source: unknown source id 'uc-mcs' (did you mean uc-msc, ucb-msc, cp-msc?)"),
    "missing-reference": (ev(cite="cai2020:116"), "{f}:12:5: cites: no reference numbered 116 in cai2020"),
    "no-organ": (DIS.format(organ="", processes="    processes: [fibrosis]\n"),
                 "{f}:2:5: organ: required field is missing"),
    "no-process": (DIS.format(organ="    organ: skin\n", processes="    processes: []\n"),
                   "{f}:6:5: processes: a disease needs at least one process (e.g. fibrosis, cancer)"),
    "process-as-organ": (DIS.format(organ="    organ: fibrosis\n", processes="    processes: [fibrosis]\n"),
                         "{f}:5:5: organ: 'fibrosis' is a process, not an organ-system"),
    "organ-as-process": (DIS.format(organ="    organ: skin\n", processes="    processes: [skin]\n"),
                         "{f}:6:5: processes: 'skin' is an organ-system, not a process"),
    "route-on-in-vitro": (ev(model="in-vitro").replace("route: null", "route: intravenous"),
                          "{f}:8:5: route: an in-vitro item has no administration route (give the route only for "
                          "in-vivo or clinical work)"),
    "comparison-unknown-source": (CMP.format(body="    better: uc-mcs\n    worse: [bm-msc]\n"),
                                  "{f}:5:5: better: unknown source id 'uc-mcs' (did you mean uc-msc, ucb-msc, cp-msc?)"),
    "comparison-tie-with-better": (CMP.format(kind="tie", body="    better: uc-msc\n    tie: [uc-msc, bm-msc]\n"),
                                   "{f}:6:5: tie: a tie names at least two items under 'tie' and no 'better' or 'worse'"),
    "comparison-without-better": (CMP.format(body="    worse: [bm-msc]\n"),
                                  "{f}:2:5: better: a preference comparison names the item it favours under 'better'"),
    "comparison-source-without-worse": (CMP.format(body="    better: uc-msc\n"),
                                        "{f}:2:5: worse: a preference comparison on the source axis names what it is "
                                        "compared with under 'worse'"),
    "comparison-better-is-worse": (CMP.format(body="    better: uc-msc\n    worse: [uc-msc]\n"),
                                   "{f}:6:5: worse: 'uc-msc' cannot be both better and worse"),
    "comparison-bad-species": (CMP.format(axis="species", body="    better: human\n    worse: [hamster]\n"),
                               "{f}:6:5: worse: unknown species 'hamster' (known: human, mouse, rat, pig)"),
    "comparison-bad-scope": (CMP.format(body="    better: uc-msc\n    worse: [bm-msc]\n    organ: fibrosis\n", scope="organ"),
                             "{f}:7:5: organ: 'fibrosis' is a process, not an organ-system"),
    "comparison-bad-kind": (CMP.format(kind="better", body="    better: uc-msc\n    worse: [bm-msc]\n"),
                            "{f}:4:5: kind: must be one of preference, tie, readiness; got 'better'"),
    "duplicate-key": ("references:\n  - key: doe2020\n    authors: Doe J\n    title: A title\n    title: Another\n"
                      "    journal: J Test\n    year: 2020\n    cited_in: {}\n",
                      "{f}:5:5: yaml: duplicate key 'title' (first at line 4)"),
    "bad-weight": ("weights:\n  model:\n    in-vitro: 1.5\n",
                   "{f}:3:5: weights.model.in-vitro: must be a number from 0 to 1, got 1.5"),
    "unknown-section": ("evidenc:\n  - id: extra-1\n",
                        "{f}:1:1: evidenc: unknown section (known: references, evidence, trials, diseases, "
                        "categories, sources, routes, engineering, comparisons, vocabulary, spellings, icd_mappings, weights)"),
    "bad-icd": (DIS.format(organ="    organ: skin\n", processes="    processes: [fibrosis]\n").replace("icd10cm: null", "icd10cm: Q99.99"),
                "{f}:7:5: icd10cm: 'Q99.99' is not an ICD-10-CM code"),
}


def test_shipped_knowledge_passes_every_check(kb):
    assert kbtools.deep_check(kb) == []
    result = runner.invoke(cli.app, ["kb", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 12 files, 85 diseases, 116 evidence items, ")


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_file_reports_file_line_and_field(case, tmp_path, monkeypatch):
    text, expected = CASES[case]
    overlay = tmp_path / case
    overlay.mkdir()
    (overlay / "extra.yaml").write_text(text)
    monkeypatch.chdir(tmp_path.parent)
    shown = f"{tmp_path.name}/{case}/extra.yaml"
    result = runner.invoke(cli.app, ["--kb", str(advisor.kb.SHIPPED), "--kb-extra", f"{tmp_path.name}/{case}", "kb", "check"])
    assert result.exit_code == 2
    shipped = str(advisor.kb.SHIPPED / "evidence" / "cai2020.yaml")
    assert result.stderr == f"msc-ev: knowledge base invalid: 1 error\n{expected.format(f=shown, s=shipped)}\n"


def test_all_errors_are_collected_not_just_the_first(tmp_path):
    (tmp_path / "a.yaml").write_text(ev(source="nope", model="in-silico"))
    with pytest.raises(advisor.KnowledgeError) as exc:
        advisor.load_kb(None, [tmp_path])
    fields = [p.field for p in exc.value.problems]
    assert fields == ["model"]  # structural errors first; cross-checks run once the structure is sound
    (tmp_path / "a.yaml").write_text(ev(source="nope") + "\n" + ev(id="extra-2", cite="heo2018:99")[len("evidence:\n"):])
    with pytest.raises(advisor.KnowledgeError) as exc:
        advisor.load_kb(None, [tmp_path])
    assert [(p.field, p.message) for p in exc.value.problems] == [
        ("source", "unknown source id 'nope'"),
        ("cites", "no reference numbered 99 in heo2018"),
    ]


def test_missing_knowledge_directory_is_exit_2(tmp_path):
    result = runner.invoke(cli.app, ["--kb", str(tmp_path / "nowhere"), "kb", "stats"])
    assert result.exit_code == 2
    assert "knowledge directory not found" in result.stderr


def test_overlay_evidence_moves_the_ranking(tmp_path, kb):
    before = advisor.consult(kb, "tendon injury")
    # uc-msc's score is higher, but it rests on evidence from other organs (tier 4): bm-msc's direct study wins
    assert [(r.id, r.tier) for r in before.recs["sources"]][:2] == [("bm-msc", 2), ("uc-msc", 4)]
    (tmp_path / "mine.yaml").write_text(
        ev(source="uc-msc").replace("osteoarthritis", "tendon-injury")
        + ev(id="extra-2", source="uc-msc", cite="cai2020:27").replace("osteoarthritis", "tendon-injury")[len("evidence:\n"):]
    )
    mine = advisor.load_kb(None, [tmp_path])
    after = advisor.consult(mine, "tendon injury")
    assert [(r.id, r.tier) for r in after.recs["sources"]][:2] == [("uc-msc", 2), ("bm-msc", 2)]


def test_overlay_weights_are_merged_not_replaced(tmp_path):
    (tmp_path / "w.yaml").write_text("weights:\n  model:\n    in-vitro: 0.4\n")
    mine = advisor.load_kb(None, [tmp_path])
    assert mine.weights["model"]["in-vitro"] == 0.4
    assert mine.weights["model"]["in-vivo"] == 0.5
    assert mine.strength["cai2020-t2-01a" if "cai2020-t2-01a" in mine.evidence else "cai2020-t2-01"] == 400


# --- content ------------------------------------------------------------------------------

# Cai 2020 Table 2, row by row: (sources, acceptable diseases, routes, reference numbers)
TABLE2 = {
    1: ({"bm-msc"}, {"osteoarthritis"}, {None}, {26}),
    2: ({"bm-msc"}, {"tendon-injury"}, {"topical"}, {30}),
    3: ({"bm-msc"}, {"kidney-injury", "cadmium-nephropathy", "acute-kidney-injury", "chronic-kidney-disease"}, {"intravenous"}, {31, 32}),
    4: ({"bm-msc"}, {"graft-versus-host-disease", "acute-gvhd"}, {"systemic"}, {35}),
    5: ({"bm-msc"}, {"liver-fibrosis"}, {"intraperitoneal"}, {41}),
    6: ({"bm-msc"}, {"autism-spectrum-disorder"}, {"intranasal"}, {42}),
    7: ({"bm-msc"}, {"hepatic-failure"}, {"intravenous"}, {37}),
    8: ({"bm-msc"}, {"alzheimers-disease"}, {"intracerebral"}, {38}),
    9: ({"bm-msc"}, {"myocardial-infarction"}, {"intramyocardial"}, {45}),
    10: ({"bm-msc"}, {"experimental-autoimmune-encephalomyelitis"}, {"intraperitoneal"}, {46}),
    11: ({"uc-msc"}, {"hepatic-ischemia-reperfusion-injury"}, {"intraperitoneal"}, {58}),
    12: ({"uc-msc"}, {"peripheral-nerve-injury"}, {"intravenous"}, {59}),
    13: ({"uc-msc"}, {"senile-osteoporosis"}, {"intravenous"}, {60}),
    14: ({"uc-msc"}, {"intrauterine-adhesions"}, {"intravenous"}, {61}),
    15: ({"wj-msc"}, {"kidney-injury", "renal-ischemia-reperfusion-injury", "acute-kidney-injury"}, {"intravenous"}, {63, 64}),
    16: ({"wj-msc"}, {"perinatal-brain-injury"}, {"intraperitoneal"}, {67}),
    17: ({"uc-msc"}, {"liver-injury", "liver-fibrosis"}, {None}, {72, 73, 74}),
    18: ({"uc-msc"}, {"perinatal-brain-injury"}, {"intranasal"}, {76}),
    # row 19 ([77], preterm newborn infants) describes the vesicles: a uc-msc property, no evidence item
    # (tests/test_knowledge_review.py)
    20: ({"uc-msc"}, {"primary-ovarian-insufficiency"}, {None}, {78}),
    21: ({"ad-msc"}, {"osteoarthritis", "allergic-asthma"}, {None}, {84, 85, 87}),
    22: ({"ad-msc"}, {"experimental-autoimmune-encephalomyelitis"}, {"intravenous"}, {88}),
    23: ({"ad-msc"}, {"atopic-dermatitis"}, {"intravenous", "subcutaneous"}, {91}),
    24: ({"ad-msc"}, {"cutaneous-wound", "skin-scarring"}, {"systemic"}, {93, 94}),
    25: ({"es-msc"}, {"liver-fibrosis", "liver-cirrhosis"}, {"intraperitoneal"}, {103}),
    26: ({"es-msc"}, {"osteoarthritis", "cartilage-defect"}, {"intra-articular"}, {107, 108}),
}


# the model of each row's items: rows with a route are animal work; '/' rows may be cell work
TABLE2_MODELS = {row: {"in-vivo"} for row in TABLE2} | {1: {"in-vitro"}, 20: {"in-vitro"},
                                                      21: {"in-vitro", "in-vivo"}}


@pytest.mark.parametrize("row", sorted(TABLE2))
def test_cai2020_table2_row_is_in_the_knowledge(row, kb):
    sources, diseases, routes, refs = TABLE2[row]
    items = [e for e in kb.evidence.values() if e.get("table2") == row]
    assert items, f"no evidence item for Table 2 row {row}"
    assert {e["source"] for e in items} == sources
    assert {e["disease"] for e in items} <= diseases
    assert {e.get("route") for e in items} == routes
    numbers = {kb.references[k]["cited_in"]["cai2020"] for e in items for k in kb.citations(e)
               if "cai2020" in kb.references[k]["cited_in"]}
    assert numbers == refs
    assert {e["model"] for e in items} == TABLE2_MODELS[row]


TABLE1 = {  # registry (or reference) -> source, disease, vesicle, route, model of its evidence item
    "NCT03857841": ("bm-msc", "bronchopulmonary-dysplasia", "ev", "intravenous", "clinical-registered"),
    "NCT04276987": ("bm-msc", "covid-19", "exosome", "inhalation", "clinical-registered"),
    None: ("uc-msc", "chronic-kidney-disease", "ev", None, "clinical-completed"),
    "NCT03437759": ("uc-msc", "macular-hole", "ev", "intraocular", "clinical-registered"),
    "NCT04213248": ("uc-msc", "dry-eye-disease", "exosome", None, "clinical-registered"),
    "NCT02138331": ("uc-msc", "type-1-diabetes", "ev", None, "clinical-registered"),
    "NCT04223622": ("ad-msc", "osteoarthritis", "secretome", None, "clinical-registered"),
}


@pytest.mark.parametrize("registry", sorted(TABLE1, key=str))
def test_cai2020_table1_trial_is_in_the_knowledge(registry, kb):
    source, disease, vesicle, route, model = TABLE1[registry]
    trials = [t for t in kb.trials.values() if t["registry"] == registry]
    assert len(trials) == 1
    t = trials[0]
    assert (t["source"], t["disease"], t["vesicle"], t["route"]) == (source, disease, vesicle, route)
    used = [e for e in kb.evidence.values() if e.get("trial") == [k for k, v in kb.trials.items() if v is t][0]]
    assert len(used) == 1
    assert (used[0]["model"], used[0]["route"], used[0]["source"]) == (model, route, source)


def test_paper_cited_by_both_reviews_is_one_reference(kb):
    assert kb.resolve_cite("heo2018:9") == kb.resolve_cite("cai2020:91") == "cho2018"
    assert kb.references["cho2018"]["cited_in"] == {"heo2018": 9, "cai2020": 91}


def test_mismatched_reference_is_kept_flagged_and_weightless(kb, tmp_path):
    key = kb.resolve_cite("heo2018:49")
    ref = kb.references[key]
    assert ref["mismatch"] is True and "Hepatitis E" in ref["title"]
    (tmp_path / "m.yaml").write_text(ev(id="extra-mismatch", source="menstrual-msc", cite="heo2018:49"))
    mine = advisor.load_kb(None, [tmp_path])
    assert mine.strength["extra-mismatch"] == 0
    adv = advisor.consult(mine, "osteoarthritis")
    assert "extra-mismatch" not in {e for r in adv.recs["sources"] for c in r.support for e in c.evidence}


def test_opposing_and_comparative_findings_are_encoded(kb):
    opposing = {(e["source"], e["disease"], e["vesicle"]) for e in kb.evidence.values() if e["direction"] == "opposes"}
    assert ("ad-msc", "glioblastoma", "ev") in opposing
    assert ("bm-msc", "insulin-resistance", "exosome") in opposing
    assert any(v == "microvesicle" for _, _, v in opposing)


def test_ambiguous_abbreviation_is_listed_on_both_diseases(kb):
    owners = sorted(d for d, rec in kb.diseases.items() if "AD" in (rec.get("abbreviations") or ()))
    assert owners == ["alzheimers-disease", "atopic-dermatitis"]


def test_kb_show_lists_what_points_to_a_record():
    result = runner.invoke(cli.app, ["kb", "show", "cai2020:76"])
    assert result.exit_code == 0
    loc = advisor.load_kb().where[("references", "thomi2019b")]  # a path relative to here, or absolute when installed
    assert loc.path.endswith("knowledge/references.yaml")
    assert result.stdout.splitlines()[0] == f"reference thomi2019b  ({loc.path}:{loc.line})"
    assert "evidence: cai2020-t2-18" in result.stdout


def test_kb_show_unknown_id_suggests():
    result = runner.invoke(cli.app, ["kb", "show", "uc-mcs"])
    assert result.exit_code == 1
    assert result.stderr == "msc-ev: unknown id: 'uc-mcs'; did you mean: uc-msc, ucb-msc, cp-msc?\n"


def test_kb_search_finds_synonyms():
    result = runner.invoke(cli.app, ["kb", "search", "Asherman"])
    assert result.exit_code == 0
    assert result.stdout.split()[:2] == ["diseases", "intrauterine-adhesions"]


def test_kb_dump_json_has_the_contract_keys_and_is_deterministic():
    a = runner.invoke(cli.app, ["kb", "dump", "--format", "json"])
    b = runner.invoke(cli.app, ["kb", "dump", "--format", "json"])
    assert a.exit_code == 0 and a.stdout == b.stdout
    data = json.loads(a.stdout)
    for key in ("references", "sources", "routes", "engineering", "diseases", "evidence", "trials", "rules"):
        assert key in data
    assert data["references"]["cho2018"]["cited_in"] == {"cai2020": 91, "heo2018": 9}
    wj = next(s for s in data["sources"] if s["id"] == "wj-msc")
    assert wj["parent"] == "uc-msc"
    ev0 = data["evidence"][0]
    assert set(ev0) >= {"id", "source", "vesicle", "species", "model", "disease", "route", "engineering", "direction", "citations"}
    assert {t["id"] for t in data["trials"]} == set(TABLE1)
    assert next(r for r in data["routes"] if r["id"] == "intramyocardial")["reaches"] == ["cardiovascular"]
    cmp = next(c for c in data["comparisons"] if c["id"] == "glioblastoma-uc-over-bm-and-ad")
    assert cmp == {"id": "glioblastoma-uc-over-bm-and-ad", "axis": "source", "kind": "preference", "scope": "disease",
                   "better": "uc-msc",
                   "worse": ["bm-msc", "ad-msc"], "tie": [], "diseases": ["glioblastoma"], "organ": None,
                   "process": None, "text": cmp["text"], "citations": ["delfattore2015a"]}
    pbi = next(d for d in data["diseases"] if d["id"] == "perinatal-brain-injury")
    assert (pbi["organ"], pbi["processes"], pbi["populations"], pbi["parent"]) == (
        "nervous-system", ["ischemia-reperfusion", "inflammation-autoimmunity"], ["neonate"], "brain-injury")
    assert {r["stage"] for r in data["rules"]} == {"constraint", "classify", "guard", "evidence", "support", "heuristic",
                                                   "preference", "caution"}


def test_kb_dump_yaml_round_trips():
    import yaml

    result = runner.invoke(cli.app, ["kb", "dump", "--format", "yaml"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["references"]["cai2020"]["year"] == 2020


def test_summaries_are_in_our_own_words(kb):
    """No evidence, property or trial text repeats a run of 10 words from either review."""
    import re
    from pathlib import Path

    import os

    folder = os.environ.get("MSC_EV_SEEDS")
    if not folder or not Path(folder).is_dir():
        pytest.skip("MSC_EV_SEEDS does not name a folder holding the two reviews' text")
    seeds = Path(folder)
    words = lambda t: re.sub(r"[^a-z0-9 ]+", " ", t.lower()).split()  # noqa: E731
    text = words(" ".join(p.read_text() for p in sorted(seeds.glob("*.txt"))))
    grams = {tuple(text[i:i + 10]) for i in range(len(text) - 9)}
    texts = [e["effect"] for e in kb.evidence.values()] + [e.get("mechanism", "") for e in kb.evidence.values()]
    texts += [t["intervention"] for t in kb.trials.values()]
    texts += [c["text"] for c in kb.comparisons.values()]
    for sec in ("sources", "routes", "engineering"):
        texts += [p["text"] for r in kb.section(sec).values() for p in r.get("properties") or ()]
    copied = [t for t in texts if any(tuple(w[i:i + 10]) in grams for w in [words(t)] for i in range(len(w) - 9))]
    assert copied == []


# --- knowledge corrections read against the reviews --------- -------------------------------


def test_one_patient_gvhd_report_is_a_case_report_not_a_trial(kb):
    assert kb.evidence["heo2018-07"]["model"] == "case-report"
    completed = sorted(e for e, ev in kb.evidence.items() if ev["model"] == "clinical-completed")
    assert completed == ["cai2020-109"]


def test_engineering_only_where_the_review_or_cited_title_states_it(kb):
    # Heo [36]/[47] (Feng 2014): the title states ischaemic preconditioning; miR-22 is native cargo
    for eid in ("heo2018-36a", "heo2018-36b"):
        assert (kb.evidence[eid]["engineering"], kb.evidence[eid]["cargo"]) == (["preconditioning-ischemic"], ["miR-22"])
    assert kb.evidence["heo2018-36b"]["cites"] == ["heo2018:47"]
    # Heo [38] (Xin 2013): miR-133b is the mediator, nothing says it was raised
    assert (kb.evidence["heo2018-38"]["engineering"], kb.evidence["heo2018-38"]["cargo"]) == ([], ["miR-133b"])
    assert "mirna-22" not in kb.engineering and "mirna-133b" not in kb.engineering


def test_route_only_where_the_review_gives_one(kb):
    assert kb.evidence["cai2020-47"]["route"] is None  # the myocardial injection was of the cells
    assert kb.evidence["trial-nct03437759"]["route"] == "intraocular"
    assert not [e for e, ev in kb.evidence.items() if ev["route"] and ev["model"] == "in-vitro"]


def test_no_evidence_is_filed_under_a_disease_its_text_does_not_name(kb):
    assert kb.evidence_by_disease.get("autoimmune-disease") is None
    for eid in ("cai2020-34", "cai2020-36", "cai2020-43", "cai2020-92"):
        assert eid not in kb.evidence
    bm = [p for p in kb.sources["bm-msc"]["properties"] if p["name"] == "immunomodulation"]
    assert [kb.citations(p) for p in bm] == [["fujii2018", "delfattore2015b", "mardpour2018"],
                                            ["hyvarinen2018", "delfattore2015b", "khare2018"]]


def test_blue_light_preconditioning_is_a_property_not_a_disease_finding(kb):
    # Cai [79] reports a pro-angiogenic gain in vivo and names no disease, nor does the cited title:
    # the claim is a property of the option, no evidence item files it under a disease, and the
    # option fits no disease category (a skin wound came only from the primary paper's abstract)
    opt = kb.engineering["preconditioning-blue-light"]
    assert [(p["name"], p["value"], kb.citations(p)) for p in opt["properties"]] == [("potency", "yes", ["yang2019"])]
    assert opt["fits"] == []
    assert not [e for e, ev in kb.evidence.items() if "preconditioning-blue-light" in ev["engineering"]]


def test_no_evidence_item_rests_on_a_disease_neither_the_review_nor_the_title_names(kb):
    # found by reading the items against the review: [28] and [89] name no disease, [95] no route
    # (neither does its cited title), [69] and [75] say heart repair
    for eid in ("cai2020-28", "cai2020-79", "cai2020-89"):
        assert eid not in kb.evidence
    assert kb.evidence["cai2020-95"]["route"] is None
    assert {kb.evidence[e]["disease"] for e in ("cai2020-69", "cai2020-75")} == {"cardiovascular-disease"}
    # a bare citation of a rare source is a review inference, not in vivo evidence
    assert (kb.evidence["cai2020-03"]["model"], kb.evidence["cai2020-104"]["model"]) == ("review-inference", "review-inference")
    assert kb.evidence["cai2020-25"]["disease"] == "cartilage-defect"
    # what a priming raised in the vesicles is cargo, not a second intervention
    assert [(kb.evidence[e]["engineering"], kb.evidence[e]["cargo"]) for e in ("cai2020-80", "cai2020-81")] == [
        (["preconditioning-tnf-alpha"], ["miR-146a"]), (["preconditioning-il1b"], ["miR-146a"])]


def _cited_numbers(kb):
    toks = []
    for sec in ("evidence", "sources", "routes", "engineering", "comparisons", "trials"):
        for rec in kb.section(sec).values():
            toks += rec.get("cites") or []
            for p in rec.get("properties") or ():
                toks += p["cites"]
    return {t for t in toks if ":" in t}


@pytest.mark.parametrize("cite", ["heo2018:33", "heo2018:41", "heo2018:47", "cai2020:22", "cai2020:27",
                                  "cai2020:68", "cai2020:79", "cai2020:113", "cai2020:114", "cai2020:115"])
def test_claims_the_issue_found_uncovered_are_now_cited(cite, kb):
    assert cite in _cited_numbers(kb)


LOCAL_REACH = {  # route -> the organ systems (or sites of one: brain, inner-eye, ocular-surface) it reaches
    "intramyocardial": ["cardiovascular"], "intra-articular": ["cartilage-joint"], "intranasal": ["brain"],
    "intracerebral": ["brain"], "intraocular": ["inner-eye"], "periocular": ["eye"], "inhalation": ["lung"],
    "implantation": ["bone"], "subcutaneous": ["skin"], "topical": ["connective-tissue", "skin", "ocular-surface"],
    "intraperitoneal": ["liver", "nervous-system"],
}


def test_every_route_declares_the_organs_it_reaches(kb):
    organs = sorted(c for c, cat in kb.categories.items() if cat["kind"] == "organ-system")
    reach = {r: rec.get("reaches") for r, rec in kb.routes.items()}
    assert {r: v for r, v in reach.items() if r in LOCAL_REACH} == LOCAL_REACH
    assert sorted(reach["intravenous"]) == sorted(reach["systemic"]) == organs
    assert set(reach) == set(LOCAL_REACH) | {"intravenous", "systemic"}


def test_organ_and_population_specific_options_say_so(kb):
    organs = {e: rec["organs"] for e, rec in kb.engineering.items() if rec.get("organs")}
    assert organs == {"hydrogel-alginate": ["cardiovascular"], "hydrogel-peptide": ["cardiovascular"],
                      "hydrogel-fhe": ["skin"], "scaffold-plga": ["bone"], "gene-modification-gata4": ["cardiovascular"],
                      "co-therapy-estrogen": ["reproductive"]}
    pops = {e: rec["populations"] for e, rec in kb.engineering.items() if rec.get("populations")}
    assert pops == {"co-therapy-estrogen": ["female"]}
    assert "urogenital" not in kb.engineering["co-therapy-estrogen"]["fits"]


DISEASE_MODEL = {  # id -> organ, processes, populations, parent
    "prematurity": ("systemic", ["injury-regeneration"], ["neonate"], None),
    "perinatal-brain-injury": ("nervous-system", ["ischemia-reperfusion", "inflammation-autoimmunity"], ["neonate"], "brain-injury"),
    "bronchopulmonary-dysplasia": ("lung", ["inflammation-autoimmunity", "injury-regeneration"], ["neonate"], None),
    "intrauterine-adhesions": ("reproductive", ["fibrosis"], ["adult", "female"], None),
    "primary-ovarian-insufficiency": ("reproductive", ["degeneration", "injury-regeneration"], ["adult", "female"], None),
    "urethral-stricture": ("urogenital", ["fibrosis", "inflammation-autoimmunity"], ["adult", "male"], None),
    "glioblastoma": ("nervous-system", ["cancer"], ["adult", "elderly"], "glioma"),
    "pulmonary-fibrosis": ("lung", ["fibrosis"], ["adult", "elderly"], None),
    "spinal-cord-injury": ("nervous-system", ["injury-regeneration"], [], None),
    "amyotrophic-lateral-sclerosis": ("nervous-system", ["degeneration"], ["adult", "elderly"], "neurodegenerative-disease"),
}


@pytest.mark.parametrize("did", sorted(DISEASE_MODEL))
def test_disease_organ_process_population(did, kb):
    d = kb.diseases[did]
    assert (d["organ"], d["processes"], d.get("populations") or [], d["parent"]) == DISEASE_MODEL[did]


def test_diseases_the_reviews_name_without_ev_evidence_have_none_and_say_so(kb):
    for did, code in (("pulmonary-fibrosis", "J84.10"), ("spinal-cord-injury", "S14.109"),
                      ("amyotrophic-lateral-sclerosis", "G12.21")):
        assert kb.diseases[did]["icd10cm"] == code
        assert kb.evidence_by_disease.get(did) is None
        assert "[21]" in kb.diseases[did]["note"] and "MSC-EV" in kb.diseases[did]["note"]


# words whose meaning a synonym must not narrow: word -> the disease it resolves to (None: not curated)
BROAD_WORDS = {
    "arthritis": "arthritis", "brain injury": "brain-injury", "asthma": "asthma", "liver disease": "liver-disease",
    "concussion": None, "metabolic syndrome": None, "liver cancer": None, "tumor": None, "uveitis": None,
    "eczema": None, "colitis": None, "demyelinating disease": None, "transplant rejection": None,
    "neuroprotection": None, "brain tumor": None, "synovitis": None, "skin fibrosis": None, "macular pseudohole": None,
}


@pytest.mark.parametrize("word", sorted(BROAD_WORDS))
def test_synonyms_do_not_narrow_the_meaning(word, kb):
    from msc_ev.advisor.text import norm

    owners = sorted(did for did, d in kb.diseases.items()
                    if norm(word) in {norm(s) for s in [d["name"], *(d.get("synonyms") or ())]})
    want = BROAD_WORDS[word]
    assert owners == ([want] if want else [])


def test_umbrella_diseases_hold_their_kinds(kb):
    assert kb.children["arthritis"] == ["inflammatory-arthritis", "osteoarthritis"]
    assert kb.children["brain-injury"] == ["perinatal-brain-injury", "stroke", "traumatic-brain-injury"]
    assert kb.children["asthma"] == ["allergic-asthma"]
    assert kb.children["liver-disease"] == ["liver-fibrosis", "liver-injury"]
    assert kb.children["autoimmune-disease"] == ["autoimmune-uveitis", "graves-disease", "hashimotos-thyroiditis",
                                                 "inflammatory-bowel-disease", "multiple-sclerosis",
                                                 "systemic-lupus-erythematosus"]


COMPARISONS = {  # id -> axis, kind, better, worse or tie, scope (diseases, organ, process), cited numbers
    "glioblastoma-uc-over-bm-and-ad": ("source", "preference", "uc-msc", ["bm-msc", "ad-msc"], (["glioblastoma"], None, None), ["cai2020:21"]),
    "neurite-outgrowth-menstrual-best": ("source", "preference", "menstrual-msc", ["uc-msc", "bm-msc", "chorion-msc"], ([], "nervous-system", "degeneration"), ["cai2020:4"]),
    "immunomodulation-es-over-bm-and-ad": ("source", "preference", "es-msc", ["bm-msc", "ad-msc"],
                                           ([], None, "inflammation-autoimmunity"), ["cai2020:103"]),
    "neuroprotection-es-over-fetal": ("source", "preference", "es-msc", ["fetal-msc"], ([], "nervous-system", None),
                                      ["cai2020:106"]),
    "species-human-over-mouse-airway": ("species", "preference", "human", ["mouse"], (["allergic-asthma"], None, None), ["cai2020:40"]),
    "vesicle-exosomes-over-cells-liver-fibrosis": ("vesicle", "preference", "exosome", ["parent-cells"], (["liver-fibrosis"], None, None), ["cai2020:41"]),
    "engineering-hypoxia-over-normal-culture": ("engineering", "preference", "preconditioning-hypoxia", [], (["myocardial-infarction"], None, None), ["cai2020:48", "cai2020:49"]),
    "engineering-mir181c-over-plain-burn": ("engineering", "preference", "mirna-181c", [], (["burn"], None, None), ["cai2020:82"]),
    "uc-bm-similar-nerve": ("source", "tie", None, ["uc-msc", "bm-msc"], ([], "nervous-system", None), ["cai2020:68"]),
    "uc-bm-similar-heart": ("source", "tie", None, ["uc-msc", "bm-msc"], ([], "cardiovascular", None), ["cai2020:69"]),
    "uc-bm-similar-liver": ("source", "tie", None, ["uc-msc", "bm-msc"], ([], "liver", None), ["cai2020:70"]),
    "uc-bm-similar-kidney": ("source", "tie", None, ["uc-msc", "bm-msc"], ([], "kidney", None), ["cai2020:71"]),
    "readiness-bm-msc": ("source", "readiness", "bm-msc", ["ad-msc", "es-msc"], ([], None, None), ["cai2020"]),
    "readiness-uc-msc": ("source", "readiness", "uc-msc", ["ad-msc", "es-msc"], ([], None, None), ["cai2020"]),
}


@pytest.mark.parametrize("cid", sorted(COMPARISONS))
def test_review_comparison_is_knowledge(cid, kb):
    c = kb.comparisons[cid]
    axis, kind, better, items, (diseases, organ, process), cites = COMPARISONS[cid]
    got_items = c.get("tie") if kind == "tie" else c.get("worse")
    assert (c["axis"], c["kind"], c.get("better"), got_items or []) == (axis, kind, better, items)
    assert (c.get("diseases") or [], c.get("organ"), c.get("process")) == (diseases, organ, process)
    assert c["cites"] == cites


def test_opposing_findings_behind_two_comparisons_are_evidence(kb):
    ad = kb.evidence["cai2020-21c"]
    assert (ad["source"], ad["disease"], ad["direction"]) == ("ad-msc", "glioblastoma", "opposes")
    mv = kb.evidence["cai2020-04b"]
    assert (mv["vesicle"], mv["disease"], mv["direction"]) == ("microvesicle", "neurodegenerative-disease", "opposes")


def test_citations_are_resolved_again_when_the_tables_change(kb):
    import dataclasses

    copy = dataclasses.replace(kb, references=dict(kb.references), cite_index=dict(kb.cite_index))
    record = {"cites": ["cai2020:76", "heo2018", "cai2020:76"]}
    first = copy.citations(record)
    assert first == [kb.cite_index[("cai2020", 76)], "heo2018"]
    first.append("x")  # a caller's list is its own
    assert copy.citations(record) == [kb.cite_index[("cai2020", 76)], "heo2018"]
    del copy.cite_index[("cai2020", 76)]  # the table shrinks: the memo no longer applies
    assert copy.citations(record) == ["heo2018"]
    assert kb.citations(record) == [kb.cite_index[("cai2020", 76)], "heo2018"]
