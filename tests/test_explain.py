"""Explanations: golden outputs at a fixed width with no colour, and scripted `ask` sessions.

The expected strings were produced by running the code once and then read line by line against
the knowledge base (arithmetic recomputed by hand, citations checked in references.yaml). They
change when the knowledge or the rules change: regenerate them then, and read them again.
"""

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

from msc_ev import advisor
from msc_ev.views import explain as X
from msc_ev.terminal import ask as interactive
from msc_ev.terminal.rich_docs import print_doc
from msc_ev.terminal.rich_how import print_explain, step_explain

WIDTH = 100


def console():
    return Console(file=io.StringIO(), width=WIDTH, color_system=None)


def render(doc):
    con = console()
    print_doc(doc, con)
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
route intra-articular (Intra-articular injection): rank 1 of 3 administration routes, score 0.616
(suggestive), strongest evidence: in-vivo
Tier 2 (direct): the best tier among its supporting contributions that are at least as strong as the
strongest evidence against it; candidates are ordered by tier, then by score, and a comparison made
in this disease lifts the candidate it favours over the ones it names.
Contributions (3):
  - 1. rule sup-route: cf +0.400, tier 2 (direct), evidence cai2020-t2-26a
    - Intra-articular ES-MSC exosomes eased osteoarthritis, raising chondrocyte proliferation and
      type II collagen synthesis and lowering IL-1beta expression. [in-vivo, human donor, exosome;
      Osteoarthritis: direct: the disease asked about]
    - cites Cai et al. 2020 [107] -> Wang YF et al. 2017, Stem Cell Res Ther
  - 2. rule route-reach-local: cf +0.200, tier 4 (reach)
    - A route that delivers into or onto the organ asked about (topical for skin and the eye's
      surface, intraocular for the retina, intra-articular for joints) is always listed, by reach.
  - 3. rule sup-route: cf +0.200, tier 4 (indirect), evidence cai2020-t2-26b
    - Human ES-MSC exosomes regenerated osteochondral defects with well-formed hyaline cartilage
      that merged with the surrounding cartilage, close to age-matched unoperated joints. [in-vivo,
      human donor, exosome; Cartilage defect: indirect: same organ system, another process]
    - cites Cai et al. 2020 [108] -> Zhang S et al. 2016, Osteoarthr Cartilage
Combination (MYCIN certainty factors, strongest first):
    0.400 + 0.200 x (1 - 0.400) = 0.520
    0.520 + 0.200 x (1 - 0.520) = 0.616
Score: 0.616 (suggestive)
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

WHY_NOT_EXCLUDED = """\
Why not bm-msc for Osteoarthritis?
Disease: Osteoarthritis (osteoarthritis, matched by exact); constraints: exclude_sources=['bm-msc']
source bm-msc (Bone marrow MSC) was excluded by rule con-exclude-source: excluded by the user
(--exclude-source).
Rules that could support bm-msc (their declared conditions, checked against this consultation):
  - [+] sup-source: fired: see 'why' for its contributions
  - [x] sup-source-rollup: needs a source that is part of another (p) whose part is the item of s:
    the consultation has none
  - [+] gen-bm-bone: fired: see 'why' for its contributions
Evidence items about bm-msc in the knowledge base (34):
  - cai2020-21a (glioblastoma): not transferred: another organ system (nervous-system), no shared
    process (cancer)
  - cai2020-25 (cartilage-defect): counted at tier 4 (indirect)
  - cai2020-29 (bone-defect): not transferred: another organ system (bone), no shared process
    (injury-regeneration)
  - cai2020-33 (diabetic-nephropathy): not transferred: another organ system (kidney), no shared
    process (fibrosis, metabolic)
  - cai2020-39 (radiation-injury): not transferred: another organ system (hematopoietic), no shared
    process (injury-regeneration)
  - cai2020-40 (allergic-asthma): counted at tier 4 (indirect)
  - cai2020-44 (cutaneous-wound): not transferred: another organ system (skin), no shared process
    (injury-regeneration)
  - cai2020-47 (myocardial-infarction): not transferred: another organ system (cardiovascular), no
    shared process (ischemia-reperfusion)
  - cai2020-48 (myocardial-infarction): not transferred: another organ system (cardiovascular), no
    shared process (ischemia-reperfusion)
  - cai2020-49 (myocardial-infarction): not transferred: another organ system (cardiovascular), no
    shared process (ischemia-reperfusion)
  - cai2020-50 (inflammatory-bowel-disease): counted at tier 4 (indirect)
  - cai2020-51 (osteonecrosis-of-femoral-head): counted at tier 4 (indirect)
  - ... and 22 more
No single change tried (up to three new studies of this disease, excluding up to three candidates,
one weight anywhere in its range) puts bm-msc first.
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

WHY_NOT_UNSUPPORTED = """\
Why not intranasal for Osteoarthritis?
Disease: Osteoarthritis (osteoarthritis, matched by exact)
route intranasal (Intranasal administration) got no support for Osteoarthritis.
Rules that could support intranasal (their declared conditions, checked against this consultation):
  - [x] sup-route: needs an evidence item (e) whose disease is the disease of r and registered is 0
    and route is not empty and reaches is 1: the nearest, evidence cai2020-t2-18, fails 'disease is
    the disease of r' (its disease is 'other-organ+inflammation-autoimmunity')
  - [x] gen-exosome-intranasal-cns: needs the query (q) whose organ is nervous-system: the nearest,
    query, fails 'organ is nervous-system' (its organ is 'cartilage-joint')
  - [x] route-reach-local: needs a route (r) whose reaches is 1 and local is 1: the nearest, route
    intranasal, fails 'reaches is 1' (its reaches is 0)
  - [x] route-reach-systemic: needs a route (r) whose reaches is 1 and local is 0: the nearest,
    route intranasal, fails 'reaches is 1' (its reaches is 0)
  - [x] route-gentle-neonate: needs a population of the consultation (p) whose population is
    neonate: the nearest, population:adult, fails 'population is neonate' (its population is
    'adult')
