"""Knowledge read against the reviews: where each comparison was made (its scope), and items the
reviews' text and reference lists correct. Every expectation below was read off Cai 2020 or Heo 2018
(the passage or the reference-list line is named beside it), not computed by the code under test."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev.cli import app

runner = CliRunner()

# --- 1. every comparison declares where the review made it ------------------------------------

# id -> (scope, diseases, organ, process), each read from the sentence that makes the comparison
SCOPES = {
    # Discussion: "for glioblastoma, BM-MSCs EVs and UC-MSC EVs decreased ... while adipose ... increased" [21]
    "glioblastoma-uc-over-bm-and-ad": ("disease", ["glioblastoma"], None, None),
    "glioblastoma-bm-over-ad": ("disease", ["glioblastoma"], None, None),
    # Discussion: "For neurodegenerative pathologies, menstrual ... exosomes enhanced neuritic outgrowth most" [4]
    "neurite-outgrowth-menstrual-best": ("process", [], "nervous-system", "degeneration"),
    "vesicle-exosomes-over-microvesicles-neurons": ("process", [], "nervous-system", "degeneration"),
    # ES-MSC introduction: "ES-MSCs have better immunomodulatory activity compared to BM- and AD-MSCs" [103]
    "immunomodulation-es-over-bm-and-ad": ("cells", [], None, "inflammation-autoimmunity"),
    # Discussion: ES-MSCs "had a more powerful neuroprotective capacity than fetal MSC-EVs" [106]
    "neuroprotection-es-over-fetal": ("cells", [], "nervous-system", None),
    # "exosomes from huc-MSCs have advantages in gynecological and infant diseases"
    "gynaecological-uc-advantage": ("organ", [], "reproductive", None),
    "neonatal-uc-advantage": ("disease", ["perinatal-brain-injury", "prematurity"], None, None),
    # "similar to hBM-MSCs-Ex in neural restoration [68], heart repair [69], protection of liver and kidney [70, 71]"
    "uc-bm-similar-nerve": ("organ", [], "nervous-system", None),
    "uc-bm-similar-heart": ("organ", [], "cardiovascular", None),
    "uc-bm-similar-liver": ("organ", [], "liver", None),
    "uc-bm-similar-kidney": ("organ", [], "kidney", None),
    # clinical trials section: "BM-MSCs and UC-MSCs will be converted into clinical applications more quickly"
    "readiness-bm-msc": ("cells", [], None, None),
    "readiness-uc-msc": ("cells", [], None, None),
    # BTBR mice, nasal exosomes vs cells into the lateral ventricle [42]
    "route-intranasal-over-intraventricular-autism": ("disease", ["autism-spectrum-disorder"], None, None),
    # "more effective than those from mouse MSCs ... in a study of allergic airway inflammation" [40]
    "species-human-over-mouse-airway": ("disease", ["allergic-asthma"], None, None),
    # "mouse ... MSC-EVs have similar functions in tissue regeneration [37], ... neuron cells [38] and ... [39]"
    "species-human-mouse-similar": ("cells", [], None, None),
    # liver fibrosis [41]; acute kidney injury [32] and renal I/R [63, 64]; aGVHD [35]; cirrhosis [103]
    "vesicle-exosomes-over-cells-liver-fibrosis": ("disease", ["liver-fibrosis"], None, None),
    "vesicle-exosomes-over-microparticles-arthritis": ("disease", ["inflammatory-arthritis"], None, None),
    "vesicle-evs-like-cells-kidney": ("disease", ["acute-kidney-injury", "renal-ischemia-reperfusion-injury"], None, None),
    "vesicle-evs-like-cells-gvhd": ("disease", ["acute-gvhd"], None, None),
    "vesicle-evs-like-cells-cirrhosis": ("disease", ["liver-cirrhosis"], None, None),
    # myocardial infarction [48, 49], [57]; burns [82]; intrauterine adhesions [61]
    "engineering-hypoxia-over-normal-culture": ("disease", ["myocardial-infarction"], None, None),
    "engineering-mir181c-over-plain-burn": ("disease", ["burn"], None, None),
    "engineering-alginate-over-free-evs-mi": ("disease", ["myocardial-infarction"], None, None),
    "engineering-estrogen-over-evs-alone": ("disease", ["intrauterine-adhesions"], None, None),
}


def test_the_table_covers_every_shipped_comparison(kb):
    assert sorted(kb.comparisons) == sorted(SCOPES)


@pytest.mark.parametrize("cid", sorted(SCOPES))
def test_comparison_scope_is_where_the_review_made_it(cid, kb):
    c = kb.comparisons[cid]
    assert (c["scope"], c.get("diseases") or [], c.get("organ"), c.get("process")) == SCOPES[cid]


def test_readiness_and_tie_comparisons_have_a_scope_too(kb):
    kinds = {(c["kind"], c["scope"]) for c in kb.comparisons.values() if c["kind"] != "preference"}
    assert kinds == {("readiness", "cells"), ("tie", "organ"), ("tie", "cells"), ("tie", "disease")}


def test_neonatal_advantage_names_no_bronchopulmonary_dysplasia(kb):
    # the passage ("unique application for perinatal diseases and neonates") names perinatal brain injury
    # [76, 66] and preterm newborns [77]; Cai's BPD study [65] is on Wharton's jelly EVs, its trial on BM EVs
    assert "bronchopulmonary-dysplasia" not in kb.comparisons["neonatal-uc-advantage"]["diseases"]


def test_kb_dump_gives_each_comparison_its_scope():
    result = runner.invoke(app, ["kb", "dump", "--format", "json"])
    assert result.exit_code == 0
    got = {c["id"]: (c["scope"], c["diseases"], c["organ"], c["process"]) for c in json.loads(result.stdout)["comparisons"]}
    assert got == {cid: tuple(v) for cid, v in SCOPES.items()}


# --- kb check rejects a comparison without a scope or with one its fields contradict ----------

def _overlay(kind="preference", items="    better: uc-msc\n    worse: [bm-msc]\n", scope=None, where=""):
    return ("comparisons:\n  - id: made-up-comparison\n    axis: source\n"
            f"    kind: {kind}\n{items}"                   # lines 4-6
            + (f"    scope: {scope}\n" if scope else "")  # line 7
            + where
            + "    text: Made up for a test.\n    cites: [\"cai2020:21\"]\n")


BAD = {  # case -> (overlay text, the one error line after the file name)
    "no-scope": (_overlay(), "2:5: scope: required field is missing"),
    "readiness-without-scope": (_overlay(kind="readiness", items="    better: bm-msc\n    worse: [ad-msc]\n"),
                                "2:5: scope: required field is missing"),
    "tie-without-scope": (_overlay(kind="tie", items="    tie: [uc-msc, bm-msc]\n"),
                          "2:5: scope: required field is missing"),
    "unknown-scope": (_overlay(scope="species"),
                      "7:5: scope: must be one of disease, organ, process, cells; got 'species'"),
    "disease-without-diseases": (_overlay(scope="disease"),
                                 "7:5: scope: scope 'disease' needs the diseases the review made the comparison in, "
                                 "under 'diseases'"),
    "disease-with-organ": (_overlay(scope="disease", where="    diseases: [glioblastoma]\n    organ: nervous-system\n"),
                           "7:5: scope: scope 'disease' takes no 'organ' or 'process': its diseases say where it applies"),
    "organ-without-organ": (_overlay(scope="organ", where="    process: degeneration\n"),
                            "7:5: scope: scope 'organ' needs the organ system under 'organ'"),
    "process-without-process": (_overlay(scope="process", where="    organ: kidney\n"),
                                "7:5: scope: scope 'process' needs the disease process under 'process'"),
    "process-with-diseases": (_overlay(scope="process", where="    process: cancer\n    diseases: [glioblastoma]\n"),
                              "7:5: scope: scope 'process' takes no 'diseases' (a comparison made in diseases has "
                              "scope 'disease')"),
    "cells-with-diseases": (_overlay(scope="cells", where="    diseases: [glioblastoma]\n"),
                            "7:5: scope: scope 'cells' is about the cells or vesicles in general and takes no "
                            "'diseases'"),
}


def _kb_check(tmp_path, name, text):
    (tmp_path / name).mkdir()
    (tmp_path / name / "extra.yaml").write_text(text)
    return subprocess.run([sys.executable, "-c", "from msc_ev.cli import main; main()", "--kb-extra", name,
                           "kb", "check"], cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", sorted(BAD))
def test_kb_check_rejects_a_missing_or_contradicted_scope(case, tmp_path):
    text, error = BAD[case]
    proc = _kb_check(tmp_path, case, text)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"msc-ev: knowledge base invalid: 1 error\n{case}/extra.yaml:{error}\n"


@pytest.mark.parametrize("scope, where", [
    ("disease", "    diseases: [glioblastoma]\n"),
    ("organ", "    organ: nervous-system\n"),
    ("organ", "    organ: nervous-system\n    process: degeneration\n"),
    ("process", "    process: degeneration\n"),
    ("process", "    process: degeneration\n    organ: nervous-system\n"),
    ("cells", ""),
    ("cells", "    process: inflammation-autoimmunity\n"),  # where the cells' property matters
])
def test_kb_check_accepts_a_scope_its_fields_agree_with(scope, where, tmp_path):
    proc = _kb_check(tmp_path, "ok", _overlay(scope=scope, where=where))
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("ok: 13 files, 85 diseases, ")


# --- 2. knowledge corrections ----------------------------------------------------------------

def test_cai_89_is_an_adipose_property_not_a_disease_finding(kb):
    # "And Low doses of EVs protect neurons from apoptotic cell death [89]"; reference 89: "Murine
    # adipose-derived mesenchymal stromal cell vesicles: in vitro clues for neuroprotective and
    # neuroregenerative approaches" -- neither names a disease
    assert kb.resolve_cite("cai2020:89") == "farinazzo2015"
    props = [(p["name"], p["value"]) for p in kb.sources["ad-msc"]["properties"] if kb.citations(p) == ["farinazzo2015"]]
    assert props == [("potency", "yes")]
    assert kb.evidence_by_reference.get("farinazzo2015") is None


def test_cai_40_has_the_systemic_route_its_cited_title_gives(kb):
    # reference 40: "Systemic administration of human bone marrow-derived mesenchymal stromal cell
    # extracellular vesicles ameliorates aspergillus hyphal extract-induced allergic airway inflammation"
    assert kb.evidence["cai2020-40"]["route"] == "systemic"
    top = advisor.consult(kb, "allergic asthma").recs["routes"][0]
    assert (top.id, top.tier, top.level) == ("systemic", 2, "in-vivo")
    assert [c.evidence for c in top.support if c.basis == "direct"] == [["cai2020-40"]]


def test_preterm_exosomes_are_a_vesicle_property_not_support_for_prematurity(kb):
    # "preterm exosomes are unable to synthesize ATP" [77] (Table 2 row 19) describes the vesicles
    assert "cai2020-t2-19" not in kb.evidence
    assert kb.evidence_by_disease.get("prematurity") is None
    assert kb.evidence_by_reference.get("panfoli2016") is None
    props = [(p["name"], p["value"]) for p in kb.sources["uc-msc"]["properties"] if kb.citations(p) == ["panfoli2016"]]
    assert props == [("metabolism", "yes")]
    recs = advisor.consult(kb, "prematurity").recs["sources"]
    assert not [c for r in recs for c in r.support if c.basis in ("direct", "related") and c.evidence]


def test_cai_71_is_a_review_inference_not_in_vivo(kb):
    # "protection of liver and kidney [70, 71]": no result and no model for [71]; nor in its title
    # ("Pre-incubation with hucMSC-exosomes prevents cisplatin-induced nephrotoxicity by activating autophagy")
    ev = kb.evidence["cai2020-71"]
    assert (ev["model"], ev["disease"], ev["route"]) == ("review-inference", "cisplatin-nephrotoxicity", None)


# reference number -> key, authors, what Cai prints
REAL_AUTHORS = {
    88: ("farinazzo2018", "Farinazzo A, Angiari S, Turano E, ", "A F, S A, E T, E B, S D, S R, et al."),
    89: ("farinazzo2015", "Farinazzo A, Turano E, Marconi S, ", "A F, E T, S M, E B, E B, B B"),
    90: ("gebraad2018", "Gebraad A, Kornilov R, Kaur S, ", "A G, R K, S K, S M, S H, H P, et al."),
    # the review's own group (its byline: Jiaxin Cai, Junyong Wu, Jiemin Wang, Yongjiang Li, Xiongbin Hu, ...)
    111: ("li2020", "Li YJ, Wu JY, Wang JM, Hu XB, Cai JX, Xiang DX", "Yj L, Jy W, Jm W, Xb H, Jx C, Dx X"),
}


@pytest.mark.parametrize("number", sorted(REAL_AUTHORS))
def test_initials_only_author_lists_carry_the_real_names(number, kb):
    key, authors, printed = REAL_AUTHORS[number]
    assert kb.resolve_cite(f"cai2020:{number}") == key
    ref = kb.references[key]
    assert ref["authors"].startswith(authors)
    assert f"'{printed}'" in ref["note"]


def test_old_initial_keys_are_gone_and_nothing_cites_them(kb):
    for old in ("a2018a", "a2015", "a2018b", "yj2020"):
        assert old not in kb.references
    for sec in ("evidence", "sources", "routes", "engineering", "comparisons", "trials"):
        for rec in kb.section(sec).values():
            toks = list(rec.get("cites") or []) + [t for p in rec.get("properties") or () for t in p["cites"]]
            assert not {"a2018a", "a2015", "a2018b", "yj2020"} & set(toks)


def test_bibtex_and_ris_exports_use_the_real_names():
    bib = runner.invoke(app, ["kb", "dump", "--format", "bibtex"])
    ris = runner.invoke(app, ["kb", "dump", "--format", "ris"])
    assert bib.exit_code == ris.exit_code == 0
    assert ("@article{farinazzo2015,\n  author = {Farinazzo, A and Turano, E and Marconi, S and Bistaffa, E and "
            "Bazzoli, E and Bonetti, B},") in bib.stdout
    assert "@article{gebraad2018,\n  author = {Gebraad, A and Kornilov, R and Kaur, S and others}," in bib.stdout
    assert "AU  - Li, YJ\nAU  - Wu, JY\n" in ris.stdout
    assert "{A, F" not in bib.stdout and "AU  - A, F" not in ris.stdout
