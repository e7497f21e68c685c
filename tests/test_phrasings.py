"""Diseases named through the model they were studied in (docs/resolution.md, "How the disease was
studied").

A researcher types "bleomycin-induced pulmonary fibrosis", "calvarial bone defect", "skin wound
healing" or "rat model of stroke". When the whole text names nothing, the words that say how the
disease was studied are left out (fewest first), and the notes say what was left out and why. Words
that narrow the disease (what induced it, the site, the kind of lesion) are left out only for a
curated disease that nothing else typed could name; otherwise the user is asked.

The expected answers were written from the reviews and from what each phrase means, not read off
the resolver: the reviews' own phrasings first (Cai et al. 2020, Heo & Kim 2018), then others.
"""

import json
import subprocess
import sys

import pytest

from msc_ev import advisor

AGENT = "what induced the disease in the model, not the disease"
SITE = "the site of the lesion, not the disease"
LESION = "the kind of lesion made in the model, not the disease"
SPECIES = "the species studied, not part of the disease"
MODEL = "words about the model, not the disease"
HEALING = "the process studied, not the disease"


def left(words: str, why: str) -> str:
    return f"left out {words!r}: {why}"


# (typed, curated id or icd10cm:CODE, matched_by, notes)
REVIEWS = [
    # Cai [103]: "... ameliorate cirrhosis in thioacetamide-induced chronic liver injury"
    ("thioacetamide-induced chronic liver injury", "liver-injury", "synonym", (left("thioacetamide-induced", AGENT),)),
    # Cai [90] / [61]: "TNBS-induced colitis of rats", "experimentally induced intrauterine adhesions"
    ("TNBS-induced colitis of rats", "inflammatory-bowel-disease", "synonym", (left("of rats", SPECIES),)),
    ("experimentally induced intrauterine adhesions", "intrauterine-adhesions", "synonym",
     (left("experimentally induced", AGENT),)),
    # Heo: "drug-induced liver injury models", "an acute myocardial infarction model", "rat myocardial
    # infarction model", "a carbon tetrachloride-injured liver model"; Heo [22] "CCl4-injured rat liver model"
    ("drug-induced liver injury models", "drug-induced-liver-injury", "synonym", (left("models", MODEL),)),
    ("acute myocardial infarction model", "myocardial-infarction", "synonym", (left("model", MODEL),)),
    ("rat myocardial infarction model", "myocardial-infarction", "synonym", (left("rat", SPECIES), left("model", MODEL))),
    ("carbon tetrachloride-injured liver model", "liver-injury", "synonym",
     (left("carbon tetrachloride", AGENT), "read 'injured' as 'injury' of what follows", left("model", MODEL))),
    ("CCl4-injured rat liver model", "acute-liver-injury", "synonym",  # "CCl4-induced liver injury" is its synonym
     ("matched 'CCl4 liver injury' to Acute liver injury (acute-liver-injury)",
      "read 'injured' as 'injury' of what follows", left("rat", SPECIES), left("model", MODEL))),
    # Cai [33]: "in a mouse model of diabetic nephropathy"; Cai [4] "a preclinical model of Alzheimer's"
    ("mouse model of diabetic nephropathy", "diabetic-nephropathy", "synonym", (left("mouse model of", MODEL),)),
    ("a preclinical model of Alzheimer's disease", "alzheimers-disease", "synonym",
     (left("a preclinical model of", MODEL),)),
    # Cai: "in EAE rat models"
    ("EAE rat models", "experimental-autoimmune-encephalomyelitis", "synonym", (left("rat models", MODEL),)),
]

