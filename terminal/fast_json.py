"""The one-shot JSON advice without Typer: ``msc-ev [--kb DIR] [--kb-extra DIR]... advise DISEASE
--format json [--output FILE] [--exclude-source ID]... [--route ID]... [--clinical-only]
[--population P]`` (``-f``, ``-o`` and ``--name=value`` too; ``-o x.json`` implies the format).

Importing Typer costs more than the advice itself, and this is the command scripts call in a
loop. :func:`run` reads such an argument list with the option declarations of
terminal/common.py, the ones the Typer command is built from, and calls the function the Typer
command calls (:func:`msc_ev.terminal.common.advise`), so stdout, stderr and the exit code are the
same bytes. It answers only what it reads exactly as Click would: for any other command,
option or format, ``-h``, ``--``, a value that is empty or starts with ``-`` (``-`` itself aside),
a missing or second DISEASE, shell completion or ``MSC_EV_NO_FAST`` set, :func:`run` returns None
and Typer decides, so help and usage errors stay Typer's.
"""

from __future__ import annotations

import os
import sys

from .common import ADVISE_OPTIONS, GLOBAL_OPTIONS, Fmt, Opt, error_line, pick_format
from ..advisor.errors import AdvisorError

COMMAND = "advise"


class _NotMine(Exception):
    """The arguments are not a plain JSON advice: Typer reads them."""


def _table(specs: tuple[Opt, ...]) -> dict[str, Opt]:
    return {name: spec for spec in specs for name in spec.names}


def _take(args: list[str], i: int, table: dict[str, Opt], values: dict) -> int:
    """Read the option at ``args[i]`` into ``values``; return the index after it."""
    name, eq, attached = args[i].partition("=") if args[i].startswith("--") else (args[i], "", "")
    spec = table.get(name)
    if spec is None:
        raise _NotMine
    if spec.kind == "flag":
        if eq:
            raise _NotMine
        values[spec.dest] = True
        return i + 1
    if eq:
        value, after = attached, i + 1
    elif i + 1 < len(args):
        value, after = args[i + 1], i + 2
    else:
        raise _NotMine
    if not value or (value.startswith("-") and value != "-"):
        raise _NotMine
    if spec.kind == "list":
        values.setdefault(spec.dest, []).append(value)
    else:
        values[spec.dest] = value
    return after


def _split(args: list[str]) -> tuple[dict, dict, list[str]]:
    """(global options, advise options, positional arguments); _NotMine for anything else."""
    glob: dict = {}
    table = _table(GLOBAL_OPTIONS)
    i = 0
    while i < len(args) and args[i] != COMMAND:
        if not args[i].startswith("-"):
            raise _NotMine  # another command
        i = _take(args, i, table, glob)
    if i == len(args):
        raise _NotMine
    opts: dict = {}
    positional: list[str] = []
    table = _table(ADVISE_OPTIONS)
    i += 1
    while i < len(args):
        if args[i].startswith("-"):
            i = _take(args, i, table, opts)
        else:
            positional.append(args[i])
            i += 1
    return glob, opts, positional


def parse(args: list[str]) -> dict | None:
    """The keyword arguments of :func:`msc_ev.terminal.common.advise` plus ``output``, or None."""
    if os.environ.get("MSC_EV_NO_FAST") or os.environ.get("_MSC_EV_COMPLETE"):
        return None
    try:
        glob, opts, positional = _split(list(args))
    except _NotMine:
        return None
    if len(positional) != 1:
        return None
    try:
        chosen = pick_format(opts.get("fmt"), opts.get("output"), list(Fmt), "rich")
    except AdvisorError:
        return None  # the Typer command reports it
    if chosen != "json":
        return None
    return {"kb_dir": glob.get("kb"), "kb_extra": tuple(glob.get("kb_extra", ())), "disease": positional[0],
            "exclude_source": opts.get("exclude_source", []), "route": opts.get("route", []),
            "clinical_only": opts.get("clinical_only", False), "population": opts.get("population"),
            "output": opts.get("output"), "no_reuse": opts.get("no_reuse", False)}


def run(args: list[str]) -> int | None:
    """Answer ``args`` if they ask for the plain JSON advice: the exit code; else None."""
    call = parse(args)
    if call is None:
        return None
    try:
        return _advise(call)
    except EOFError:  # as Typer's main does (typer/core.py _main)
        sys.stderr.write("\nAborted!\n")
        return 1
    except KeyboardInterrupt:
        return 130


def _advise(call: dict) -> int:
    from ..views import render
    from .common import advise, check_output, no_reuse, write_text

    output = call.pop("output")
    no_reuse(call.pop("no_reuse"))
    try:
        target = check_output(output)  # before any work: a device, FIFO or read-only file is refused
        _kb, adv = advise(**call)
        write_text(target, render.to_json(adv.as_json()))
    except AdvisorError as exc:
        _say(error_line(exc))
        return exc.exit_code
    return 0


def _say(line: str) -> None:
    """``typer.echo(line, err=True)``: the same bytes, without importing Typer for plain text."""
    if line.isascii() and "\x1b" not in line:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
        return
    import typer  # non-ASCII or escape sequences: echo's own encoding and stripping rules

    typer.echo(line, err=True)
