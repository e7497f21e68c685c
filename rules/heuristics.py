"""Stages 'heuristic', 'route' and 'engineering': the reviews' generalisations and the catalogues.

Each rule's certainty factor is ``weights.rules[<rule id>]`` in ``knowledge/weights.yaml``. These
rules are skipped when the user asks for clinical evidence only (the query's ``clinical_only``).
"""

from durable.lang import c, m, none, pri, when_all

from .base import rule
from .facts import support

GEN = c.q << ((m.kind == "query") & (m.clinical_only == 0))


def _cls(*cats):
    expr = m.category == cats[0]
    for cat in cats[1:]:
        expr = expr | (m.category == cat)
    return (m.kind == "class") & (expr)


def _gen(c, ctx, rule_id, axis, item):
    support(c, axis=axis, item=item, cf=ctx.rule_cf(rule_id), rule=rule_id,
            origin="heuristic", model="review-inference")


@when_all(pri(50), GEN, c.cl << _cls("perinatal-neonatal"))
@rule("gen-uc-perinatal", stage="heuristic", weight=True,
      description="Umbilical-cord MSC exosomes are favoured for perinatal and neonatal conditions.",
      conditions=["the query is classified under perinatal-neonatal"],
      conclusion="support source uc-msc",
      cites=["cai2020", "cai2020:76", "cai2020:77", "cai2020:66"])
def gen_uc_perinatal(c, ctx):
    _gen(c, ctx, "gen-uc-perinatal", "source", "uc-msc")


@when_all(pri(50), GEN, c.cl << _cls("female-reproductive"))
@rule("gen-uc-gynecological", stage="heuristic", weight=True,
      description="Umbilical-cord MSC exosomes are favoured for gynecological conditions.",
      conditions=["the query is classified under female-reproductive"],
      conclusion="support source uc-msc",
      cites=["cai2020", "cai2020:61", "cai2020:78"])
def gen_uc_gynecological(c, ctx):
    _gen(c, ctx, "gen-uc-gynecological", "source", "uc-msc")


@when_all(pri(50), GEN, c.cl << _cls("bone", "cartilage-joint", "connective-tissue"),
          none((m.kind == "support") & (m.rule == "gen-bm-bone")))
@rule("gen-bm-bone", stage="heuristic", weight=True,
      description="Bone-marrow MSC vesicles home to bone and carry osteogenic cues: favoured for bone and connective tissue.",
      conditions=["the query is classified under bone, cartilage-joint or connective-tissue"],
      conclusion="support source bm-msc",
      cites=["cai2020:27", "cai2020:28", "cai2020:29", "cai2020:30"])
def gen_bm_bone(c, ctx):
    _gen(c, ctx, "gen-bm-bone", "source", "bm-msc")


@when_all(pri(55), GEN, c.sp << ((m.kind == "support") & (m.rule == "gen-bm-bone")))
@rule("gen-ad-alternative", stage="heuristic", weight=True,
      description="Adipose MSC exosomes are a readily available alternative where bone-marrow ones are favoured but unsuitable.",
      conditions=["gen-bm-bone has supported bm-msc"],
      conclusion="support source ad-msc (weaker)",
      cites=["cai2020", "cai2020:96", "cai2020:97"])
def gen_ad_alternative(c, ctx):
    _gen(c, ctx, "gen-ad-alternative", "source", "ad-msc")


@when_all(pri(50), GEN, c.cl << _cls("inflammation", "autoimmunity", "alloimmunity"),
          none((m.kind == "support") & (m.rule == "gen-es-immunomodulation")))
@rule("gen-es-immunomodulation", stage="heuristic", weight=True,
      description="Embryonic-stem-cell-derived MSCs modulate immunity more strongly than bone-marrow or adipose MSCs.",
      conditions=["the query is classified under inflammation, autoimmunity or alloimmunity"],
      conclusion="support source es-msc (see the ethics caution)",
      cites=["cai2020:103"])
def gen_es_immunomodulation(c, ctx):
    _gen(c, ctx, "gen-es-immunomodulation", "source", "es-msc")


@when_all(pri(50), GEN, c.cl << _cls("nervous-system"))
@rule("gen-exosome-intranasal-cns", stage="heuristic", weight=True,
      description="Small, permeable exosomes suit nasal delivery to the brain.",
      conditions=["the query is classified under nervous-system"],
      conclusion="support route intranasal",
      cites=["cai2020:42", "cai2020:76"])
def gen_exosome_intranasal_cns(c, ctx):
    _gen(c, ctx, "gen-exosome-intranasal-cns", "route", "intranasal")


@when_all(pri(50), GEN, c.cl << _cls("nervous-system"))
@rule("gen-ev-bbb-intravenous", stage="heuristic", weight=True,
      description="EVs can cross the blood-brain barrier, so systemic (intravenous) delivery can reach the brain.",
      conditions=["the query is classified under nervous-system"],
      conclusion="support route intravenous",
      cites=["cai2020", "cai2020:22"])
def gen_ev_bbb_intravenous(c, ctx):
    _gen(c, ctx, "gen-ev-bbb-intravenous", "route", "intravenous")


