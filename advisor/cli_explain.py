"""Explanation commands: why, why-not, explain (--step), rules, cite, and the interactive ask."""

from __future__ import annotations

import sys
from enum import Enum
from typing import List, Optional

import typer

from .cli_options import CLINICAL, EXCLUDE, POPULATION, ROUTE, Fmt
from .cli_options import constraints as _constraints
from .errors import AdvisorError


class GraphFmt(str, Enum):
    rich = "rich"
    json = "json"
    markdown = "markdown"
    mermaid = "mermaid"
    dot = "dot"


def register(app, knowledge, fail, out):
    from .. import advisor
    from . import explain as X
    from . import render

    def _consult(disease, exclude_source, route, clinical_only, population):
        kb = knowledge()
        return kb, advisor.consult(kb, disease, _constraints(exclude_source, route, clinical_only, population))

    def _emit(fmt, doc_fn, json_fn):
        if fmt is Fmt.json or fmt is GraphFmt.json:
            sys.stdout.write(render.to_json(json_fn()))
        elif fmt.value == "markdown":
            sys.stdout.write(doc_fn().markdown())
        else:
            doc_fn().print(out())

    @app.command()
    def why(
        disease: str = typer.Argument(..., help="Disease name, synonym, abbreviation or id."),
        item: str = typer.Argument(..., help="A source, route or engineering id (or its name)."),
        fmt: Fmt = typer.Option(Fmt.rich, "--format", "-f", help="Output format."),
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
    ):
        """Every contribution behind ITEM for DISEASE, with citations and the arithmetic."""
        try:
            kb, adv = _consult(disease, exclude_source, route, clinical_only, population)
            _emit(fmt, lambda: X.why_doc(kb, adv, item), lambda: X.why_json(kb, adv, item))
        except AdvisorError as exc:
            fail(exc)

    @app.command("why-not")
    def why_not(
        disease: str = typer.Argument(..., help="Disease name, synonym, abbreviation or id."),
        item: str = typer.Argument(..., help="A source, route or engineering id (or its name)."),
        fmt: Fmt = typer.Option(Fmt.rich, "--format", "-f", help="Output format."),
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
    ):
        """What ITEM got, which rules could have supported it and which condition failed."""
        try:
            kb, adv = _consult(disease, exclude_source, route, clinical_only, population)
            _emit(fmt, lambda: X.why_not_doc(kb, adv, item), lambda: X.why_not_json(kb, adv, item))
        except AdvisorError as exc:
            fail(exc)

    @app.command()
    def explain(
        disease: str = typer.Argument(..., help="Disease name, synonym, abbreviation or id."),
        fmt: GraphFmt = typer.Option(GraphFmt.rich, "--format", "-f",
                                     help="rich (a tree), markdown, mermaid or dot (the reasoning graph), json."),
        step: bool = typer.Option(False, "--step", help="Pause after each rule firing until Enter (q quits)."),
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
    ):
        """The whole chain: query, disease, categories, each rule firing in order, derived facts, ranking."""
        try:
            kb, adv = _consult(disease, exclude_source, route, clinical_only, population)
        except AdvisorError as exc:
            fail(exc)
        if step:
            X.step_explain(kb, adv, out(), input)
        elif fmt is GraphFmt.json:
            sys.stdout.write(render.to_json({"query": adv.as_json()["query"], "classes": adv.classes,
                                             "related": adv.related, "populations": adv.populations,
                                             "trace": adv.trace, "disclaimer": adv.disclaimer}))
        elif fmt is GraphFmt.markdown:
            sys.stdout.write(X.explain_markdown(kb, adv))
        elif fmt is GraphFmt.mermaid:
            sys.stdout.write(X.explain_mermaid(kb, adv))
        elif fmt is GraphFmt.dot:
            sys.stdout.write(X.explain_dot(kb, adv))
        else:
            X.print_explain(kb, adv, out())

    @app.command()
    def rules(
        rule_id: Optional[str] = typer.Argument(None, metavar="[ID]", help="A rule id; omit to list all rules."),
        fmt: Fmt = typer.Option(Fmt.rich, "--format", "-f", help="Output format."),
    ):
        """Browse the rule base as declared: conditions, what each rule asserts, weights, citations (--format markdown: the rule book)."""
        from .kbtools import rules_list

        try:
            kb = knowledge()
            if fmt.value == "markdown" and rule_id is None:
                sys.stdout.write(X.rule_book(kb))
                return
            _emit(fmt, lambda: X.rules_doc(kb, rule_id),
                  lambda: X.rule_json(kb, rule_id) if rule_id else {"rules": rules_list(kb),
                                                                    "disclaimer": advisor.DISCLAIMER})
        except AdvisorError as exc:
            fail(exc)

    @app.command()
    def cite(
        key: str = typer.Argument(..., help="A reference key (thomi2019b) or a review citation (cai2020:76)."),
        fmt: Fmt = typer.Option(Fmt.rich, "--format", "-f", help="Output format."),
    ):
        """The full reference, where each review cites it, and which evidence items use it."""
        try:
            kb = knowledge()
            _emit(fmt, lambda: X.cite_doc(kb, key),
                  lambda: {**X.cite_json(kb, key), "disclaimer": advisor.DISCLAIMER})
        except AdvisorError as exc:
            fail(exc)

    @app.command()
    def ask(
        disease: Optional[str] = typer.Argument(None, help="Start with this disease (otherwise you are asked)."),
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
    ):
        """An interactive consultation: advice, then why / why not / how / what if ... until quit."""
        from . import interactive

        try:
            kb = knowledge()
            cons = _constraints(exclude_source, route, clinical_only, population)
            given = bool(exclude_source or route or clinical_only or population)
            if given:
                from .consult import check_constraints

                check_constraints(kb, cons)
        except AdvisorError as exc:
            fail(exc)
        code = interactive.run(kb, out(), input, disease, cons if (given or disease) else None)
        raise typer.Exit(code)
