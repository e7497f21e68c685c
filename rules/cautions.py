"""Stages 'caution' and 'constraint': warnings, and what the user's constraints remove."""

from durable.lang import c, m, none, pri, when_all

from .base import emit, retract, rule
from .facts import caution, exclusion


@when_all(pri(2), c.con << ((m.kind == "constraint") & (m.type == "exclude-source")))
@rule("con-exclude-source", stage="constraint",
      description="A source the user excluded is removed from the ranking.",
      conditions=["the user excluded source S"], conclusion="exclude S")
def con_exclude_source(c, ctx):
    exclusion(c, axis="source", item=c.con.value, rule="con-exclude-source",
              reason="excluded by the user (--exclude-source)")


@when_all(pri(3), c.ex << ((m.kind == "exclusion") & (m.axis == "source")),
          c.par << ((m.kind == "source_parent") & (m.parent == c.ex.item)))
@rule("con-exclude-source-part", stage="constraint",
      description="Excluding a source also excludes its parts (umbilical cord -> Wharton's jelly).",
      conditions=["source P is excluded", "source S is part of P"], conclusion="exclude S")
def con_exclude_source_part(c, ctx):
    exclusion(c, axis="source", item=c.par.child, rule="con-exclude-source-part",
              reason=f"part of excluded source {c.ex.item}")


@when_all(pri(2), c.con << ((m.kind == "constraint") & (m.type == "route-not-allowed")))
@rule("con-route-only", stage="constraint",
      description="When the user limits the routes, every other route is removed.",
      conditions=["the user allowed only some routes", "route R is not among them"],
      conclusion="exclude R")
def con_route_only(c, ctx):
    exclusion(c, axis="route", item=c.con.value, rule="con-route-only",
              reason="not among the routes the user allowed (--route)")


@when_all(pri(3), c.con << ((m.kind == "constraint") & (m.type == "clinical-only")),
          c.e << ((m.kind == "evidence") & (m.clinical == 0)))
@rule("con-clinical-only", stage="constraint",
      description="With --clinical-only, preclinical evidence and the reviews' generalisations are set aside.",
      conditions=["the user asked for clinical evidence only", "evidence item E is preclinical"],
      conclusion="set E aside")
def con_clinical_only(c, ctx):
    exclusion(c, axis="evidence", item=c.e.evidence, rule="con-clinical-only",
              reason=f"{c.e.model} evidence set aside (--clinical-only)")


@when_all(pri(1), c.con << ((m.kind == "constraint") & (m.type == "population")))
@rule("con-population", stage="constraint",
      description="The population the user names is the population of the consultation.",
      conditions=["the user named population P"], conclusion="the consultation concerns P")
def con_population(c, ctx):
    emit(c, {"id": f"population:{c.con.value}:user", "kind": "population",
             "population": c.con.value, "via": "user"})


@when_all(pri(80), c.f << ((m.kind == "finding") & (m.direction == "opposes")))
@rule("caution-opposing", stage="caution",
      description="Evidence that a source's vesicles worked against the disease (or harmed) is flagged.",
      conditions=["evidence item E opposes"], conclusion="caution about E's source and vesicle type")
def caution_opposing(c, ctx):
    caution(c, name="opposing-evidence", rule="caution-opposing", item=c.f.source,
            evidence=c.f.evidence)


@when_all(pri(80), c.sp << ((m.kind == "support") & (m.item == "es-msc") & (m.cf > 0)),
          none((m.kind == "caution") & (m.caution == "es-ethics")))
@rule("caution-es-ethics", stage="caution",
      description="Embryonic-stem-cell-derived MSCs raise ethical issues that may limit their use.",
      conditions=["es-msc received support"], conclusion="ethics caution for es-msc",
      cites=["cai2020"])
def caution_es_ethics(c, ctx):
    caution(c, name="es-ethics", rule="caution-es-ethics", item="es-msc")


@when_all(pri(80), c.f << ((m.kind == "finding") & (m.vesicle == "secretome")))
@rule("caution-secretome", stage="caution",
      description="A secretome contains more than EVs: its effect cannot be credited to EVs alone.",
      conditions=["evidence item E tested a whole secretome"], conclusion="caution about E",
      cites=["cai2020"])
def caution_secretome(c, ctx):
    caution(c, name="secretome", rule="caution-secretome", item=c.f.source, evidence=c.f.evidence)


@when_all(pri(4), c.q << (m.kind == "query"))
@rule("caution-preclinical", stage="caution",
      description="Until a clinical study is found, the advice is flagged as resting on preclinical work.",
      conditions=["a consultation starts"], conclusion="preclinical-only caution (withdrawn if clinical evidence is found)")
def caution_preclinical(c, ctx):
    caution(c, name="preclinical-only", rule="caution-preclinical")


@when_all(pri(85), c.f << ((m.kind == "finding") & (m.clinical == 1) & (m.match != "category")),
          c.cau << ((m.kind == "caution") & (m.caution == "preclinical-only")))
@rule("caution-clinical-found", stage="caution",
      description="A finding from a clinical study withdraws the preclinical-only caution.",
      conditions=["a finding comes from a clinical study of this disease or a close relative",
                  "the preclinical-only caution stands"],
      conclusion="withdraw the preclinical-only caution")
def caution_clinical_found(c, ctx):
    retract(c, "caution:preclinical-only::")


@when_all(pri(1), c.q << ((m.kind == "query") & (m.indirect == 1)))
@rule("caution-indirect", stage="caution",
      description="A disease the reviews never name is answered only from its relatives' evidence.",
      conditions=["the query was placed by its ICD-10-CM chapter or block"],
      conclusion="indirect-answer caution")
def caution_indirect(c, ctx):
    caution(c, name="indirect", rule="caution-indirect")


@when_all(pri(85), c.q << (m.kind == "query"),
          c.pop << ((m.kind == "population") & (m.via == "user")),
          c.dp << ((m.kind == "disease_pop") & (m.disease == c.q.disease)),
          none((m.kind == "disease_pop") & (m.disease == c.q.disease) & (m.population == c.pop.population)),
          none((m.kind == "caution") & (m.caution == "population-mismatch")))
@rule("caution-population-mismatch", stage="caution",
      description="The population the user named is not the one the disease usually affects.",
      conditions=["the user named population P", "the disease usually affects other populations"],
      conclusion="population-mismatch caution")
def caution_population_mismatch(c, ctx):
    caution(c, name="population-mismatch", rule="caution-population-mismatch",
            item=c.pop.population)