@when_all(pri(50), GEN, c.cl << _cls("cardiovascular"),
          c.fit << ((m.kind == "eng_fit") & (m.category == "cardiovascular")),
          c.ep << ((m.kind == "eng_purpose") & (m.engineering == c.fit.engineering) & (m.purpose == "retention")))
@rule("gen-hydrogel-heart", stage="heuristic", weight=True,
      description="A hydrogel keeps vesicles in the beating heart longer and improves repair.",
      conditions=["the query is classified under cardiovascular",
                  "engineering option O is used in the heart and is for retention"],
      conclusion="support engineering option O",
      cites=["cai2020:57", "cai2020:75"])
def gen_hydrogel_heart(c, ctx):
    _gen(c, ctx, "gen-hydrogel-heart", "engineering", c.ep.engineering)


@when_all(pri(50), GEN, c.cl << _cls("neoplasia"),
          c.ep << ((m.kind == "eng_purpose") & ((m.purpose == "drug-delivery") | (m.purpose == "targeting") | (m.purpose == "chemosensitization"))),
          none((m.kind == "support") & (m.rule == "gen-drug-loading-cancer") & (m.item == c.ep.engineering)))
@rule("gen-drug-loading-cancer", stage="heuristic", weight=True,
      description="For cancers, MSC vesicles are carriers: load a drug, add a targeting ligand, or sensitise to chemotherapy.",
      conditions=["the query is classified under neoplasia",
                  "engineering option O is for drug delivery, targeting or chemosensitisation"],
      conclusion="support engineering option O",
      cites=["cai2020", "cai2020:55", "cai2020:56", "cai2020:99"])
def gen_drug_loading_cancer(c, ctx):
    _gen(c, ctx, "gen-drug-loading-cancer", "engineering", c.ep.engineering)


@when_all(pri(50), GEN, c.cl << _cls("inflammation"),
          c.ep << ((m.kind == "eng_purpose") & (m.purpose == "anti-inflammatory-priming")))
@rule("gen-priming-inflammation", stage="heuristic", weight=True,
      description="Priming MSCs with inflammatory signals enriches anti-inflammatory cargo such as miR-146a.",
      conditions=["the query is classified under inflammation",
                  "engineering option O primes the cells against inflammation"],
      conclusion="support engineering option O",
      cites=["cai2020:80", "cai2020:81", "cai2020:92"])
def gen_priming_inflammation(c, ctx):
    _gen(c, ctx, "gen-priming-inflammation", "engineering", c.ep.engineering)


@when_all(pri(50), GEN, c.cl << _cls("ischemia-reperfusion"),
          c.ep << ((m.kind == "eng_purpose") & (m.purpose == "potency") & (m.engineering.matches("preconditioning-.*"))))
@rule("gen-preconditioning-ischemia", stage="heuristic", weight=True,
      description="Hypoxic or ischemic preconditioning makes MSC exosomes more potent against ischemic damage.",
      conditions=["the query is classified under ischemia-reperfusion",
                  "preconditioning option O raises potency"],
      conclusion="support engineering option O",
      cites=["cai2020:48", "cai2020:49", "heo2018:36"])
def gen_preconditioning_ischemia(c, ctx):
    _gen(c, ctx, "gen-preconditioning-ischemia", "engineering", c.ep.engineering)


@when_all(pri(60), GEN, c.cl << ((m.kind == "class") & (m.ckind != "process")),
          c.rr << ((m.kind == "route_reach") & (m.category == c.cl.category)),
          none((m.kind == "support") & (m.rule == "route-reach") & (m.item == c.rr.route)))
@rule("route-reach", stage="route", weight=True,
      description="A route the reviews report reaching the affected organ system is a candidate.",
      conditions=["the query is classified under organ system C", "route R is reported to reach C"],
      conclusion="support route R")
def route_reach(c, ctx):
    _gen(c, ctx, "route-reach", "route", c.rr.route)


@when_all(pri(60), c.q << (m.kind == "query"), c.pop << ((m.kind == "population") & (m.population == "neonate")),
          c.ri << ((m.kind == "route_info") & (m.invasiveness == "high")),
          none((m.kind == "support") & (m.rule == "route-gentle-neonate") & (m.item == c.ri.route)))
@rule("route-gentle-neonate", stage="route", weight=True,
      description="For newborns, prefer non-invasive routes: an invasive route counts against.",
      conditions=["the consultation concerns neonates", "route R is highly invasive"],
      conclusion="oppose route R",
      cites=["cai2020:76", "cai2020:42"])
def route_gentle_neonate(c, ctx):
    support(c, axis="route", item=c.ri.route, cf=ctx.rule_cf("route-gentle-neonate"),
            rule="route-gentle-neonate", origin="heuristic", model="review-inference")


@when_all(pri(60), GEN, c.cl << (m.kind == "class"),
          c.fit << ((m.kind == "eng_fit") & (m.category == c.cl.category)),
          none((m.kind == "support") & (m.rule == "eng-fit") & (m.item == c.fit.engineering)))
@rule("eng-fit", stage="engineering", weight=True,
      description="An engineering option the reviews report for this kind of disease is a candidate.",
      conditions=["the query is classified under category C", "engineering option O has been used for C"],
      conclusion="support engineering option O")
def eng_fit(c, ctx):
    _gen(c, ctx, "eng-fit", "engineering", c.fit.engineering)