Evidence items about intranasal in the knowledge base (2):
  - cai2020-t2-06 (autism-spectrum-disorder): not transferred: another organ system
    (nervous-system), no shared process (neurodevelopmental)
  - cai2020-t2-18 (perinatal-brain-injury): its route is not transferred: a study of another organ
    system (nervous-system) says nothing of where a route delivers here
No single change tried (up to three new studies of this disease, excluding up to three candidates,
one weight anywhere in its range) puts intranasal first.
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

RULE = """\
Rule gen-bm-bone
Stage: heuristic; priority 30; certainty factor +0.30 (knowledge/weights.yaml)
Bone-marrow MSC vesicles home to bone and carry osteogenic cues; favoured for bone, joint and
connective tissue.
If:
  - the query (q) whose organ is one of bone, cartilage-joint, connective-tissue
Then: contribute to source bm-msc with this rule's certainty factor, tier 4 (a generalisation)
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
Cited by comparisons: neonatal-uc-advantage
Cited by rules: gen-uc-perinatal, gen-exosome-intranasal-cns, route-gentle-neonate
Note: Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings
from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
"""

MERMAID = """\
%% Reasoning graph for Insulin resistance (insulin-resistance). Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings from two reviews (Heo & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.
flowchart LR
  n0[["1. caution-preclinical"]]:::rule
  n1["query"]:::input
  n2("caution:preclinical-only::"):::derived
  n3[["2. caution-no-route-evidence"]]:::rule
  n4("caution:no-route-evidence::"):::derived
  n5[["3. rel-self"]]:::rule
  n6["disease:insulin-resistance"]:::input
  n7("relation:insulin-resistance"):::derived
  n8[["4. rel-organ-process"]]:::rule
  n9["disease:same-organ+metabolic"]:::input
  n10("relation:same-organ+metabolic"):::derived
  n11[["5. rel-same-organ"]]:::rule
  n12["disease:same-organ+other-process"]:::input
  n13("relation:same-organ+other-process"):::derived
  n14[["6. rel-same-process"]]:::rule
  n15["disease:other-organ+metabolic"]:::input
  n16("relation:other-organ+metabolic"):::derived
  n17[["7. sup-source"]]:::rule
  n18["ev:cai2020-54"]:::input
  n19("contribution:source:bm-msc:sup-source:cai2020-54"):::derived
  n20[["8. sup-source"]]:::rule
  n21["ev:cai2020-33"]:::input
  n22("contribution:source:bm-msc:sup-source:cai2020-33"):::derived
  n23[["9. ctx-unstated-source"]]:::rule
  n24["ev:heo2018-40a"]:::input
  n25("context:unstated-source:heo2018-40a"):::derived
  n26[["10. ctx-unstated-source"]]:::rule
  n27["ev:heo2018-43f"]:::input
  n28("context:unstated-source:heo2018-43f"):::derived
  n29[["11. route-reach-systemic"]]:::rule
  n30["route:intravenous"]:::input
  n31("contribution:route:intravenous:route-reach-systemic:"):::derived
  n32[["12. route-reach-systemic"]]:::rule
  n33["route:systemic"]:::input
  n34("contribution:route:systemic:route-reach-systemic:"):::derived
  n35[["13. ctx-readiness"]]:::rule
  n36["cmp:readiness-bm-msc"]:::input
  n37("context:readiness:readiness-bm-msc"):::derived
  n38[["14. ctx-readiness"]]:::rule
  n39["cmp:readiness-uc-msc"]:::input
  n40("context:readiness:readiness-uc-msc"):::derived
  n41[["15. caution-opposing"]]:::rule
  n42("caution:opposing-evidence::cai2020-54"):::derived
  n43{{"source bm-msc: rank 1, tier 5, score -0.150"}}:::item
  n44{{"route intravenous: rank 1, tier 4, score 0.100"}}:::item
  n45{{"route systemic: rank 2, tier 4, score 0.100"}}:::item
  n1 --> n0
  n0 --> n2
  n1 --> n3
  n3 --> n4
  n6 --> n5
  n5 --> n7
  n1 --> n8
  n9 --> n8
  n8 --> n10
  n1 --> n11
  n12 --> n11
  n11 --> n13
  n1 --> n14
  n15 --> n14
  n14 --> n16
  n7 --> n17
  n18 --> n17
  n17 --> n19
  n16 --> n20
  n21 --> n20
  n20 --> n22
  n10 --> n23
  n24 --> n23
  n23 --> n25
  n10 --> n26
  n27 --> n26
  n26 --> n28
  n30 --> n29
  n29 --> n31
  n33 --> n32
  n32 --> n34
  n36 --> n35
  n35 --> n37
  n39 --> n38
  n38 --> n40
  n7 --> n41
  n18 --> n41
  n41 --> n42
  n19 --> n43
  n22 --> n43
  n31 --> n44
  n34 --> n45
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
    assert X.explain_mermaid(kbc, advisor.consult(kbc, "insulin-resistance")) == MERMAID


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
                X.rules_doc(kbc, "sup-source"), X.cite_doc(kbc, "cai2020")):
        assert "not medical advice" in render(doc)
        assert advisor.DISCLAIMER in doc.markdown()
    assert advisor.DISCLAIMER in X.explain_markdown(kbc, oa)
    assert advisor.DISCLAIMER in X.explain_dot(kbc, oa)
    assert "not medical advice" in _explain_text(kbc, oa)


def _explain_text(kbc, adv):
    con = console()
    print_explain(kbc, adv, con)
    return con.file.getvalue()


def test_explain_tree_follows_the_trace(kbc, oa):
    out = _explain_text(kbc, oa)
    pos = [out.index(f"{s['step']}. {s['rule']}:") for s in oa.trace]
    assert pos == sorted(pos)
    for part in ("Query: 'osteoarthritis'", "Resolved disease: Osteoarthritis", "Disease profile",
                 "Derived facts", "Ranking: MSC sources"):
        assert part in out


def test_why_not_checks_every_declared_rule_that_could_support_the_item(kbc, oa):
    from msc_ev.rules import RULE_LIST

    data = X.why_not_json(kbc, oa, "intranasal")
    expected = [r.id for r in RULE_LIST if r.action == "contribute" and r.params["axis"] == "route"
                and (not isinstance(r.params["item"], str) or r.params["item"] == "intranasal")]
    assert [c["rule"] for c in data["rules"]] == expected
    failed = next(c for c in data["rules"] if c["rule"] == "route-reach-local")
    assert failed["condition"] == next(r for r in RULE_LIST if r.id == "route-reach-local").conditions[0].as_json()


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
    shown = step_explain(kbc, adv, con, _stepper(["", "q"]))
    out = con.file.getvalue()
    assert shown == 2 and f"Stopped after firing 2 of {n}." in out and "\n3. " not in out.split("Stopped")[0]


def test_step_eof_runs_to_the_end(kbc):
    adv = advisor.consult(kbc, "radiation-injury")
    con = console()
    assert step_explain(kbc, adv, con, _stepper([])) == len(adv.trace)
    assert "Ranking: MSC sources" in con.file.getvalue()


def test_step_shows_each_firing_then_what_it_derived_in_firing_order(kbc):
    """Nothing derived is shown before the firing that derived it."""
    adv = advisor.consult(kbc, "insulin-resistance")
    con = console()
    step_explain(kbc, adv, con, _stepper([]))
    out = con.file.getvalue()
    before_firings = out.split("Forward chaining:")[0]
    assert "(derived)" not in before_firings and "relation:" not in before_firings
    pos = 0
    for s in adv.trace:
        at = out.index(f"{s['step']}. {s['rule']}:", pos)
        derived = out.index("derived: " + (", ".join(s["asserted"]) if s["asserted"] else "nothing new")[:40], at)
        assert at >= pos and derived > at
        pos = derived
    assert out.index("Relatives (derived)") > pos  # the summary of derived facts comes after every firing


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
    assert "Rules that could support uc-msc" in r.stdout and "Consultation ended." in r.stdout
    r = CliRunner().invoke(cli, ["ask", "osteoarthritis", "--population", "toddler"])
    assert r.exit_code == 2


def test_explain_names_the_group_a_relative_was_related_through(kbc):
    md = X.explain_markdown(kbc, advisor.consult(kbc, "insulin-resistance"))
    assert "  - insulin-resistance (direct: the disease asked about)\n" in md
    assert ("  - graves-disease (indirect: same organ system, another process; one firing for the group "
            "same-organ+other-process)\n") in md
