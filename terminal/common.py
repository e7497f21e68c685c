"""What the msc-ev commands say and do, without Typer or Rich.

- the declarations of the options several commands share (names, metavar, help): the Typer
  commands build their options from them (terminal/typer_options.py) and the fast path of ``cli.main``
  parses with them (terminal/fast_json.py), so each is written once;
- the output format chosen from ``--format`` and ``-o FILE``; the constraint checks; the check that
  something is left to rank;
- the advise pipeline and the writer of ``-o FILE``, called by both the Typer command and the fast
  path, and the one line an error becomes on stderr.

Importing this module is cheap: what it needs from the library it imports when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..advisor.errors import AdvisorError, UsageError

# ------------------------------------------------------------------------------ option declarations


@dataclass(frozen=True)
class Opt:
    """One command-line option. ``kind``: ``value`` (one value; the last given wins), ``list``
    (repeatable, every value kept in order) or ``flag`` (no value)."""

    dest: str  # the parameter name of the Typer command
    names: tuple[str, ...]  # the long name first
    help: str
    metavar: str | None = None
    kind: str = "value"


DISEASE_METAVAR = "DISEASE"
DISEASE_HELP = "Disease name, synonym, abbreviation or id."

# the global options (before the command)
KB = Opt("kb", ("--kb",), "Use this knowledge directory instead of the shipped one.", "DIR")
KB_EXTRA = Opt("kb_extra", ("--kb-extra",), "Overlay your own YAML (evidence, references, weights...) on the "
               "knowledge base; repeatable.", "DIR", "list")

# the options of advise, explain and batch
FORMAT = Opt("fmt", ("--format", "-f"), "rich, json or markdown (default: rich, or from the -o extension).", "FORMAT")
OUTPUT = Opt("output", ("--output", "-o"), "Write to FILE instead of standard output; the format follows its "
             "extension (.json, .md) unless --format is given.", "FILE")
EXCLUDE = Opt("exclude_source", ("--exclude-source",), "Leave this MSC source out (repeatable; id, name or "
              "abbreviation, e.g. UC-MSC).", "ID", "list")
ROUTE = Opt("route", ("--route",), "Consider only these routes (repeatable; id, name or abbreviation, e.g. IV).",
            "ID", "list")
CLINICAL = Opt("clinical_only", ("--clinical-only",), "Use clinical evidence only (trials, case reports).",
               kind="flag")
POPULATION = Opt("population", ("--population",), "Patient population: neonate, child, adult, elderly, female "
                 "or male.", "P")

NO_REUSE = Opt("no_reuse", ("--no-reuse",), "Run the rule engine even when an earlier consultation in this "
               "process had the same facts (the answer is the same; for teaching and benchmarks).", kind="flag")

GLOBAL_OPTIONS = (KB, KB_EXTRA)
# the options of ``advise`` that the fast path reads (every other one goes to Typer)
ADVISE_OPTIONS = (FORMAT, OUTPUT, EXCLUDE, ROUTE, CLINICAL, POPULATION, NO_REUSE)


def no_reuse(flag: bool) -> None:
    """``--no-reuse``: every consultation of this process (and of its batch workers) runs the engine."""
    if flag:
        from ..advisor import reuse

        reuse.turn_off()


class Fmt(str, Enum):
    rich = "rich"
    json = "json"
    markdown = "markdown"


# ------------------------------------------------------------------------ output format from -o

EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv",
              ".md": "markdown", ".markdown": "markdown"}


def pick_format(given: str | None, output: str | None, allowed, default: str) -> str:
    """The output format: ``--format`` if given, else the extension of ``-o FILE``, else ``default``.

    A ``--format`` that contradicts a known extension (``-o out.md --format csv``) is a usage error;
    an extension this command cannot write is one too, unless ``--format`` says what to write.
    """
    allowed = [a.value if isinstance(a, Enum) else a for a in allowed]
    ext = _suffix(output) if output and output != "-" else ""
    implied = EXTENSIONS.get(ext)
    if given is not None:
        if implied and implied != given:
            raise UsageError(f"--format {given} contradicts the extension of {_quoted(output)} ({implied}); "
                             f"drop --format or change the file name")
        return given
    if implied:
        if implied not in allowed:
            raise UsageError(f"cannot write {implied} here ({_quoted(output)}); use --format {'|'.join(allowed)}")
        return implied
    return default


def _quoted(text) -> str:
    from ..advisor.limits import MAX_ECHO, shown

    return shown(text, MAX_ECHO)


def _suffix(path: str) -> str:
    from pathlib import PurePath

    return PurePath(path).suffix.lower()


# ------------------------------------------------------------------------------ constraints


def constraints(exclude_source, route, clinical_only, population):
    """The constraints as typed (resolve them with :func:`resolved` once the knowledge is loaded);
    values over the declared limits (advisor/limits.py) raise LimitError (exit 2)."""
    from ..advisor.consult import Constraints
    from ..advisor.limits import check_constraint_values

    check_constraint_values("--exclude-source", exclude_source)
    check_constraint_values("--route", route)
    check_constraint_values("--population", [population] if population else [])
    return Constraints(tuple(exclude_source), tuple(route), clinical_only, population)


def resolved(kb, c):
    """Ids resolved forgivingly (``IV``, ``UC-MSC``, "umbilical cord") and every value checked."""
    from ..advisor.consult import check_constraints
    from ..advisor.ids import resolve_constraints

    c = resolve_constraints(kb, c)
    check_constraints(kb, c)
    return c


def require_candidates(adv) -> None:
    """advisor.consult.require_candidates: NoCandidates (exit 1) when nothing is left to rank."""
    from ..advisor.consult import require_candidates as check

    check(adv)


def __getattr__(name: str):  # NoCandidates lives in the library; imported only when asked for
    if name == "NoCandidates":
        from ..advisor.consult import NoCandidates

        return NoCandidates
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------ advise


def advise(kb_dir, kb_extra, disease, exclude_source, route, clinical_only, population):
    """``(kb, advice)`` for ``msc-ev advise``; raises AdvisorError (the CLI reports it)."""
    from ..advisor.consult import consult
    from ..advisor.kbcache import load_cached

    kb = load_cached(kb_dir, tuple(kb_extra))
    cons = resolved(kb, constraints(exclude_source, route, clinical_only, population))
    adv = consult(kb, disease, cons)
    require_candidates(adv)
    return kb, adv


def check_output(output: str | None, inputs=()):
    """The checked target of ``-o FILE`` (None for standard output), before any work is done:
    a device, FIFO, directory, read-only file or an input is refused (advisor/fileio.py)."""
    if not output or output == "-":
        return None
    from ..advisor.fileio import check_target

    return check_target(output, inputs)


def write_text(output, text: str) -> None:
    """Write ``text`` to standard output, or atomically to ``output`` (a path, or the target
    :func:`check_output` returned); OutputError (exit 2) if it cannot be written."""
    import sys

    if not output or output == "-":
        sys.stdout.write(text)
        return
    from pathlib import Path

    from ..advisor.fileio import write_file

    write_file(output, text, checked=isinstance(output, Path))


def error_line(exc: AdvisorError) -> str:
    """What an error prints on stderr (one line, or a head line and the problems of a knowledge base)."""
    from .stdio import reported

    reported(exc)
    return f"msc-ev: {exc.message()}"
