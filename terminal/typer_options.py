"""Typer's side of the options shared by the commands of app.py, explain_commands.py and batch_command.py.

The options themselves (names, metavars, help) and the checks behind them are declared once in
terminal/common.py, which the fast path of ``cli.main`` reads too; they are re-exported here.
"""

from __future__ import annotations

import typer
from typer.core import TyperArgument, TyperCommand

from . import common as core
from .common import (DISEASE_HELP, EXTENSIONS, Fmt, NoCandidates, Opt, constraints, pick_format,  # noqa: F401
                       require_candidates, resolved)
from .completion import complete_disease, complete_route, complete_source

# -h works wherever --help does (every Typer app and command gets these settings).
CONTEXT = {"help_option_names": ["-h", "--help"]}


class _PlainArgument(TyperArgument):
    """An argument shown by its metavar alone: ``DISEASE`` (required) or ``[ID]`` (optional),
    without Typer's ``{DISEASE}`` braces or a ``<str>`` type tag."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required and not name.startswith("["):
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx):
        shown = super().display_type_rich(ctx)
        return None if shown in ("<str>", "<text>") else shown


class Command(TyperCommand):
    """Every msc-ev command: plain metavars in the usage line and help (DISEASE, FILE, ID)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        for p in self.params:
            if type(p) is TyperArgument:
                p.__class__ = _PlainArgument


def option(spec: Opt, **kw):
    """The Typer option declared by ``spec`` (terminal/common.py), default empty."""
    if spec.kind == "flag":
        return typer.Option(False, *spec.names, help=spec.help, **kw)
    default = [] if spec.kind == "list" else None
    return typer.Option(default, *spec.names, metavar=spec.metavar, help=spec.help, **kw)


EXCLUDE = option(core.EXCLUDE, autocompletion=complete_source)
ROUTE = option(core.ROUTE, autocompletion=complete_route)
CLINICAL = option(core.CLINICAL)
POPULATION = option(core.POPULATION)


def disease_argument(**kw):
    return typer.Argument(..., metavar=core.DISEASE_METAVAR, help=core.DISEASE_HELP,
                          autocompletion=complete_disease, **kw)
