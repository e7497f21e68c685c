"""Stage 'evidence': evidence items become findings, and findings become support.

A finding's certainty factor is the item's strength (model x donor species x vesicle type, from
``knowledge/weights.yaml``) times the match weight (exact, parent/child, sibling, same category),
negated when the item opposes. For the source axis, an item whose MSC source is not stated
(``msc``) is further discounted by ``unspecified_source``: it says little about which source to pick. Each item is used once, at its closest match: the exact rule fires
first, and the later rules skip items that already have a finding.
"""

from durable.lang import c, m, none, pri, when_all

from .base import emit, mul, rule
from .facts import support

QUERY = c.q << (m.kind == "query")


def _find(c, ctx, rule_id: str, match: str, weight: int) -> None:
    e = c.e
    cf = mul(e.strength, weight)
    if e.direction == "opposes":
        cf = -cf
    emit(c, {"id": f"finding:{e.evidence}", "kind": "finding", "evidence": e.evidence,
             "match": match, "cf": cf, "source": e.source, "route": e.route,
             "vesicle": e.vesicle, "model": e.model, "clinical": e.clinical,
             "direction": e.direction, "rule": rule_id})
    src_cf = mul(cf, c.q.w_unspecified) if e.source == "msc" else cf
    support(c, axis="source", item=e.source, cf=src_cf, rule=rule_id, origin="evidence",
            evidence=e.evidence, match=match, model=e.model)
    if e.route:
        support(c, axis="route", item=e.route, cf=cf, rule=rule_id, origin="evidence",
                evidence=e.evidence, match=match, model=e.model)


@when_all(pri(10), QUERY,
          c.e << ((m.kind == "evidence") & (m.disease == c.q.disease) & (m.clinical >= c.q.min_clinical)))
@rule("ev-exact", stage="evidence",
      description="Evidence about the very disease asked for counts in full.",
      conditions=["the query names disease D", "evidence item E concerns D"],
      conclusion="E supports (or opposes) its source and route with CF = strength(E) x match.exact")
def ev_exact(c, ctx):
    _find(c, ctx, "ev-exact", "exact", c.q.w_exact)


@when_all(pri(20), QUERY, c.r << (m.kind == "related"),
          c.e << ((m.kind == "evidence") & (m.disease == c.r.disease) & (m.clinical >= c.q.min_clinical)),
          none((m.kind == "finding") & (m.evidence == c.e.evidence)))
@rule("ev-related", stage="evidence",
      description="Evidence about a parent, child or sibling disease counts, discounted by the relation.",
      conditions=["disease R is related to the query (parent, child or sibling)",
                  "evidence item E concerns R", "E has not been used at a closer match"],
      conclusion="E supports (or opposes) its source and route with CF = strength(E) x match[relation]")
def ev_related(c, ctx):
    _find(c, ctx, "ev-related", c.r.relation, c.r.w)


@when_all(pri(30), QUERY, c.cl << ((m.kind == "class") & (m.ckind != "process")),
          c.ic << ((m.kind == "in_category") & (m.category == c.cl.category) & (m.disease != c.q.disease)),
          c.e << ((m.kind == "evidence") & (m.disease == c.ic.disease) & (m.clinical >= c.q.min_clinical)),
          none((m.kind == "finding") & (m.evidence == c.e.evidence)))
@rule("ev-category", stage="evidence",
      description="Evidence about another disease of the same organ system or population counts weakly.",
      conditions=["the query is classified under organ-system or population category C",
                  "evidence item E concerns a disease also filed under C",
                  "E has not been used at a closer match"],
      conclusion="E supports (or opposes) its source and route with CF = strength(E) x match.category")
def ev_category(c, ctx):
    _find(c, ctx, "ev-category", "category", c.q.w_category)


@when_all(pri(40), c.f << (m.kind == "finding"),
          c.ee << ((m.kind == "ev_eng") & (m.evidence == c.f.evidence)))
@rule("ev-engineering", stage="evidence",
      description="An engineering option used in an evidence item shares that item's finding.",
      conditions=["evidence item E has a finding with CF x", "E used engineering option O"],
      conclusion="O is supported (or opposed) with CF x")
def ev_engineering(c, ctx):
    support(c, axis="engineering", item=c.ee.engineering, cf=c.f.cf, rule="ev-engineering",
            origin="evidence", evidence=c.f.evidence, match=c.f.match, model=c.f.model)


@when_all(pri(45), QUERY,
          c.sp << ((m.kind == "support") & (m.axis == "source") & (m.origin == "evidence")),
          c.par << ((m.kind == "source_parent") & (m.child == c.sp.item)))
@rule("ev-source-rollup", stage="evidence",
      description="Evidence for a part of a tissue (Wharton's jelly) also speaks for the whole (umbilical cord).",
      conditions=["source S has evidence-based support with CF x", "S is part of source P"],
      conclusion="P is supported with CF = x x source_rollup")
def ev_source_rollup(c, ctx):
    support(c, axis="source", item=c.par.parent, cf=mul(c.sp.cf, c.q.w_rollup),
            rule="ev-source-rollup", origin="rollup", evidence=c.sp.evidence,
            match=c.sp.match, model=c.sp.model)
