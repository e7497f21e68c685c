"""Explanation commands: why, why-not, explain (--step), rules, cite, and the interactive ask.

The explanation modules (and Rich) are imported inside each command, so registering these
commands costs nothing on an ``advise --format json`` run.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import List, Optional

import typer

from .typer_options import CLINICAL, EXCLUDE, POPULATION, ROUTE, Command, Fmt, disease_argument
from .typer_options import constraints as _constraints
from .typer_options import option, require_candidates, resolved
from .common import NO_REUSE, no_reuse as core_no_reuse
from ..advisor.errors import AdvisorError, UsageError


class GraphFmt(str, Enum):
    rich = "rich"
    json = "json"
    markdown = "markdown"
    mermaid = "mermaid"
    dot = "dot"


class CiteFmt(str, Enum):
    rich = "rich"
    json = "json"
    markdown = "markdown"
    bibtex = "bibtex"
    ris = "ris"
    csl_json = "csl-json"


ITEM_HELP = "A source, route or engineering option: id, name or abbreviation (uc-msc, UC-MSC, IV)."
FORMAT = typer.Option(Fmt.rich, "--format", "-f", metavar="FORMAT", help="rich, json or markdown.")


def print_doc(doc, console) -> None:
    """Draw an explanation document with Rich (imported only when something is drawn)."""
    from .rich_docs import print_doc as draw

    draw(doc, console)


def register(app, knowledge, fail, out, write_output=None):
    from .. import advisor

    def _consult(disease, exclude_source, route, clinical_only, population, need_candidates=True):
        kb = knowledge()
        cons = resolved(kb, _constraints(exclude_source, route, clinical_only, population))
        adv = advisor.consult(kb, disease, cons)
        if need_candidates:
            require_candidates(adv)
        return kb, adv

    def _emit(fmt, doc_fn, json_fn):
        from ..views import render

        if fmt.value == "json":
            sys.stdout.write(render.to_json(json_fn()))
        elif fmt.value == "markdown":
            sys.stdout.write(doc_fn().markdown())
        else:
            print_doc(doc_fn(), out())

    @app.command(cls=Command)
    def why(
        disease: str = disease_argument(),
        item: str = typer.Argument(..., metavar="ID", help=ITEM_HELP),
        fmt: Fmt = FORMAT,
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
    ):
        """Every contribution behind ID for DISEASE, with citations and the arithmetic."""
        from ..views import explain as X
        from ..advisor.ids import resolve_item

        try:
            kb, adv = _consult(disease, exclude_source, route, clinical_only, population)
            rid = resolve_item(kb, item)
            _emit(fmt, lambda: X.why_doc(kb, adv, rid), lambda: X.why_json(kb, adv, rid))
        except AdvisorError as exc:
            fail(exc)

    @app.command("why-not", cls=Command)
    def why_not(
        disease: str = disease_argument(),
        item: str = typer.Argument(..., metavar="ID", help=ITEM_HELP),
        fmt: Fmt = FORMAT,
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
    ):
        """What ID got, which rules could have supported it and which condition failed."""
        from ..views import explain as X
        from ..advisor.ids import resolve_item

        try:
            kb, adv = _consult(disease, exclude_source, route, clinical_only, population, need_candidates=False)
            rid = resolve_item(kb, item)
            _emit(fmt, lambda: X.why_not_doc(kb, adv, rid), lambda: X.why_not_json(kb, adv, rid))
        except AdvisorError as exc:
            fail(exc)

    @app.command(cls=Command)
    def explain(
        disease: str = disease_argument(),
        fmt: GraphFmt = typer.Option(GraphFmt.rich, "--format", "-f", metavar="FORMAT",
                                     help="rich (a tree), markdown, json, or the reasoning graph as mermaid or dot."),
        step: bool = typer.Option(False, "--step",
                                  help="Each rule firing, then what it derived, in firing order; with rich, "
                                       "pause after each until Enter (q quits)."),
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
        no_reuse: bool = option(NO_REUSE),
    ):
        """The whole chain: query, disease, each rule firing in order and what it derived, ranking."""
        from ..views import how as H
        from ..views import render

        core_no_reuse(no_reuse)
        try:
            if step and fmt in (GraphFmt.mermaid, GraphFmt.dot):
                raise UsageError(f"--step shows the firings one by one: use --format rich, markdown or json "
                                 f"(not {fmt.value})")
            kb, adv = _consult(disease, exclude_source, route, clinical_only, population)
        except AdvisorError as exc:
            fail(exc)
        head = {"query": adv.as_json()["query"]}
        if fmt is GraphFmt.json and step:
            sys.stdout.write(render.to_json({**head, "steps": H.steps_json(adv), "disclaimer": adv.disclaimer}))
        elif fmt is GraphFmt.json:
            res = adv.resolution
            sys.stdout.write(render.to_json({**head, "disease": {"organ": res.organ, "processes": list(res.processes),
                                                                 "populations": list(res.populations)},
                                             "relations": adv.relations, "blocked": adv.blocked,
                                             "populations": adv.populations, "trace": adv.trace,
                                             "disclaimer": adv.disclaimer}))
        elif fmt is GraphFmt.markdown:
            sys.stdout.write(H.explain_markdown(kb, adv))
        elif fmt is GraphFmt.mermaid:
            sys.stdout.write(H.explain_mermaid(kb, adv))
        elif fmt is GraphFmt.dot:
            sys.stdout.write(H.explain_dot(kb, adv))
        elif step:
            from . import rich_how

            rich_how.step_explain(kb, adv, out(), input)
        else:
            from . import rich_how

            rich_how.print_explain(kb, adv, out())

    @app.command(cls=Command)
    def rules(
        rule_id: Optional[str] = typer.Argument(None, metavar="[ID]", help="A rule id; omit to list all rules."),
        fmt: Fmt = FORMAT,
    ):
        """Browse the rule base as declared: conditions, what each rule asserts, weights, citations (--format markdown: the rule book)."""
        from ..views import explain as X
        from ..advisor.kbtools import rules_list

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

    @app.command(cls=Command)
    def cite(
        key: str = typer.Argument(..., metavar="KEY|DISEASE",
                                  help="A reference key (thomi2019b), a review citation (cai2020:76), or a disease "
                                       "(all the references behind its advice)."),
        fmt: CiteFmt = typer.Option(CiteFmt.rich, "--format", "-f", metavar="FORMAT",
                                    help="rich, json, markdown, or for a reference manager bibtex, ris or csl-json."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write to FILE instead of standard output."),
    ):
        """The full reference, where each review cites it and which evidence uses it; or export references."""
        from ..views import explain as X
        from ..views import render
        from ..views.citations import export
        from ..advisor.errors import UnknownDisease, UnknownItem

        from .common import check_output

        emit = write_output or (lambda _o, text: sys.stdout.write(text))
        try:
            output = check_output(output) or output  # before any work
            kb = knowledge()
            try:
                keys, adv = [X.cite_key(kb, key)], None
            except UnknownItem as not_a_ref:
                try:
                    adv = advisor.consult(kb, key)
                except UnknownDisease:
                    raise not_a_ref from None
                keys = list(adv.references)
            if fmt.value in ("bibtex", "ris", "csl-json"):
                emit(output, export(kb, keys, fmt.value))
            elif adv is None:
                if fmt is CiteFmt.json:
                    emit(output, render.to_json({**X.cite_json(kb, keys[0]), "disclaimer": advisor.DISCLAIMER}))
                elif fmt is CiteFmt.markdown:
                    emit(output, X.cite_doc(kb, keys[0]).markdown())
                else:
                    print_doc(X.cite_doc(kb, keys[0]), out())
            else:
                res = adv.resolution
                if fmt is CiteFmt.json:
                    emit(output, render.to_json({"query": adv.as_json()["query"], "references": adv.references,
                                                 "disclaimer": advisor.DISCLAIMER}))
                    return
                from ..advisor.echo import inert, markdown_text

                lines = [f"References behind the advice for {res.name} ({res.id}): {len(keys)}"]
                lines += [f"{i}. {k}: {render.cite_label(kb, k)}" for i, k in enumerate(keys, 1)]
                lines += ["Export them: msc-ev cite DISEASE --format bibtex|ris|csl-json", advisor.DISCLAIMER]
                if fmt is CiteFmt.markdown:
                    lines = [markdown_text(line) for line in lines]
                    emit(output, f"# {lines[0]}\n\n" + "\n".join(lines[1:-2]) + f"\n\n_{lines[-1]}_\n")
                else:
                    emit(output, "\n".join(inert(line) for line in lines) + "\n")
        except AdvisorError as exc:
            fail(exc)

    @app.command(cls=Command)
    def ask(
        disease: Optional[str] = typer.Argument(None, metavar="[DISEASE]",
                                                help="Start with this disease (otherwise you are asked)."),
        exclude_source: List[str] = EXCLUDE,
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
        no_history: bool = typer.Option(False, "--no-history",
                                        help="Do not read or save the command history (kept in the user data "
                                             "directory, e.g. ~/.local/share/msc-ev/history)."),
        vi: bool = typer.Option(False, "--vi", help="vi editing keys at the prompt (default: emacs keys)."),
    ):
        """An interactive consultation: advice, then why / why not / how / what if ... until quit.

        On a terminal the prompt has history, editing keys, tab completion of diseases, ids and
        commands, and a toolbar showing the disease and constraints; with piped input it reads
        one line at a time.
        """
        from . import ask as interactive

        try:
            kb = knowledge()
            given = bool(exclude_source or route or clinical_only or population)
            cons = resolved(kb, _constraints(exclude_source, route, clinical_only, population))
        except AdvisorError as exc:
            fail(exc)
        from .ask_console import terminal_reader

        code = interactive.run(kb, out(), None, disease, cons if (given or disease) else None,
                               history=not no_history, vi=vi, reader=terminal_reader)
        raise typer.Exit(code)
