"""Citation export: BibTeX, RIS and CSL-JSON, parsed back by pybtex, rispy, a CSL-JSON
schema check and citeproc-py. Expected values come from knowledge/references.yaml read directly
(yaml.safe_load), not from the exporter."""

import json
from pathlib import Path

import jsonschema
import pytest
import rispy
import yaml
from pybtex.database import parse_string
from typer.testing import CliRunner

from msc_ev import cli

ROOT = Path(__file__).resolve().parent.parent
REFS = {r["key"]: r for r in yaml.safe_load((ROOT / "knowledge" / "references.yaml").read_text())["references"]}
REVIEW = {"heo2018": "Heo & Kim 2018", "cai2020": "Cai et al. 2020"}
runner = CliRunner()


def run(*args):
    r = runner.invoke(cli.app, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


def numbers_note(ref):
    """'Cai et al. 2020 [76]' parts expected in the note of an entry, from the YAML."""
    parts = []
    for review, n in ref["cited_in"].items():
        nums = [n, *((ref.get("also_numbered") or {}).get(review) or [])]
        parts.append(f"{REVIEW[review]} " + ", ".join(f"[{x}]" for x in nums))
    return parts


def unbib(s: str) -> str:
    return s.replace("\\&", "&").replace("\\%", "%").replace("\\_", "_").strip("{}")


# ------------------------------------------------------------------------------ BibTeX


def test_bibtex_of_one_reference_by_review_citation_is_exact():
    assert run("cite", "cai2020:76", "--format", "bibtex") == """\
@article{thomi2019b,
  author = {Thomi, G and Joerger-Messerli, M and Haesler, V and Muri, L and Surbek, D and Schoeberlein, A},
  title = {{Intranasally administered exosomes from umbilical cord stem cells have preventive neuroprotective effects and contribute to functional recovery after perinatal brain injury}},
  journal = {Cells},
  year = {2019},
  note = {Cited in Cai et al. 2020 [76]}
}
"""


def test_kb_dump_bibtex_parses_back_with_every_reference():
    db = parse_string(run("kb", "dump", "--format", "bibtex"), "bibtex")
    assert sorted(db.entries) == sorted(REFS)
    for key, ref in REFS.items():
        e = db.entries[key]
        assert e.type == "article"
        people = e.persons["author"]
        assert people, key
        assert people[0].last_names and " ".join(people[0].last_names) in ref["authors"], key
        assert unbib(e.fields["title"]) == ref["title"], key
        assert unbib(e.fields["journal"]) == ref["journal"], key
        assert e.fields["year"] == str(ref["year"]), key
        for part in numbers_note(ref):
            assert part in unbib(e.fields["note"]), (key, part)
    # a paper both reviews list carries both numbers; a double listing keeps both of Heo's numbers
    assert unbib(db.entries["zhang2014a"].fields["note"]) == "Cited in Heo & Kim 2018 [8]; Cai et al. 2020 [105]"
    assert unbib(db.entries["feng2014"].fields["note"]) == "Cited in Heo & Kim 2018 [36], [47]"
    # a family name with a particle survives the round trip
    p = db.entries["dasilvameirelles2009"].persons["author"][0]
    assert " ".join(p.prelast_names + p.last_names) == "da Silva Meirelles" and p.first_names == ["L"]


def test_et_al_becomes_others_in_bibtex():
    key = next(k for k, r in sorted(REFS.items()) if r["authors"].rstrip().endswith("et al."))
    e = parse_string(run("cite", key, "-f", "bibtex"), "bibtex").entries[key]
    assert str(e.persons["author"][-1]) == "others"


# ------------------------------------------------------------------------------ RIS


def test_ris_parses_back_with_rispy():
    entries = rispy.loads(run("kb", "dump", "--format", "ris"))
    assert sorted(e["id"] for e in entries) == sorted(REFS)
    for e in entries:
        ref = REFS[e["id"]]
        assert e["type_of_reference"] == "JOUR"
        assert e["authors"] and e["authors"][0].split(",")[0] in ref["authors"]
        assert e["title"] == ref["title"] and e["journal_name"] == ref["journal"]
        assert e["secondary_title"] == ref["journal"] and e["year"] == str(ref["year"])
        notes = " ".join(e.get("notes", []))
        for part in numbers_note(ref):
            assert part in notes, (e["id"], part)
    thomi = next(e for e in entries if e["id"] == "thomi2019b")
    assert thomi["authors"] == ["Thomi, G", "Joerger-Messerli, M", "Haesler, V", "Muri, L", "Surbek, D",
                                "Schoeberlein, A"]
    assert thomi["notes"] == ["Cited in Cai et al. 2020 [76]"]


# ------------------------------------------------------------------------------ CSL-JSON

# The parts of the CSL-JSON schema (citation-style-language/schema, csl-data.json) our items use.
CSL_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "type"],
        "properties": {
            "id": {"type": ["string", "number"]},
            "type": {"enum": ["article", "article-journal", "book", "chapter", "report", "thesis", "webpage"]},
            "author": {"type": "array", "items": {
                "type": "object",
                "properties": {"family": {"type": "string"}, "given": {"type": "string"},
                               "literal": {"type": "string"}},
                "additionalProperties": False}},
            "title": {"type": "string"},
            "container-title": {"type": "string"},
            "container-title-short": {"type": "string"},
            "issued": {"type": "object", "required": ["date-parts"], "properties": {"date-parts": {
                "type": "array", "minItems": 1, "maxItems": 2,
                "items": {"type": "array", "minItems": 1, "maxItems": 3,
                          "items": {"type": ["string", "number"]}}}}},
            "note": {"type": "string"},
            "DOI": {"type": "string"},
            "PMID": {"type": "string"},
        },
        "additionalProperties": False,
    },
}


