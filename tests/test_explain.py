"""Explanations (issue 5): golden outputs at a fixed width with no colour, and scripted `ask` sessions.

The expected strings were produced by running the code once and then read line by line against
the knowledge base (arithmetic recomputed by hand, citations checked in references.yaml). They
change when the knowledge or the rules change: regenerate them then, and read them again.
"""

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev.advisor import explain as X
from msc_ev.advisor import interactive

WIDTH = 100


def console():
    return Console(file=io.StringIO(), width=WIDTH, color_system=None)


def render(doc):
    con = console()
    doc.print(con)
    return con.file.getvalue()


@pytest.fixture(scope="module")
def kbc():
    return advisor.load_cached(None, ())


@pytest.fixture(scope="module")
def oa(kbc):
    return advisor.consult(kbc, "osteoarthritis")


WHY = """\
Why intra-articular for Osteoarthritis?
Disease: Osteoarthritis (osteoarthritis, matched by exact)
route intra-articular (Intra-articular injection): rank 1 of 1 administration routes, score 0.649
(suggestive), strongest evidence: in-vivo
Contributions (3):
  - 1. rule ev-exact: cf +0.500, evidence cai2020-t2-26a
    - Intra-articular ES-MSC exosomes eased osteoarthritis, raising chondrocyte proliferation and
      type II collagen synthesis and lowering IL-1beta expression. [in-vivo, human donor, exosome;
      Osteoarthritis: this disease]
    - cites Cai et al. 2020 [107] -> Wang YF et al. 2017, Stem Cell Res Ther
  - 2. rule ev-category: cf +0.175, evidence cai2020-t2-26b
    - Human ES-MSC exosomes regenerated osteochondral defects with well-formed hyaline cartilage
      that merged with the surrounding cartilage, close to age-matched unoperated joints. [in-vivo,
      human donor, exosome; Cartilage defect: a disease of the same category]
    - cites Cai et al. 2020 [108] -> Zhang S et al. 2016, Osteoarthr Cartilage
  - 3. rule route-reach: cf +0.150
    - A route the reviews report reaching the affected organ system is a candidate.
    - catalogue entry cites Cai et al. 2020 [107] -> Wang YF et al. 2017, Stem Cell Res Ther
    - catalogue entry cites Cai et al. 2020 [108] -> Zhang S et al. 2016, Osteoarthr Cartilage
Combination (MYCIN certainty factors, strongest first):
    0.500 + 0.175 x (1 - 0.500) = 0.588
    0.588 + 0.150 x (1 - 0.588) = 0.649
Score: 0.649 (suggestive)
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

WHY_NOT_EXCLUDED = """\
Why not bm-msc for Osteoarthritis?
Disease: Osteoarthritis (osteoarthritis, matched by exact); constraints: exclude_sources=['bm-msc']
source bm-msc (Bone marrow MSC) was excluded by rule con-exclude-source: excluded by the user
(--exclude-source).
  - con-exclude-source: A source the user excluded is removed from the ranking.
Without the exclusion it would rank 3 of 4 with score 0.475 (weakly suggestive).
The knowledge base holds 37 evidence item(s) with source bm-msc, about: acute-gvhd,
acute-kidney-injury, allergic-asthma, alzheimers-disease, autism-spectrum-disorder,
autoimmune-disease, bone-defect, bronchopulmonary-dysplasia and 20 more.
Rules that can conclude about bm-msc (as they fired without the exclusion):
  - [+] ev-exact: fired for 1 evidence item(s): cai2020-t2-01
  - [x] ev-related: needs an evidence item with source bm-msc about a relative (knee-osteoarthritis
    (child)): the knowledge base holds none
  - [x] ev-category: needs an evidence item with source bm-msc about another disease filed under
    cartilage-joint: the knowledge base holds none
  - [+] gen-bm-bone: fired: cf +0.300
    - cites Cai et al. 2020 [27] -> Borgovan T et al. 2019, Am J Physiol Cell Physiol
    - cites Cai et al. 2020 [28] -> Martins M et al. 2016, Stem Cell Rep
    - cites Cai et al. 2020 [29] -> Qin Y et al. 2016, Sci Rep
    - cites Cai et al. 2020 [30] -> Shi Z et al. 2019, J Transl Med
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

