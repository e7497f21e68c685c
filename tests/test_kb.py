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


CASES = {
    "yaml-syntax": ("evidence:\n  - id: x\n   bad: 1\n",
                    "{f}:3:4: yaml: invalid YAML: did not find expected '-' indicator"),
    "unknown-field": (ev(extra="    colour: blue\n"),
                      "{f}:13:5: colour: unknown field (known: id, source, vesicle, species, model, disease, "
                      "route, engineering, cargo, effect, mechanism, direction, versus, table2, trial, cites, note)"),
    "missing-field": (ev(effect=False), "{f}:2:5: effect: required field is missing"),
    "bad-enum": (ev(model="in-silico"),
                 "{f}:6:5: model: must be one of clinical-completed, clinical-registered, in-vivo, in-vitro, "
                 "review-inference; got 'in-silico'"),
    "duplicate-id": (ev(id="cai2020-t2-01"),
                     "{f}:2:5: id: duplicate id 'cai2020-t2-01' (first defined at {s}:7)"),
    "unknown-id": (ev(source="uc-mcs"),
                   "{f}:3:5: source: unknown source id 'uc-mcs' (did you mean uc-msc, ucb-msc, cp-msc?)"),
    "missing-reference": (ev(cite="cai2020:116"), "{f}:12:5: cites: no reference numbered 116 in cai2020"),
    "no-category": ("diseases:\n  - id: made-up-syndrome\n    name: Made-up syndrome\n    parent: null\n"
                    "    categories: [perinatal-neonatal]\n    icd10cm: null\n",
                    "{f}:5:5: categories: a disease needs at least one organ-system or process category"),
    "duplicate-key": ("references:\n  - key: doe2020\n    authors: Doe J\n    title: A title\n    title: Another\n"
                      "    journal: J Test\n    year: 2020\n    cited_in: {}\n",
                      "{f}:5:5: yaml: duplicate key 'title' (first at line 4)"),
    "bad-weight": ("weights:\n  model:\n    in-vitro: 1.5\n",
                   "{f}:3:5: weights.model.in-vitro: must be a number from 0 to 1, got 1.5"),
    "unknown-section": ("evidenc:\n  - id: extra-1\n",
                        "{f}:1:1: evidenc: unknown section (known: references, evidence, trials, diseases, "
                        "categories, sources, routes, engineering, weights)"),
    "bad-icd": ("diseases:\n  - id: made-up-syndrome\n    name: Made-up syndrome\n    parent: null\n"
                "    categories: [skin]\n    icd10cm: Q99.99\n",
                "{f}:6:5: icd10cm: 'Q99.99' is not an ICD-10-CM code"),
}


def test_shipped_knowledge_passes_every_check(kb):
    assert kbtools.deep_check(kb) == []
    result = runner.invoke(cli.app, ["kb", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 10 files, 78 diseases, ")


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
    assert [r.id for r in before.recs["sources"]][:2] == ["bm-msc", "ad-msc"]
    (tmp_path / "mine.yaml").write_text(
        ev(source="uc-msc").replace("osteoarthritis", "tendon-injury")
        + ev(id="extra-2", source="uc-msc").replace("osteoarthritis", "tendon-injury")[len("evidence:\n"):]
    )
    mine = advisor.load_kb(None, [tmp_path])
    after = advisor.consult(mine, "tendon injury")
    assert [r.id for r in after.recs["sources"]][:2] == ["uc-msc", "bm-msc"]


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
    19: ({"uc-msc"}, {"prematurity"}, {None}, {77}),
    20: ({"uc-msc"}, {"primary-ovarian-insufficiency"}, {None}, {78}),
    21: ({"ad-msc"}, {"osteoarthritis", "allergic-asthma"}, {None}, {84, 85, 87}),
    22: ({"ad-msc"}, {"experimental-autoimmune-encephalomyelitis"}, {"intravenous"}, {88}),
    23: ({"ad-msc"}, {"atopic-dermatitis"}, {"intravenous", "subcutaneous"}, {91}),
    24: ({"ad-msc"}, {"cutaneous-wound", "skin-scarring"}, {"systemic"}, {93, 94}),
    25: ({"es-msc"}, {"liver-fibrosis", "liver-cirrhosis"}, {"intraperitoneal"}, {103}),
    26: ({"es-msc"}, {"osteoarthritis", "cartilage-defect"}, {"intra-articular"}, {107, 108}),
}


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


TABLE1 = {  # registry (or reference) -> source, disease, vesicle
    "NCT03857841": ("bm-msc", "bronchopulmonary-dysplasia", "ev"),
    "NCT04276987": ("bm-msc", "covid-19", "exosome"),
    None: ("uc-msc", "chronic-kidney-disease", "ev"),
    "NCT03437759": ("uc-msc", "macular-hole", "ev"),
    "NCT04213248": ("uc-msc", "dry-eye-disease", "exosome"),
    "NCT02138331": ("uc-msc", "type-1-diabetes", "ev"),
    "NCT04223622": ("ad-msc", "osteoarthritis", "secretome"),
}


@pytest.mark.parametrize("registry", sorted(TABLE1, key=str))
def test_cai2020_table1_trial_is_in_the_knowledge(registry, kb):
    source, disease, vesicle = TABLE1[registry]
    trials = [t for t in kb.trials.values() if t["registry"] == registry]
    assert len(trials) == 1
    t = trials[0]
    assert (t["source"], t["disease"], t["vesicle"]) == (source, disease, vesicle)
    used = [e for e in kb.evidence.values() if e.get("trial") == [k for k, v in kb.trials.items() if v is t][0]]
    assert len(used) == 1 and used[0]["model"].startswith("clinical-")


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
    assert result.stdout.splitlines()[0] == "reference thomi2019b  (knowledge/references.yaml:" + result.stdout.splitlines()[0].split(":")[-1]
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
    assert {r["stage"] for r in data["rules"]} == {"classify", "evidence", "heuristic", "route", "engineering", "caution", "constraint"}


def test_kb_dump_yaml_round_trips():
    import yaml

    result = runner.invoke(cli.app, ["kb", "dump", "--format", "yaml"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["references"]["cai2020"]["year"] == 2020


def test_summaries_are_in_our_own_words(kb):
    """No evidence, property or trial text repeats a run of 10 words from either review."""
    import re
    from pathlib import Path

    seeds = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("the reviews (../shared/seeds) are not beside this checkout")
    words = lambda t: re.sub(r"[^a-z0-9 ]+", " ", t.lower()).split()  # noqa: E731
    text = words(" ".join(p.read_text() for p in sorted(seeds.glob("*.txt"))))
    grams = {tuple(text[i:i + 10]) for i in range(len(text) - 9)}
    texts = [e["effect"] for e in kb.evidence.values()] + [e.get("mechanism", "") for e in kb.evidence.values()]
    texts += [t["intervention"] for t in kb.trials.values()]
    for sec in ("sources", "routes", "engineering"):
        texts += [p["text"] for r in kb.section(sec).values() for p in r.get("properties") or ()]
    copied = [t for t in texts if any(tuple(w[i:i + 10]) in grams for w in [words(t)] for i in range(len(w) - 9))]
    assert copied == []
