"""Stage 'classify': from the query's disease to its categories, relatives and population."""

from durable.lang import c, m, none, pri, when_all

from .base import emit, rule

QUERY = c.q << (m.kind == "query")


@when_all(pri(1), QUERY, c.ic << ((m.kind == "in_category") & (m.disease == c.q.disease)))
@rule("cls-category", stage="classify",
      description="The disease belongs to the categories the knowledge base gives it.",
      conditions=["the query names disease D", "D is filed under category C"],
      conclusion="the query is classified under C")
def cls_category(c, ctx):
    emit(c, {"id": f"class:{c.ic.category}", "kind": "class", "category": c.ic.category,
             "ckind": c.ic.ckind, "via": "direct"})


@when_all(pri(1), QUERY, c.d << ((m.kind == "disease") & (m.disease == c.q.disease) & (m.parent != "")))
@rule("cls-parent", stage="classify",
      description="A broader disease (the parent) is a close relative whose evidence counts, discounted.",
      conditions=["the query names disease D", "D has the parent disease P"],
      conclusion="P is related to the query as its parent (match weight 'parent')")
def cls_parent(c, ctx):
    emit(c, {"id": f"related:{c.d.parent}", "kind": "related", "disease": c.d.parent,
             "relation": "parent", "w": c.q.w_parent})


@when_all(pri(1), QUERY, c.d << ((m.kind == "disease") & (m.parent == c.q.disease)))
@rule("cls-child", stage="classify",
      description="A narrower disease (a child) is a close relative whose evidence counts, discounted.",
      conditions=["the query names disease D", "disease K has D as its parent"],
      conclusion="K is related to the query as its child (match weight 'child')")
def cls_child(c, ctx):
    emit(c, {"id": f"related:{c.d.disease}", "kind": "related", "disease": c.d.disease,
             "relation": "child", "w": c.q.w_child})


@when_all(pri(2), QUERY, c.r << ((m.kind == "related") & (m.relation == "parent")),
          c.d << ((m.kind == "disease") & (m.parent == c.r.disease) & (m.disease != c.q.disease)))
@rule("cls-sibling", stage="classify",
      description="Diseases that share the query's parent are siblings: related, discounted more.",
      conditions=["the query's disease has the parent P", "disease S also has the parent P"],
      conclusion="S is related to the query as a sibling (match weight 'sibling')")
def cls_sibling(c, ctx):
    emit(c, {"id": f"related:{c.d.disease}", "kind": "related", "disease": c.d.disease,
             "relation": "sibling", "w": c.q.w_sibling})


@when_all(pri(1), QUERY, c.ir << (m.kind == "icd_relative"))
@rule("cls-icd-block", stage="classify",
      description="A curated disease in the same ICD-10-CM block as an uncurated query is its nearest relative.",
      conditions=["the query was placed in ICD-10-CM block B", "curated disease R is coded in block B"],
      conclusion="R is related to the query as a sibling (match weight 'sibling')")
def cls_icd_block(c, ctx):
    emit(c, {"id": f"related:{c.ir.disease}", "kind": "related", "disease": c.ir.disease,
             "relation": "sibling", "w": c.q.w_sibling})


@when_all(pri(2), c.r << ((m.kind == "related") & (m.relation == "parent")),
          c.ic << ((m.kind == "in_category") & (m.disease == c.r.disease)),
          none((m.kind == "class") & (m.category == c.ic.category)))
@rule("cls-inherit", stage="classify",
      description="A disease inherits the categories of its parent that it does not list itself.",
      conditions=["the query's disease has the parent P", "P is filed under category C",
                  "the query is not yet classified under C"],
      conclusion="the query is classified under C (inherited)")
def cls_inherit(c, ctx):
    emit(c, {"id": f"class:{c.ic.category}", "kind": "class", "category": c.ic.category,
             "ckind": c.ic.ckind, "via": "inherited"})


@when_all(pri(1), QUERY, c.dp << ((m.kind == "disease_pop") & (m.disease == c.q.disease)))
@rule("cls-population", stage="classify",
      description="The disease usually affects a known population (e.g. neonates).",
      conditions=["the query names disease D", "D usually affects population P"],
      conclusion="the consultation concerns population P")
def cls_population(c, ctx):
    emit(c, {"id": f"population:{c.dp.population}:disease", "kind": "population",
             "population": c.dp.population, "via": "disease"})