OWN = [
    ("calvarial bone defect", "bone-defect", "synonym", (left("calvarial", SITE),)),
    ("femoral bone defect", "bone-defect", "synonym", (left("femoral", SITE),)),
    ("cranial bone defect", "bone-defect", "synonym", (left("cranial", SITE),)),
    ("calvarial bone healing", "bone-defect", "synonym", (left("calvarial", SITE),)),  # "bone healing" is its synonym
    ("rat calvarial bone defect", "bone-defect", "synonym", (left("rat", SPECIES), left("calvarial", SITE))),
    ("calvarial bone defect in rats", "bone-defect", "synonym", (left("in rats", SPECIES), left("calvarial", SITE))),
    ("critical-size calvarial defect", "bone-defect", "synonym", (left("critical-size", LESION),)),
    ("skin wound healing", "cutaneous-wound", "synonym", (left("healing", HEALING),)),
    ("full-thickness skin wound healing", "cutaneous-wound", "synonym", (left("healing", HEALING),)),
    ("healing of skin wounds", "cutaneous-wound", "synonym",
     ("matched 'skin wounds' to Cutaneous wound (cutaneous-wound)", left("healing of", HEALING))),
    ("excisional skin wound", "cutaneous-wound", "synonym", (left("excisional", LESION),)),
    ("dorsal skin wound", "cutaneous-wound", "synonym", (left("dorsal", SITE),)),
    ("burn wound healing", "burn", "synonym", (left("healing", HEALING),)),
    ("MSC exosomes for skin wound healing", "cutaneous-wound", "synonym",
     ("left out 'MSC exosomes for': words about the treatment, not the disease", left("healing", HEALING))),
    ("bone fracture healing", "icd10cm:M84.9", "category",
     ("matched 'bone fracture' to M84.9 Disorder of continuity of bone, unspecified", left("healing", HEALING))),
    ("bleomycin-induced pulmonary fibrosis", "pulmonary-fibrosis", "synonym", (left("bleomycin-induced", AGENT),)),
    ("bleomycin-induced lung fibrosis", "pulmonary-fibrosis", "synonym", (left("bleomycin-induced", AGENT),)),
    ("pulmonary fibrosis induced by bleomycin", "pulmonary-fibrosis", "synonym", (left("induced by bleomycin", AGENT),)),
    ("CCl4-induced liver fibrosis", "liver-fibrosis", "synonym", (left("CCl4-induced", AGENT),)),
    ("thioacetamide-induced liver fibrosis", "liver-fibrosis", "synonym", (left("thioacetamide-induced", AGENT),)),
    ("cisplatin-induced ovarian damage", "primary-ovarian-insufficiency", "synonym", (left("cisplatin-induced", AGENT),)),
    ("streptozotocin-induced diabetes", "diabetes-mellitus", "synonym", (left("streptozotocin-induced", AGENT),)),
    ("STZ-induced diabetic nephropathy", "diabetic-nephropathy", "synonym", (left("STZ-induced", AGENT),)),
    ("glycerol-induced acute kidney injury", "acute-kidney-injury", "synonym", (left("glycerol-induced", AGENT),)),
    ("gentamicin-induced kidney injury", "kidney-injury", "synonym", (left("gentamicin-induced", AGENT),)),
    ("DSS-induced colitis in mice", "inflammatory-bowel-disease", "synonym",
     ("left out 'in mice': the species studied, not part of the disease",)),
    ("collagen-induced arthritis model", "inflammatory-arthritis", "synonym", (left("model", MODEL),)),
    ("rat model of stroke", "stroke", "synonym", (left("rat model of", MODEL),)),
    ("CCl4-injured liver", "acute-liver-injury", "synonym",
     ("matched 'CCl4 liver injury' to Acute liver injury (acute-liver-injury)",
      "read 'injured' as 'injury' of what follows")),
    ("cisplatin-injured kidney", "cisplatin-nephrotoxicity", "synonym", ("read 'injured' as 'injury' of what follows",)),
    # a curated name without its "-induced": the name itself, not a reading without the agent
    ("acetaminophen-induced liver injury", "drug-induced-liver-injury", "synonym",
     ("read it without 'induced'",
      "matched 'acetaminophen-induced liver injury' to Drug-induced liver injury (drug-induced-liver-injury)")),
    ("murine colitis", "icd10cm:K52.9", "category",
     ("matched 'colitis' to K52.9 Noninfective gastroenteritis and colitis, unspecified", left("murine", SPECIES))),
]


def test_the_tables_are_large_enough_and_distinct():
    assert len(OWN) >= 30 and len(REVIEWS) >= 10
    typed = [t for t, *_ in REVIEWS + OWN]
    assert len(set(typed)) == len(typed)


@pytest.mark.parametrize("typed,want,how,notes", REVIEWS + OWN, ids=[r[0] for r in REVIEWS + OWN])
def test_a_disease_named_through_its_model(kb, typed, want, how, notes):
    res = advisor.resolve(kb, typed)
    assert (res.id, res.matched_by, res.notes, res.text) == (want, how, notes, typed)


@pytest.mark.parametrize("typed,already", [
    # the whole text names a disease: nothing is left out
    ("cisplatin-induced kidney injury", "cisplatin-nephrotoxicity"),
    ("cisplatin-induced AKI", "cisplatin-nephrotoxicity"),
    ("CCl4-induced liver injury", "acute-liver-injury"),
    ("chemotherapy-induced ovarian failure", "primary-ovarian-insufficiency"),
    ("TNBS-induced colitis", "inflammatory-bowel-disease"),
    ("calvarial defect", "bone-defect"),
    ("bone healing", "bone-defect"),
    ("fracture healing", "icd10cm:M84.9"),
    ("experimental autoimmune encephalomyelitis", "experimental-autoimmune-encephalomyelitis"),
    ("drug-induced lupus", "icd10cm:M32.0"),
    ("noise-induced hearing loss", "icd10cm:H83.3X9"),
])
def test_a_text_that_names_a_disease_is_read_whole(kb, typed, already):
    res = advisor.resolve(kb, typed)
    assert res.id == already
    assert not any(n.startswith("left out") for n in res.notes)


