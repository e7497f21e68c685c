"""The Typer app of msc-ev: every command, its help and its errors. Thin: parse, call one advisor
function, render. ``cli.main`` imports it for everything except the plain one-shot JSON advice,
which it answers without Typer (terminal/fast_json.py) with the same bytes.

Library errors are typed (advisor.errors); each becomes one message on stderr and the exit code
of the output contract, docs/output-contract.md (1: understood but unanswerable; 2: usage or
knowledge-base error). Rich is imported only when something is drawn.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import List, Optional

import typer

from .. import advisor
from . import common as core
from .typer_options import CLINICAL, CONTEXT, EXCLUDE, Command, POPULATION, ROUTE, Fmt, disease_argument, option
from .typer_options import pick_format
from ..advisor.errors import AdvisorError
from ..advisor.limits import MAX_ECHO, shown

DISCLAIMER = advisor.DISCLAIMER

app = typer.Typer(
    name="msc-ev",
    help=("Rank MSC sources, administration routes and engineering options for extracellular-vesicle "
          "therapy of a disease, and explain why, with citations. " + DISCLAIMER),
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)
kb_app = typer.Typer(help="Check, browse, search and dump the knowledge base.", no_args_is_help=True,
                     context_settings=CONTEXT, rich_markup_mode=None)
app.add_typer(kb_app, name="kb")


class State:
    kb_dir: Optional[str] = None
    kb_extra: tuple[str, ...] = ()


STATE = State()


def out(file=None):
    from .inert_console import InertConsole

    return InertConsole(soft_wrap=False, highlight=False, file=file)


def fail(exc: AdvisorError) -> None:
    typer.echo(core.error_line(exc), err=True)
    raise typer.Exit(exc.exit_code)


def knowledge() -> advisor.Knowledge:
    return advisor.load_cached(STATE.kb_dir, STATE.kb_extra)


def _version(value: bool):
    if value:
        typer.echo(f"msc-ev {advisor.__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    kb: Optional[str] = option(core.KB),
    kb_extra: List[str] = option(core.KB_EXTRA),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
):
    """Global options."""
    STATE.kb_dir = kb
    STATE.kb_extra = tuple(kb_extra)


def write_output(output: Optional[str], text: str) -> None:
    """Write ``text`` to standard output, or atomically to ``output``."""
    try:
        core.write_text(output, text)
    except AdvisorError as exc:
        fail(exc)


OUTPUT = option(core.OUTPUT)


@app.command(cls=Command)
def advise(
    disease: str = disease_argument(),
    fmt: Optional[Fmt] = option(core.FORMAT),
    output: Optional[str] = OUTPUT,
    exclude_source: List[str] = EXCLUDE,
    route: List[str] = ROUTE,
    clinical_only: bool = CLINICAL,
    population: Optional[str] = POPULATION,
    top: int = typer.Option(5, "--top", metavar="N", min=0, help="Rows per section in the rich view (0: all)."),
    no_reuse: bool = option(core.NO_REUSE),
):
    """Rank sources, routes and engineering options for DISEASE."""
    from ..views import render
    from . import rich_advice

    core.no_reuse(no_reuse)
    try:
        chosen = pick_format(fmt.value if fmt else None, output, list(Fmt), "rich")
        output = core.check_output(output) or output  # before any work
        kb, adv = core.advise(STATE.kb_dir, STATE.kb_extra, disease, exclude_source, route, clinical_only,
                              population)
    except AdvisorError as exc:
        fail(exc)
    if chosen == "json":
        write_output(output, render.to_json(adv.as_json()))
    elif chosen == "markdown":
        write_output(output, render.markdown(kb, adv))
    elif output and output != "-":
        import io

        buf = io.StringIO()
        from .inert_console import InertConsole

        rich_advice.print_rich(kb, adv, InertConsole(file=buf, width=100, color_system=None), top or None)
        write_output(output, buf.getvalue())
    else:
        rich_advice.print_rich(kb, adv, out(), top or None)


# ----------------------------------------------------------------------------- kb commands


class DumpFmt(str, Enum):
    json = "json"
    yaml = "yaml"
    bibtex = "bibtex"
    ris = "ris"
    csl_json = "csl-json"


@kb_app.command("check", cls=Command)
def kb_check():
    """Validate the knowledge base from source, never from the cache (schema, cross-references, ICD-10-CM codes, rule weights)."""
    from ..advisor import kbtools

    try:
        kb = advisor.load_kb(STATE.kb_dir, STATE.kb_extra, use_cache=False)
        kbtools.check(kb)
    except AdvisorError as exc:
        fail(exc)
    s = kbtools.stats(kb)
    typer.echo(f"ok: {s['files']} files, {s['diseases']} diseases, {s['evidence']} evidence items, "
               f"{s['references']} references, {s['trials']} trials")


@kb_app.command("stats", cls=Command)
def kb_stats(fmt: Fmt = typer.Option(Fmt.rich, "--format", "-f", metavar="FORMAT", help="rich or json.")):
    """Counts of everything in the knowledge base."""
    from ..advisor import kbtools
    from ..views import render

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


@kb_app.command("show", cls=Command)
def kb_show(item: str = typer.Argument(..., metavar="ID", help="Any id: disease, source, route, option, reference, evidence, trial, category; or cai2020:N.")):
    """Show one record and everything that points to it."""
    from ..advisor import kbtools
    from .rich_docs import show_record

    try:
        kb = knowledge()
        section, rec = kbtools.find(kb, item)
    except AdvisorError as exc:
        fail(exc)
    show_record(kb, section, rec, out())


@kb_app.command("search", cls=Command)
def kb_search(text: str = typer.Argument(..., metavar="TEXT", help="Words to look for in ids, names, synonyms, effects, titles.")):
    """Search the knowledge base."""
    from ..advisor import kbtools

    try:
        hits = kbtools.search(knowledge(), text)
    except AdvisorError as exc:
        fail(exc)
    if not hits:
        typer.echo(f"no match for {shown(text, MAX_ECHO)}", err=True)
        raise typer.Exit(1)
    from ..advisor.echo import inert

    for section, rid, label in hits:
        typer.echo(f"{section:<11} {inert(rid, MAX_ECHO):<40} {inert(label[:70])}")


@kb_app.command("dump", cls=Command)
def kb_dump(
    fmt: Optional[DumpFmt] = typer.Option(None, "--format", "-f", metavar="FORMAT",
                                          help="json, yaml, or every reference as bibtex, ris or csl-json "
                                               "(default: json, or from the -o extension)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                         help="Write to FILE instead of standard output (.json, .yaml, .bib, "
                                              ".ris: the format follows the extension unless --format is given)."),
):
    """Print the whole knowledge base (docs/output-contract.md), or all its references for a reference manager."""
    from ..advisor import kbtools
    from ..views import render
    from .typer_options import EXTENSIONS

    ext = {**EXTENSIONS, ".yaml": "yaml", ".yml": "yaml", ".bib": "bibtex", ".ris": "ris"}
    try:
        chosen = _dump_format(fmt.value if fmt else None, output, ext)
        output = core.check_output(output) or output  # before any work
        kb = knowledge()
        if chosen in ("bibtex", "ris", "csl-json"):
            from ..views.citations import export

            write_output(output, export(kb, sorted(kb.references), chosen))
            return
        data = kbtools.dump(kb)
    except AdvisorError as exc:
        fail(exc)
    data["disclaimer"] = DISCLAIMER
    if chosen == "yaml":
        import yaml

        write_output(output, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    else:
        write_output(output, render.to_json(data))


def _dump_format(given, output, ext) -> str:
    from pathlib import Path

    from ..advisor.errors import UsageError

    implied = ext.get(Path(output).suffix.lower()) if output and output != "-" else None
    if given and implied and given != implied:
        raise UsageError(f"--format {given} contradicts the extension of {shown(output, MAX_ECHO)} ({implied}); "
                         f"drop --format or change the file name")
    chosen = given or implied or "json"
    if chosen not in [d.value for d in DumpFmt]:
        raise UsageError(f"cannot write {chosen} here ({shown(output, MAX_ECHO)}); use --format json|yaml|bibtex|ris|csl-json")
    return chosen


# Commands that live in their own modules register themselves on the app.
from . import batch_command as cli_batch  # noqa: E402
from . import explain_commands as cli_explain

cli_explain.register(app, knowledge, fail, out, write_output)
cli_batch.register(app, knowledge, fail, out)
from . import whatif_commands  # noqa: E402

whatif_commands.register(app, knowledge, fail, out, STATE)
from . import map_command  # noqa: E402

map_command.register(app, knowledge, fail, out, STATE)