def test_csl_json_validates_and_has_every_field():
    items = json.loads(run("kb", "dump", "--format", "csl-json"))
    jsonschema.validate(items, CSL_SCHEMA)
    assert sorted(i["id"] for i in items) == sorted(REFS)
    for i in items:
        ref = REFS[i["id"]]
        assert i["author"] and i["title"] == ref["title"] and i["container-title"] == ref["journal"]
        assert i["issued"] == {"date-parts": [[ref["year"]]]}
        for part in numbers_note(ref):
            assert part in i["note"], (i["id"], part)


def test_csl_json_renders_with_citeproc():
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    items = json.loads(run("cite", "perinatal brain injury", "--format", "csl-json"))
    assert "thomi2019b" in [i["id"] for i in items]
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bib = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    bib.register(Citation([CitationItem("thomi2019b")]))
    text = " ".join(str(b) for b in bib.bibliography())
    assert "Thomi, G." in text and "(2019)" in text and "Intranasally administered exosomes" in text
    assert "Cells" in text


# ------------------------------------------------------------------------------ cite DISEASE


def test_cite_disease_exports_every_reference_behind_its_advice():
    advice = json.loads(run("advise", "perinatal brain injury", "--format", "json"))
    db = parse_string(run("cite", "perinatal brain injury", "--format", "bibtex"), "bibtex")
    assert list(db.entries) == list(advice["references"])
    ris = rispy.loads(run("cite", "perinatal-brain-injury", "-f", "ris"))
    assert [e["id"] for e in ris] == list(advice["references"])


def test_cite_disease_lists_the_references_and_unknown_exits_1():
    out = run("cite", "perinatal brain injury")
    assert out.startswith("References behind the advice for Perinatal brain injury (perinatal-brain-injury): ")
    assert "thomi2019b: Cai et al. 2020 [76] -> Thomi G et al. 2019, Cells" in out
    r = runner.invoke(cli.app, ["cite", "nobody1999", "--format", "ris"])
    assert r.exit_code == 1 and r.stdout == "" and r.stderr.startswith("msc-ev: unknown reference: 'nobody1999'")


def test_kb_dump_format_follows_the_output_extension(tmp_path):
    out = tmp_path / "refs.bib"
    run("kb", "dump", "-o", str(out))
    assert sorted(parse_string(out.read_text(), "bibtex").entries) == sorted(REFS)
    r = runner.invoke(cli.app, ["kb", "dump", "-o", str(tmp_path / "refs.ris"), "--format", "bibtex"])
    assert r.exit_code == 2
    assert r.stderr == (f"msc-ev: --format bibtex contradicts the extension of '{tmp_path / 'refs.ris'}' (ris); "
                        "drop --format or change the file name\n")


def test_dois_the_reviews_print_are_exported():
    from typer.testing import CliRunner

    from msc_ev import cli

    res = CliRunner().invoke(cli.app, ["cite", "cai2020:44", "--format", "bibtex"])
    assert res.exit_code == 0 and "doi = {10.1155/2019/7132708}" in res.stdout
    ris = CliRunner().invoke(cli.app, ["cite", "heo2018:29", "--format", "ris"])
    assert "DO  - 10.1002/jcb.26726" in ris.stdout
