"""Options and formats shared by the commands of cli.py, cli_explain.py and cli_batch.py."""

from __future__ import annotations

from enum import Enum

import typer

from .consult import Constraints


class Fmt(str, Enum):
    rich = "rich"
    json = "json"
    markdown = "markdown"


EXCLUDE = typer.Option([], "--exclude-source", metavar="ID", help="Leave this MSC source out (repeatable).")
ROUTE = typer.Option([], "--route", metavar="ID", help="Consider only these routes (repeatable).")
CLINICAL = typer.Option(False, "--clinical-only", help="Use clinical evidence only (trials, case reports).")
POPULATION = typer.Option(None, "--population", metavar="P", help="Patient population: neonate, child, adult or elderly.")


def constraints(exclude_source, route, clinical_only, population) -> Constraints:
    """The run's constraints; values over the declared limits (advisor/limits.py) raise LimitError (exit 2)."""
    from .limits import check_constraint_values

    check_constraint_values("--exclude-source", exclude_source)
    check_constraint_values("--route", route)
    check_constraint_values("--population", [population] if population else [])
    return Constraints(tuple(exclude_source), tuple(route), clinical_only, population)
