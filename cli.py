"""msc-ev: the command line. Thin: parse, call one advisor function, render.

Library errors are typed (advisor.errors); each becomes one message on stderr and the exit code
of DESIGN.md section 6 (1: understood but unanswerable; 2: usage or knowledge-base error).
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import List, Optional

import typer
from rich.console import Console

from . import advisor
from .advisor.cli_options import CLINICAL, EXCLUDE, POPULATION, ROUTE, Fmt
from .advisor.cli_options import constraints as _constraints
from .advisor.errors import AdvisorError

DISCLAIMER = advisor.DISCLAIMER

app = typer.Typer(
    name="msc-ev",
    help=("Rank MSC sources, administration routes and engineering options for extracellular-vesicle "
          "therapy of a disease, and explain why, with citations. " + DISCLAIMER),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Check, browse, search and dump the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


class State:
    kb_dir: Optional[str] = None
    kb_extra: tuple[str, ...] = ()


STATE = State()


def out() -> Console:
    return Console(soft_wrap=False, highlight=False)


def fail(exc: AdvisorError) -> None:
    typer.echo(f"msc-ev: {exc.message()}", err=True)
    raise typer.Exit(exc.exit_code)


def knowledge() -> advisor.Knowledge:
    return advisor.load_cached(STATE.kb_dir, STATE.kb_extra)


def _version(value: bool):
    if value:
        typer.echo(f"msc-ev {advisor.__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    kb: Optional[str] = typer.Option(None, "--kb", metavar="DIR", help="Use this knowledge directory instead of the shipped one."),
    kb_extra: List[str] = typer.Option([], "--kb-extra", metavar="DIR", help="Overlay your own YAML (evidence, references, weights...) on the knowledge base; repeatable."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
):
    """Global options."""
    STATE.kb_dir = kb
    STATE.kb_extra = tuple(kb_extra)




@app.command()
def advise(
    disease: str = typer.Argument(..., help="Disease name, synonym, abbreviation or id."),
    fmt: Fmt = typer.Option(Fmt.rich, "--format", "-f", help="Output format."),
    exclude_source: List[str] = EXCLUDE,
    route: List[str] = ROUTE,
    clinical_only: bool = CLINICAL,
    population: Optional[str] = POPULATION,
    top: int = typer.Option(5, "--top", min=0, help="Rows per section in the rich view (0: all)."),
):
    """Rank sources, routes and engineering options for DISEASE."""
    from .advisor import render

    try:
        kb = knowledge()
        adv = advisor.consult(kb, disease, _constraints(exclude_source, route, clinical_only, population))
    except AdvisorError as exc:
        fail(exc)
    if fmt is Fmt.json:
        sys.stdout.write(render.to_json(adv.as_json()))
    elif fmt is Fmt.markdown:
        sys.stdout.write(render.markdown(kb, adv))
    else:
        render.print_rich(kb, adv, out(), top or None)


# ----------------------------------------------------------------------------- kb commands


class DumpFmt(str, Enum):
    json = "json"
    yaml = "yaml"


@kb_app.command("check")
def kb_check():
    """Validate the knowledge base (schema, cross-references, ICD-10-CM codes, rule weights)."""
    from .advisor import kbtools

    try:
        kb = knowledge()
        kbtools.check(kb)
    except AdvisorError as exc:
        fail(exc)
    s = kbtools.stats(kb)
    typer.echo(f"ok: {s['files']} files, {s['diseases']} diseases, {s['evidence']} evidence items, "
               f"{s['references']} references, {s['trials']} trials")


@kb_app.command("stats")
def kb_stats(fmt: Fmt = typer.Option(Fmt.rich, "--format", "-f", help="rich or json.")):
    """Counts of everything in the knowledge base."""
    from .advisor import kbtools, render

    try:
        s = kbtools.stats(knowledge())
    except AdvisorError as exc:
        fail(exc)
    if fmt is Fmt.json:
        sys.stdout.write(render.to_json(s))
        return
    for k, v in s.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items())
        elif isinstance(v, list):
            v = ", ".join(v) or "-"
        typer.echo(f"{k.replace('_', ' ')}: {v}")


@kb_app.command("show")
def kb_show(item: str = typer.Argument(..., help="Any id: disease, source, route, option, reference, evidence, trial, category; or cai2020:N.")):
    """Show one record and everything that points to it."""
    from .advisor import kbtools
    from .advisor.docview import show_record

    try:
        kb = knowledge()
        section, rec = kbtools.find(kb, item)
    except AdvisorError as exc:
        fail(exc)
    show_record(kb, section, rec, out())


@kb_app.command("search")
def kb_search(text: str = typer.Argument(..., help="Words to look for in ids, names, synonyms, effects, titles.")):
    """Search the knowledge base."""
    from .advisor import kbtools

    try:
        hits = kbtools.search(knowledge(), text)
    except AdvisorError as exc:
        fail(exc)
    if not hits:
        typer.echo(f"no match for {text!r}", err=True)
        raise typer.Exit(1)
    for section, rid, label in hits:
        typer.echo(f"{section:<11} {rid:<40} {label[:70]}")


@kb_app.command("dump")
def kb_dump(fmt: DumpFmt = typer.Option(DumpFmt.json, "--format", "-f", help="json or yaml.")):
    """Print the whole knowledge base (JSON contract of DESIGN.md section 6)."""
    from .advisor import kbtools, render

    try:
        data = kbtools.dump(knowledge())
    except AdvisorError as exc:
        fail(exc)
    data["disclaimer"] = DISCLAIMER
    if fmt is DumpFmt.yaml:
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    else:
        sys.stdout.write(render.to_json(data))


# Commands that live in their own modules register themselves on the app.
from .advisor import cli_batch, cli_explain  # noqa: E402

cli_explain.register(app, knowledge, fail, out)
cli_batch.register(app, knowledge, fail, out)
from .advisor.cli_extra import register as _extra; _extra(app, knowledge, fail, out)  # noqa: E402,E702 (issue 16)


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