WHY_NOT_UNSUPPORTED = """\
Why not intranasal for Osteoarthritis?
Disease: Osteoarthritis (osteoarthritis, matched by exact)
route intranasal (Intranasal administration) got no support for Osteoarthritis: no rule concluded
anything about it.
The knowledge base holds 2 evidence item(s) given by route intranasal, about:
autism-spectrum-disorder, perinatal-brain-injury.
Rules that can conclude about intranasal:
  - [x] ev-exact: needs an evidence item given by route intranasal about Osteoarthritis: the
    knowledge base holds none
  - [x] ev-related: needs an evidence item given by route intranasal about a relative
    (knee-osteoarthritis (child)): the knowledge base holds none
  - [x] ev-category: needs an evidence item given by route intranasal about another disease filed
    under cartilage-joint: the knowledge base holds none
  - [x] gen-exosome-intranasal-cns: needs the disease classified under nervous-system;
    Osteoarthritis is classified under: inflammation, degeneration, cartilage-joint
    - cites Cai et al. 2020 [42] -> Perets N et al. 2018, Mol Autism
    - cites Cai et al. 2020 [76] -> Thomi G et al. 2019, Cells
  - [x] route-reach: needs the disease classified under an organ system intranasal reaches
    (nervous-system); Osteoarthritis is classified under: cartilage-joint
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

RULE = """\
Rule gen-bm-bone
Stage: heuristic; certainty factor +0.30 (knowledge/weights.yaml)
Bone-marrow MSC vesicles home to bone and carry osteogenic cues: favoured for bone and connective
tissue.
If:
  - the query is classified under bone, cartilage-joint or connective-tissue
Then: support source bm-msc
Concludes about: sources, item bm-msc
Citations:
  - Cai et al. 2020 [27] -> Borgovan T et al. 2019, Am J Physiol Cell Physiol
  - Cai et al. 2020 [28] -> Martins M et al. 2016, Stem Cell Rep
  - Cai et al. 2020 [29] -> Qin Y et al. 2016, Sci Rep
  - Cai et al. 2020 [30] -> Shi Z et al. 2019, J Transl Med
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

CITE = """\
Reference thomi2019b
Thomi G, Joerger-Messerli M, Haesler V, Muri L, Surbek D, Schoeberlein A. Intranasally administered
exosomes from umbilical cord stem cells have preventive neuroprotective effects and contribute to
functional recovery after perinatal brain injury. Cells 2019.
Cited in:
  - Cai et al. 2020 as reference [76]
Evidence items using it (1):
  - cai2020-t2-18 (uc-msc, intranasal; perinatal-brain-injury; in-vivo; supports)
    - Intranasal huc-MSC exosomes were neuroprotective in perinatal brain injury, cutting specific
      neuronal death and supporting myelin formation.
Cited by routes: intranasal
Cited by rules: gen-exosome-intranasal-cns, gen-uc-perinatal, route-gentle-neonate
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

MERMAID = """\
%% Reasoning graph for Radiation injury (radiation-injury). Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
flowchart LR
  n0[["1. cls-category"]]:::rule
  n1["query"]:::input
  n2["incat:radiation-injury:injury"]:::input
  n3("class:injury"):::derived
  n4[["2. cls-category"]]:::rule
  n5["incat:radiation-injury:hematopoietic"]:::input
  n6("class:hematopoietic"):::derived
  n7[["3. caution-preclinical"]]:::rule
  n8("caution:preclinical-only::"):::derived
  n9[["4. ev-exact"]]:::rule
  n10["ev:cai2020-39"]:::input
  n11("finding:cai2020-39"):::derived
  n12("support:source:bm-msc:ev-exact:cai2020-39"):::derived
  n13[["5. eng-fit"]]:::rule
  n14["fit:mirna-181c:injury"]:::input
  n15("support:engineering:mirna-181c:eng-fit:"):::derived
  n16{{"source bm-msc: rank 1, score 0.400"}}:::item
  n17{{"engineering mirna-181c: rank 1, score 0.100"}}:::item
  n1 --> n0
  n2 --> n0
  n0 --> n3
  n1 --> n4
  n5 --> n4
  n4 --> n6
  n1 --> n7
  n7 --> n8
  n1 --> n9
  n10 --> n9
  n9 --> n11
  n9 --> n12
  n1 --> n13
  n3 --> n13
  n14 --> n13
  n13 --> n15
  n12 --> n16
  n15 --> n17
  classDef input fill:#eeeeee,stroke:#999999
  classDef derived fill:#e8f4ff,stroke:#3377aa
  classDef rule fill:#fff4d6,stroke:#aa8800
  classDef item fill:#e6ffe6,stroke:#338833
