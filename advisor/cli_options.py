"""Options, formats and checks shared by the commands of cli.py, cli_explain.py and cli_batch.py."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from typer.core import TyperArgument, TyperCommand

from .completion import complete_disease, complete_route, complete_source
from .consult import Constraints
from .errors import AdvisorError, UsageError

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


class Fmt(str, Enum):
    rich = "rich"
    json = "json"
    markdown = "markdown"


DISEASE_HELP = "Disease name, synonym, abbreviation or id."
EXCLUDE = typer.Option([], "--exclude-source", metavar="ID", autocompletion=complete_source,
                       help="Leave this MSC source out (repeatable; id, name or abbreviation, e.g. UC-MSC).")
ROUTE = typer.Option([], "--route", metavar="ID", autocompletion=complete_route,
                     help="Consider only these routes (repeatable; id, name or abbreviation, e.g. IV).")
CLINICAL = typer.Option(False, "--clinical-only", help="Use clinical evidence only (trials, case reports).")
POPULATION = typer.Option(None, "--population", metavar="P", help="Patient population: neonate, child, adult, elderly, female or male.")


def disease_argument(**kw):
    return typer.Argument(..., metavar="DISEASE", help=DISEASE_HELP, autocompletion=complete_disease, **kw)


def constraints(exclude_source, route, clinical_only, population) -> Constraints:
    """The constraints as typed (resolve them with :func:`resolved` once the knowledge is loaded);
    values over the declared limits (advisor/limits.py) raise LimitError (exit 2)."""
    from .limits import check_constraint_values

    check_constraint_values("--exclude-source", exclude_source)
    check_constraint_values("--route", route)
    check_constraint_values("--population", [population] if population else [])
    return Constraints(tuple(exclude_source), tuple(route), clinical_only, population)


def resolved(kb, c: Constraints) -> Constraints:
    """Ids resolved forgivingly (``IV``, ``UC-MSC``, "umbilical cord") and every value checked."""
    from .consult import check_constraints
    from .ids import resolve_constraints

    c = resolve_constraints(kb, c)
    check_constraints(kb, c)
    return c


# ------------------------------------------------------------------------ output format from -o

EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv",
              ".md": "markdown", ".markdown": "markdown"}


def pick_format(given: str | None, output: str | None, allowed, default: str) -> str:
    """The output format: ``--format`` if given, else the extension of ``-o FILE``, else ``default``.

    A ``--format`` that contradicts a known extension (``-o out.md --format csv``) is a usage error;
    an extension this command cannot write is one too, unless ``--format`` says what to write.
    """
    allowed = [a.value if isinstance(a, Enum) else a for a in allowed]
    ext = Path(output).suffix.lower() if output and output != "-" else ""
    implied = EXTENSIONS.get(ext)
    if given is not None:
        if implied and implied != given:
            raise UsageError(f"--format {given} contradicts the extension of {output!r} ({implied}); "
                             f"drop --format or change the file name")
        return given
    if implied:
        if implied not in allowed:
            raise UsageError(f"cannot write {implied} here ({output!r}); use --format {'|'.join(allowed)}")
        return implied
    return default


# ------------------------------------------------------------------------ nothing left to rank


class NoCandidates(AdvisorError):
    """Understood, but the constraints leave nothing to rank (exit 1)."""

    exit_code = 1


def require_candidates(adv) -> None:
    """Raise :class:`NoCandidates` when the constraints leave no candidate on any axis."""
    if any(adv.recs[a] for a in ("sources", "routes", "engineering")):
        return
    c = adv.constraints
    why = []
    if c.clinical_only:
        why.append("--clinical-only (no clinical study, trial or case report in the knowledge base)")
    if c.routes:
        why.append("--route " + ", ".join(c.routes))
    if c.exclude_sources:
        why.append("--exclude-source " + ", ".join(c.exclude_sources))
    if c.population:
        why.append(f"--population {c.population}")
    because = " with " + " and ".join(why) if why else ""
    raise NoCandidates(f"no candidate left for {adv.resolution.name} ({adv.resolution.id}){because}; "
                       f"nothing to rank")