@pytest.mark.parametrize("typed,message", [
    # what induced it is itself a disease the reviews name, or makes another disease: ask
    ("sepsis-induced AKI",
     "ambiguous disease: 'sepsis-induced AKI' could mean: acute-kidney-injury (Acute kidney injury); sepsis (Sepsis). "
     "Ask again with the full name or id ('sepsis-induced' may name another disease)"),
    ("diabetes-induced kidney injury",
     "ambiguous disease: 'diabetes-induced kidney injury' could mean: kidney-injury (Kidney injury); "
     "diabetes-mellitus (Diabetes mellitus). Ask again with the full name or id ('diabetes-induced' may name "
     "another disease)"),
    ("hypertension-induced kidney injury",
     "ambiguous disease: 'hypertension-induced kidney injury' could mean: kidney-injury (Kidney injury); "
     "icd10cm:I10 (Essential (primary) hypertension). Ask again with the full name or id ('hypertension-induced' "
     "may name another disease)"),
    # a curated name holds every word: renal ischaemia is a kidney injury of its own
    ("ischemia-induced kidney injury",
     "ambiguous disease: 'ischemia-induced kidney injury' could mean: kidney-injury (Kidney injury); "
     "renal-ischemia-reperfusion-injury (Renal ischemia-reperfusion injury). Ask again with the full name or id "
     "('ischemia-induced' may name another disease)"),
    # an ICD-10-CM term holds every word, the agent as the start of one: alcoholic liver disease
    ("alcohol-induced liver disease",
     "ambiguous disease: 'alcohol-induced liver disease' could mean: liver-disease (Liver disease (any kind)); "
     "icd10cm:K70.9 (Alcoholic liver disease, unspecified). Ask again with the full name or id ('alcohol-induced' "
     "may name another disease)"),
    # the rest is ambiguous: asked as it would be alone
    ("mouse model of AD",
     "ambiguous disease: 'mouse model of AD' could mean: alzheimers-disease (Alzheimer's disease); "
     "atopic-dermatitis (Atopic dermatitis). Ask again with the full name or id ('AD' is also the MSC source ad-msc)"),
])
def test_words_left_out_that_could_name_another_disease_make_it_a_question(kb, typed, message):
    with pytest.raises(advisor.AmbiguousDisease) as exc:
        advisor.resolve(kb, typed)
    assert exc.value.message() == message
    assert exc.value.exit_code == 1


@pytest.mark.parametrize("typed,first", [
    # without what induced it, only an ICD-10-CM code is left (a traumatic lung injury, pulmonary
    # hypertension of no cause): never given silently; offered first among the suggestions
    ("LPS-induced lung injury", ["icd10cm:S27.309"]),
    ("radiation-induced lung injury", ["icd10cm:S27.309", "radiation-injury"]),  # radiation injury is curated
    ("hypoxia-induced pulmonary hypertension", ["icd10cm:I27.20"]),
])
def test_a_narrowing_word_is_not_left_out_for_an_icd_code(kb, typed, first):
    with pytest.raises(advisor.UnknownDisease) as exc:
        advisor.resolve(kb, typed)
    assert exc.value.suggestions[:len(first)] == first


@pytest.mark.parametrize("typed", [
    "quantum heart failure",     # an unknown word is refused, not left out
    "cell injury",               # "cell" is no model word
    "MCAO stroke model in rats",  # the model's name is not known
    "xyzzy-induced",             # nothing after the agent
    "calvarial",                 # a site alone
    "rat model of",              # no disease
])
def test_what_is_not_a_model_word_is_still_refused(kb, typed):
    with pytest.raises(advisor.UnknownDisease):
        advisor.resolve(kb, typed)


def test_a_narrowing_word_never_narrows_an_existing_reading(kb):
    # "knee arthritis" is an ambiguity already: no model word changes it
    with pytest.raises(advisor.AmbiguousDisease) as exc:
        advisor.resolve(kb, "knee arthritis")
    assert exc.value.candidates[0][0] == "knee-osteoarthritis"
    assert advisor.resolve(kb, "hip osteoarthritis").id == "icd10cm:M16.9"


def test_the_notes_reach_the_json_output():
    out = subprocess.run([sys.executable, "-c", "from msc_ev.cli import main; main()", "advise",
                          "calvarial bone defect", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    query = json.loads(out.stdout)["query"]
    assert query["disease"] == {"id": "bone-defect", "name": "Bone defect", "matched_by": "synonym"}
    assert query["notes"] == ["left out 'calvarial': the site of the lesion, not the disease"]
    out = subprocess.run([sys.executable, "-c", "from msc_ev.cli import main; main()", "advise",
                          "sepsis-induced AKI", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.startswith("msc-ev: ambiguous disease: 'sepsis-induced AKI' could mean: acute-kidney-injury")


def test_many_model_words_stay_cheap(kb):
    import time

    text = "calvarial femoral tibial dorsal back ear paw tail cranial skull bone defect"
    advisor.resolve(kb, "stroke")
    start = time.perf_counter()
    with pytest.raises(advisor.UnknownDisease):
        advisor.resolve(kb, text)  # five parts at most are tried: the rest still names nothing
    assert time.perf_counter() - start < 1.0
