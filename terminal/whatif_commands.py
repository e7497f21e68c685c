"""What-if commands and options: ``advise --stability``, ``explain --format html``, ``diff``.

``register(app)`` adds them to the Typer app of ``cli.py``. It must run after ``advise`` and
``explain`` are registered: it extends those two commands in place (their own parameters and
behaviour are untouched; the new options are appended, and the original command runs whenever
the new options are not used). ``knowledge``, ``fail`` and ``out`` default to those of ``cli.py``.
"""

from __future__ import annotations

import inspect
import sys
import typing
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ..advisor.errors import AdvisorError, UsageError


class DiffFmt(str, Enum):
    rich = "rich"
    json = "json"
    markdown = "markdown"


def _command(app, name: str):
    for info in app.registered_commands:
        cname = info.name or info.callback.__name__.replace("_", "-")
        if cname == name:
            return info
    raise RuntimeError(f"whatif_commands.register: the app has no {name!r} command to extend (register it first)")


def _extend(app, name: str, extra: list[inspect.Parameter], handle, replace: dict | None = None):
    """Append ``extra`` parameters to command ``name``; ``handle(orig, kwargs, extras)`` runs it.

    ``replace`` maps a parameter name to a new (annotation, default) for that parameter.
    """
    info = _command(app, name)
    orig = info.callback
    hints = typing.get_type_hints(orig, include_extras=True)
    sig = inspect.signature(orig)
    params = []
    for p in sig.parameters.values():
        ann = hints.get(p.name, p.annotation)
        default = p.default
        if replace and p.name in replace:
            ann, default = replace[p.name]
        params.append(p.replace(annotation=ann, default=default))
    names = {p.name for p in extra}

    def command(**kwargs):
        extras = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
        return handle(orig, kwargs, extras)

    command.__signature__ = sig.replace(parameters=params + extra)
    command.__annotations__ = {p.name: p.annotation for p in params + extra}
    command.__name__ = orig.__name__
    command.__doc__ = orig.__doc__
    info.callback = command