"""



def test_why_golden(kbc, oa):
    assert render(X.why_doc(kbc, oa, "intra-articular")) == WHY


def test_why_arithmetic_is_the_consultations(kbc, oa):
    rec = oa.find("intra-articular")
    score, steps = advisor.scoring.combine([c.cf for c in rec.support])
    out = render(X.why_doc(kbc, oa, "intra-articular"))
    for s in steps:
        assert s in out
    assert f"Score: {score:.3f}" in out


def test_why_not_excluded_golden(kbc):
    adv = advisor.consult(kbc, "osteoarthritis", advisor.Constraints(exclude_sources=("bm-msc",)))
    assert render(X.why_not_doc(kbc, adv, "bm-msc")) == WHY_NOT_EXCLUDED


def test_why_not_unsupported_golden(kbc, oa):
    assert render(X.why_not_doc(kbc, oa, "intranasal")) == WHY_NOT_UNSUPPORTED


def test_rule_golden(kbc):
    assert render(X.rules_doc(kbc, "gen-bm-bone")) == RULE


def test_cite_golden(kbc):
    assert render(X.cite_doc(kbc, "cai2020:76")) == CITE
    assert render(X.cite_doc(kbc, "thomi2019b")) == CITE


def test_explain_mermaid_golden(kbc):
    assert X.explain_mermaid(kbc, advisor.consult(kbc, "radiation-injury")) == MERMAID


def test_why_of_unranked_item_explains_why_not(kbc, oa):
    out = render(X.why_doc(kbc, oa, "intranasal"))
    assert "is not in the ranking" in out and "gen-exosome-intranasal-cns" in out


def test_item_by_name_and_unknown_item(kbc, oa):
    assert X.find_item(kbc, "Intra-articular injection") == ("routes", "intra-articular")
    with pytest.raises(advisor.UnknownItem) as exc:
        X.find_item(kbc, "intra-articlar")
    assert exc.value.exit_code == 1 and "intra-articular" in exc.value.suggestions


def test_markup_in_data_is_escaped(kbc, oa):
    doc = X.Doc().p("[bold]not markup[/bold]").li("[red]x[/red]")
    assert render(doc) == "[bold]not markup[/bold]\n  - [red]x[/red]\n"


def test_every_explanation_states_the_disclaimer(kbc, oa):
    for doc in (X.why_doc(kbc, oa, "bm-msc"), X.why_not_doc(kbc, oa, "uc-msc"), X.rules_doc(kbc),
                X.rules_doc(kbc, "ev-exact"), X.cite_doc(kbc, "cai2020")):
        assert "not medical advice" in render(doc)
        assert advisor.DISCLAIMER in doc.markdown()
    assert advisor.DISCLAIMER in X.explain_markdown(kbc, oa)
    assert advisor.DISCLAIMER in X.explain_dot(kbc, oa)
    assert "not medical advice" in _explain_text(kbc, oa)


def _explain_text(kbc, adv):
    con = console()
    X.print_explain(kbc, adv, con)
    return con.file.getvalue()


def test_explain_tree_follows_the_trace(kbc, oa):
    out = _explain_text(kbc, oa)
    pos = [out.index(f"{s['step']}. {s['rule']}:") for s in oa.trace]
    assert pos == sorted(pos)
    for part in ("Query: 'osteoarthritis'", "Resolved disease: Osteoarthritis", "Categories (derived)",
                 "Derived facts", "Ranking: MSC sources"):
        assert part in out


def test_why_not_rule_map_names_real_rules():
    from msc_ev.rules import RULES

    assert set(X.CAN_CONCLUDE) <= set(RULES)


# ---------------------------------------------------------------------------- --step


def _stepper(answers):
    it = iter(answers)

    def read(prompt):
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None

    return read


def test_step_quits_on_q(kbc):
    adv = advisor.consult(kbc, "radiation-injury")
    n = len(adv.trace)
    assert n >= 3
    con = console()
    shown = X.step_explain(kbc, adv, con, _stepper(["", "q"]))
    out = con.file.getvalue()
    assert shown == 2 and f"Stopped after firing 2 of {n}." in out and "\n3. " not in out.split("Stopped")[0]


def test_step_eof_runs_to_the_end(kbc):
    adv = advisor.consult(kbc, "radiation-injury")
    con = console()
    assert X.step_explain(kbc, adv, con, _stepper([])) == len(adv.trace)
    assert "Ranking: MSC sources" in con.file.getvalue()


def test_step_shows_each_firing_then_what_it_derived_in_firing_order(kbc):
    """Nothing derived is shown before the firing that derived it (issue 15)."""
    adv = advisor.consult(kbc, "radiation-injury")
    con = console()
    X.step_explain(kbc, adv, con, _stepper([]))
    out = con.file.getvalue()
    before_firings = out.split("Forward chaining:")[0]
    assert "(derived)" not in before_firings and "class:" not in before_firings
    pos = 0
    for s in adv.trace:
        at = out.index(f"{s['step']}. {s['rule']}:", pos)
        derived = out.index("derived: " + (", ".join(s["asserted"]) if s["asserted"] else "nothing new")[:40], at)
        assert at >= pos and derived > at
        pos = derived
    assert out.index("Categories (derived)") > pos  # the summary of derived facts comes after every firing


# ---------------------------------------------------------------------------- ask


def converse(kbc, lines, **kw):
    """Drive `ask` with scripted lines; the transcript shows each prompt and answer."""
    con = console()
    it = iter(lines)

    def read(prompt):
        try:
            answer = next(it)
        except StopIteration:
            con.file.write(prompt + "^D\n")
            raise EOFError from None
        if answer is KeyboardInterrupt:
            raise KeyboardInterrupt
        con.file.write(prompt + answer + "\n")
        return answer

    code = interactive.run(kbc, con, read, **kw)
    return code, con.file.getvalue()


def test_ask_full_conversation_ends_on_eof(kbc):
    code, out = converse(kbc, ["osteoarthritus", "", "why intra-articular", "foo bar",
                               "what if exclude es-msc", "why not es-msc", "refs", "cite 1", "cite 999",
                               "routes"])
    assert code == 0
    assert "Disease: Osteoarthritis (osteoarthritis, matched by fuzzy)." in out
    assert "Why intra-articular for Osteoarthritis?" in out
    assert "msc-ev> foo bar\nUnknown command: 'foo bar'. Type 'help' for the list.\nmsc-ev> " in out
    assert "Constraints now: exclude_sources=['es-msc']" in out
    assert "was excluded by rule con-exclude-source" in out
    assert "References behind this advice" in out and "Reference " in out
    assert "msc-ev> cite 999\nNo reference 999: 'refs' lists 1 to " in out
    assert "Administration routes for Osteoarthritis (" in out
    assert out.rstrip().endswith("of any patient.")
    assert "msc-ev> ^D" in out and "Consultation ended." in out


def test_ask_suggests_and_resolves_ambiguity_and_bad_constraints(kbc):
    code, out = converse(kbc, ["zzzz qqqq", "knee osteoarthritis", "exclude nope", "route IV",
                               "what if route nasel", "what if population neonate", "what if", "quit"])
    assert code == 0
    assert "No disease matches 'zzzz qqqq'." in out
    assert "unknown source for --exclude-source: 'nope'" in out
    assert "Constraints now: routes=['intravenous'], population=neonate" in out
    assert "msc-ev> what if route nasel\nunknown route for --route: 'nasel'; did you mean: intranasal?\n" in out
    assert "msc-ev> what if\nusage: what if exclude ID | route ID[,ID] | population P | clinical-only | reset\n" in out
    assert "Consultation ended." in out


def test_ask_numbered_choice_after_an_ambiguous_name(kbc):
    code, out = converse(kbc, ["AD", "7", "2", "", "quit"])
    assert code == 0
    assert ("'AD' could mean:\n  1. Alzheimer's disease (alzheimers-disease)\n  2. Atopic dermatitis "
            "(atopic-dermatitis)\nWhich one (1-2, or a name)? 7\nType a number from 1 to 2, or a name.\n"
            "Which one (1-2, or a name)? 2\n") in out
    assert "Disease: Atopic dermatitis (atopic-dermatitis, matched by exact)." in out


def test_ask_ctrl_c_ends_cleanly(kbc):
    code, out = converse(kbc, ["osteoarthritis", "", KeyboardInterrupt])
    assert code == 0 and "Consultation ended." in out


def test_ask_eof_at_the_first_question(kbc):
    code, out = converse(kbc, [])
    assert code == 0 and "Disease? ^D" in out and "Consultation ended." in out


def test_ask_with_disease_given_and_new(kbc):
    code, out = converse(kbc, ["what if reset", "how", "new", "radiation injury", "", "why bm-msc", "exit"],
                         disease="osteoarthritis", constraints=advisor.Constraints(exclude_sources=("bm-msc",)))
    assert code == 0
    assert "Constraints now: none" in out and "  bm-msc: absent -> #" in out
    assert "Rule firings, in order" in out
    assert "Why bm-msc for Radiation injury?" in out


def test_parse_constraints(kbc):
    c = interactive.parse_constraints("exclude uc-msc, exclude wj-msc, route intravenous; clinical-only, population Neonate")
    assert c == advisor.Constraints(("uc-msc", "wj-msc"), ("intravenous",), True, "neonate")
    c = interactive.parse_constraints("exclude UC-MSC, exclude umbilical cord, route i.v.", kb=kbc)
    assert c == advisor.Constraints(("uc-msc",), ("intravenous",), False, None)
    with pytest.raises(ValueError, match="cannot read constraint 'bananas'"):
        interactive.parse_constraints("bananas")
    with pytest.raises(ValueError, match="'exclude' needs a source: e.g. exclude uc-msc"):
        interactive.parse_constraints("exclude")


# ---------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def cli():
    from msc_ev import cli as cli_mod

    return cli_mod.app


def test_cli_why_and_exit_codes(cli):
    r = CliRunner().invoke(cli, ["why", "osteoarthritis", "intra-articular", "-f", "json"])
    assert r.exit_code == 0, r.output
    import json

    data = json.loads(r.stdout)
    assert data["disclaimer"] == advisor.DISCLAIMER
    r = CliRunner().invoke(cli, ["why", "osteoarthritis", "nope"])
    assert r.exit_code == 1
    r = CliRunner().invoke(cli, ["rules", "no-such-rule"])
    assert r.exit_code == 1 and "unknown rule" in r.output
    r = CliRunner().invoke(cli, ["cite", "nobody1999"])
    assert r.exit_code == 1
    r = CliRunner().invoke(cli, ["why-not", "osteoarthritis", "bm-msc", "--exclude-source", "bm-msc", "-f", "markdown"])
    assert r.exit_code == 0 and "## Why not bm-msc for Osteoarthritis?" in r.stdout
    r = CliRunner().invoke(cli, ["why", "osteoarthritis", "bm-msc", "--route", "nasel"])
    assert r.exit_code == 2
    assert r.output == "msc-ev: unknown route for --route: 'nasel'; did you mean: intranasal?\n"


def test_cli_why_accepts_names_and_abbreviations(cli):
    by_id = CliRunner().invoke(cli, ["why", "osteoarthritis", "intra-articular", "-f", "json"])
    by_name = CliRunner().invoke(cli, ["why", "osteoarthritis", "Intra-articular injection", "-f", "json"])
    assert by_id.exit_code == 0 and by_name.stdout == by_id.stdout


def test_cli_explain_formats(cli):
    for fmt, marker in (("mermaid", "flowchart LR"), ("dot", "digraph reasoning"), ("markdown", "## Rule firings"),
                        ("json", '"trace"'), ("rich", "Rule firings, in order")):
        r = CliRunner().invoke(cli, ["explain", "radiation-injury", "-f", fmt])
        assert r.exit_code == 0 and marker in r.stdout, fmt


def test_cli_explain_step_honours_format(cli, kbc):
    import json

    adv = advisor.consult(kbc, "radiation-injury")
    n = len(adv.trace)
    r = CliRunner().invoke(cli, ["explain", "radiation-injury", "--step"], input="\nq\n")
    assert r.exit_code == 0 and f"Stopped after firing 2 of {n}." in r.stdout
    r = CliRunner().invoke(cli, ["explain", "radiation-injury", "--step"], input="")
    assert r.exit_code == 0 and "Ranking: MSC sources" in r.stdout
    r = CliRunner().invoke(cli, ["explain", "radiation-injury", "--step", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [s["step"] for s in data["steps"]] == list(range(1, n + 1))
    assert [(s["rule"], s["matched"], s["derived"]) for s in data["steps"]] == \
        [(s["rule"], s["matched"], s["asserted"]) for s in adv.trace]
    assert list(data["steps"][0]) == ["step", "rule", "description", "matched", "derived"]
    assert data["disclaimer"] == advisor.DISCLAIMER
    r = CliRunner().invoke(cli, ["explain", "radiation-injury", "--step", "--format", "markdown"])
    assert r.exit_code == 0 and f"## Rule firings, in order ({n})" in r.stdout
    md = r.stdout
    assert md.index("1. `") < md.index("   - derived: ") < md.index("2. `")
    r = CliRunner().invoke(cli, ["explain", "radiation-injury", "--step", "--format", "dot"])
    assert r.exit_code == 2
    assert r.output == ("msc-ev: --step shows the firings one by one: use --format rich, markdown or json "
                        "(not dot)\n")


def test_cli_ask_piped(cli):
    r = CliRunner().invoke(cli, ["ask"], input="osteoarthritis\n\nwhy not uc-msc\nhelp\n")
    assert r.exit_code == 0, r.output
    assert "Rules that can conclude about uc-msc" in r.stdout and "Consultation ended." in r.stdout
    r = CliRunner().invoke(cli, ["ask", "osteoarthritis", "--population", "toddler"])
    assert r.exit_code == 2