def _opt(name: str, ann, default) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann, default=default)


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through the one writer (advisor/fileio.py)."""
    from ..advisor.fileio import write_file

    write_file(path, text, checked=isinstance(path, Path))


# ------------------------------------------------------------------------------------------
# views of stability and diff (text; the JSON comes from views/whatif.py)


def stability_markdown(adv, stab) -> str:
    from ..advisor.consult import AXES
    from ..views.render import TITLES
    from ..views.whatif import stability_words

    s = stab.settings_json()
    lines = ["## Stability", "",
             f"Every certainty strength in the knowledge base ({len(stab.perturbed)} weights) was varied at random "
             f"within {s['range']} (sign kept, within -1..1) in {stab.samples} settings (seed {stab.seed}; "
             f"method: {stab.method}); the rule firings and limits were not changed.", ""]
    for axis in AXES:
        if not adv.recs[axis]:
            continue
        lines += [f"### {TITLES[axis]}", "", "| # | id | score | stability |", "|---|---|---|---|"]
        for r in adv.recs[axis]:
            words = stability_words(stab.per_item.get((axis, r.id)), r.rank)
            lines.append(f"| {r.rank} | `{r.id}` | {r.score:.3f} | {words} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def stability_rich(adv, stab, top: int | None):
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from ..advisor.consult import AXES
    from ..views.render import TITLES
    from ..views.whatif import stability_words

    s = stab.settings_json()
    parts = [Text(f"Stability: {stab.samples} settings of all {len(stab.perturbed)} certainty strengths, each "
                  f"within {s['range']} (seed {stab.seed}, {stab.method})", style="bold")]
    for axis in AXES:
        recs = adv.recs[axis][:top] if top else adv.recs[axis]
        if not recs:
            continue
        t = Table(title=TITLES[axis], title_justify="left")
        t.add_column("#", justify="right")
        t.add_column("id", no_wrap=True)
        t.add_column("score", justify="right")
        t.add_column("stability")
        for r in recs:
            t.add_row(str(r.rank), escape(r.id), f"{r.score:.3f}",
                      escape(stability_words(stab.per_item.get((axis, r.id)), r.rank)))
        parts.append(t)
    return Group(*parts)


def diff_text(entries: list[dict], overlay: str, compared: int, markdown: bool = False) -> str:
    from ..advisor.consult import DISCLAIMER

    changed = [e for e in entries if e["changes"]]
    lines = []
    from ..advisor.echo import MAX_ECHO, inert

    head = (f"Overlay {inert(overlay, MAX_ECHO)}: {len(changed)} of {compared} "
            f"disease{'s' if compared != 1 else ''} change rank or tier.")
    lines += [f"# {head}" if markdown else head, ""]

    def side(v):
        if v is None:
            return "absent"
        tier = f" tier {v['tier']}" if v.get("tier") is not None else ""
        return f"#{v['rank']}{tier} ({v['score']:.3f})"

    for e in entries:
        if not e["changes"] and not (e["firings"]["added"] or e["firings"]["removed"]):
            continue
        d = e["disease"]
        lines.append(f"## {d['name']} ({d['id']})" if markdown else f"{d['name']} ({d['id']})")
        for c in e["changes"]:
            bullet = "- " if markdown else "  "
            lines.append(f"{bullet}{c['axis']} {c['id']}: {side(c['before'])} -> {side(c['after'])}")
        if not e["changes"]:
            lines.append(("- " if markdown else "  ") + "no rank or tier changes")
        for sign, key in (("-", "removed"), ("+", "added")):
            for f in e["firings"][key]:
                lines.append(f"{'- ' if markdown else '  '}{sign} firing {f['rule']}: matched "
                             f"{', '.join(f['matched']) or '-'}; asserted {', '.join(f['asserted']) or 'nothing new'}")
        lines.append("")
    if not changed:
        lines += ["No recommendation changes rank or tier.", ""]
    lines.append(f"_{DISCLAIMER}_" if markdown else DISCLAIMER)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# registration


def register(app, knowledge, fail, out, state) -> None:
    """Add these commands to ``app``; ``state`` holds the global --kb/--kb-extra options."""
    from .. import advisor
    from ..views import render
    from ..views import whatif
    from . import rich_advice
    from .typer_options import constraints as _constraints, Command

    # ---------------------------------------------------------------- advise --stability
    def advise_handle(orig, kw, ex):
        if not ex["stability"]:
            if ex["samples"] != whatif.DEFAULT_SAMPLES or ex["seed"] != whatif.DEFAULT_SEED:
                typer.echo("msc-ev: --samples and --seed need --stability", err=True)
                raise typer.Exit(2)
            return orig(**kw)
        try:
            kb = knowledge()
            cons = _constraints(kw["exclude_source"], kw["route"], kw["clinical_only"], kw["population"])
            adv = advisor.consult(kb, kw["disease"], cons)
            stab = whatif.stability(kb, adv, ex["samples"], ex["seed"])
        except AdvisorError as exc:
            fail(exc)
        whatif.attach_stability(adv, stab)
        fmt = getattr(kw.get("fmt"), "value", kw.get("fmt"))
        if fmt == "json":
            sys.stdout.write(render.to_json(whatif.advice_json(adv, stab)))
        elif fmt == "markdown":
            text = render.markdown(kb, adv)
            sys.stdout.write(text.rstrip("\n") + "\n\n" + stability_markdown(adv, stab))
        else:
            top = kw.get("top")
            rich_advice.print_rich(kb, adv, out(), top or None)
            out().print(stability_rich(adv, stab, top or None))

    _extend(app, "advise", [
        _opt("stability", bool, typer.Option(False, "--stability",
             help="Re-score under random perturbations of every certainty strength (+/-25%) and show how "
                  "often each item keeps its rank and is #1.")),
        _opt("samples", int, typer.Option(whatif.DEFAULT_SAMPLES, "--samples", min=1, max=100000, metavar="N",
             help="Number of perturbed settings for --stability.")),
        _opt("seed", int, typer.Option(whatif.DEFAULT_SEED, "--seed", help="Random seed for --stability.")),
    ], advise_handle)

    # ---------------------------------------------------------------- explain --format html
    info = _command(app, "explain")
    hints = typing.get_type_hints(info.callback)
    base_fmt = hints.get("fmt")
    if base_fmt is None or not (isinstance(base_fmt, type) and issubclass(base_fmt, Enum)):
        raise RuntimeError("whatif_commands.register: explain has no enum --format parameter named fmt")
    members = {m.name: m.value for m in base_fmt}
    members["html"] = "html"
    ExplainFmt = Enum("ExplainFmt", members, type=str)
    fmt_default = inspect.signature(info.callback).parameters["fmt"].default
    default_value = getattr(getattr(fmt_default, "default", None), "value", "rich")
    new_default = typer.Option(ExplainFmt(default_value), "--format", "-f",
                               help=(getattr(fmt_default, "help", "") or "Output format.").rstrip(".")
                               + "; html: a self-contained page that steps through the chain (use with -o).")

    def explain_handle(orig, kw, ex):
        fmt = kw["fmt"].value
        if fmt != "html":
            if ex["output"]:
                typer.echo("msc-ev: -o/--output is for --format html", err=True)
                raise typer.Exit(2)
            kw["fmt"] = base_fmt(fmt)
            return orig(**kw)
        from ..views.html_page import explain_html

        try:
            from .common import check_output

            target = check_output(ex["output"])  # before any work
            kb = knowledge()
            cons = _constraints(kw["exclude_source"], kw["route"], kw["clinical_only"], kw["population"])
            adv = advisor.consult(kb, kw["disease"], cons)
            page = explain_html(kb, adv)
            if target is not None:
                write_atomic(target, page)
                typer.echo(f"msc-ev: wrote {ex['output']} ({len(adv.trace)} steps)", err=True)
            else:
                sys.stdout.write(page)
        except AdvisorError as exc:
            fail(exc)

    _extend(app, "explain", [
        _opt("output", Optional[str], typer.Option(None, "--output", "-o", metavar="FILE",
             help="Write the page to FILE (with --format html; - or no -o: standard output).")),
    ], explain_handle, replace={"fmt": (ExplainFmt, new_default)})

    # ---------------------------------------------------------------- diff
    @app.command(cls=Command)
    def diff(
        overlay: str = typer.Argument(..., metavar="OVERLAY_DIR",
                                      help="A directory of YAML to add, as for --kb-extra (evidence, references, weights...)."),
        diseases: Optional[List[str]] = typer.Argument(None, metavar="DISEASE",
                                                       help="Diseases to compare (default: every curated disease)."),
        fmt: DiffFmt = typer.Option(DiffFmt.rich, "--format", "-f", help="Output format."),
        exit_code: bool = typer.Option(False, "--exit-code",
                                       help="Exit 1 when some recommendation changes (as git diff --exit-code)."),
    ):
        """What an overlay changes: every recommendation whose rank or tier moves, and the rule firings that differ."""
        try:
            base = knowledge()
            if not Path(overlay).is_dir():
                from ..advisor.fileio import name_of

                raise UsageError(f"overlay directory not found: {name_of(overlay)}")
            overlaid = advisor.load_cached(state.kb_dir, (*state.kb_extra, overlay))
            entries = whatif.diff(base, overlaid, list(diseases) if diseases else None)
        except AdvisorError as exc:
            fail(exc)
        compared = len(entries)
        changed = whatif.diff_changed(entries)
        if fmt is DiffFmt.json:
            shown = [e for e in entries if e["changes"] or e["firings"]["added"] or e["firings"]["removed"]]
            sys.stdout.write(render.to_json({"overlay": overlay, "compared": compared,
                                             "changed": [e["disease"]["id"] for e in entries if e["changes"]],
                                             "diseases": shown, "disclaimer": advisor.DISCLAIMER}))
        else:
            sys.stdout.write(diff_text(entries, overlay, compared, markdown=fmt is DiffFmt.markdown))
        raise typer.Exit(1 if (exit_code and changed) else 0)


__all__ = ["diff_text", "register", "stability_markdown", "stability_rich", "write_atomic"]
