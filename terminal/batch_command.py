"""`msc-ev batch INPUT`: score a list of diseases in one run (the library is :mod:`advisor.batch`)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import List, Optional

import typer

from .common import NO_REUSE, no_reuse as core_no_reuse
from .typer_options import CLINICAL, POPULATION, ROUTE, Command, constraints, option, pick_format, resolved
from .completion import complete_source
from ..advisor.errors import AdvisorError


class OutFmt(str, Enum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"


class InFmt(str, Enum):
    text = "text"
    csv = "csv"
    tsv = "tsv"
    yaml = "yaml"
    json = "json"


def register(app, knowledge, fail, out):
    @app.command(cls=Command)
    def batch(
        input: str = typer.Argument(..., metavar="FILE",
                                    help=("Diseases to score: a text file (one a line, # comments), CSV/TSV with a "
                                          "'disease' column, a YAML or JSON list, or - for standard input.")),
        fmt: Optional[OutFmt] = typer.Option(None, "--format", "-f", metavar="FORMAT",
                                             help="csv, tsv, json, jsonl or markdown (default: from the extension "
                                                  "of -o FILE, else csv)."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write to FILE (atomically; rows are journalled to FILE.part "
                                                  "while the run goes on) instead of standard output."),
        top: int = typer.Option(3, "--top", metavar="N", min=0, help="Sources, routes and engineering options per row (0: all)."),
        jobs: int = typer.Option(1, "--jobs", "-j", metavar="N", min=1,
                                 help="Worker processes (at most the cores present and the rows to score); the output is "
                                      "identical whatever the number."),
        resume: bool = typer.Option(False, "--resume",
                                    help="Skip the rows already in the journal FILE.part of an interrupted run (started with the "
                                         "same options and knowledge, or refused)."),
        input_format: Optional[InFmt] = typer.Option(None, "--input-format", metavar="FORMAT",
                                                     help="text, csv, tsv, yaml or json; default: from the "
                                                          "extension (standard input: text)."),
        exclude_source: List[str] = typer.Option([], "--exclude-source", metavar="ID", autocompletion=complete_source,
                                                 help="Leave this MSC source out of every row (repeatable)."),
        route: List[str] = ROUTE,
        clinical_only: bool = CLINICAL,
        population: Optional[str] = POPULATION,
        stability: int = typer.Option(0, "--stability", metavar="N", min=0, max=100_000,
                                      help="Add a stability column: how often each axis' #1 stays #1 under N "
                                           "seeded perturbations of the weights (0: off; advise --stability "
                                           "uses 200)."),
        seed: int = typer.Option(0, "--seed", metavar="N", help="Seed of the --stability perturbations."),
        no_reuse: bool = option(NO_REUSE),
    ):
        """Score a list of diseases in FILE: one output row per input row, in input order.

        CSV/TSV columns (or mapping keys) exclude_source, route, clinical_only and population set
        constraints for their row; other columns are carried through. Exit 0 when every row is ok,
        1 when any row is unknown, ambiguous or an error, 2 on usage errors. A summary goes to
        standard error.
        """
        from ..advisor import batch as B
        from ..advisor.batch_pool import PoolError

        core_no_reuse(no_reuse)  # set before the workers start: they read it from the environment
        pool = None
        try:
            chosen = pick_format(fmt.value if fmt else None, output, list(OutFmt), "csv")
            if output and output != "-":
                B.check_output(output, (input,))  # before the input is read: never the input itself
            else:
                output = None
            kb = knowledge()
            base = resolved(kb, constraints(exclude_source, route, clinical_only, population))
            pool = B.start_pool(kb, jobs) if jobs > 1 else None  # they start while the input is read
            items, carried = B.read_input(input, input_format.value if input_format else None)
            outcome = B.run(kb, items, carried, base=base, top=top, jobs=jobs, fmt=chosen, output=output,
                            resume=resume, progress=sys.stderr.isatty(),
                            stability=(stability, seed) if stability else None,
                            notice=lambda m: typer.echo(f"msc-ev: {m}", err=True), pool=pool, inputs=(input,))
            pool = None  # run closed it
        except AdvisorError as exc:
            if pool is not None:
                pool.close()
            fail(exc)
        except PoolError as exc:
            if pool is not None:
                pool.close()
            typer.echo(f"msc-ev: {exc}", err=True)
            raise typer.Exit(2)
        except KeyboardInterrupt as exc:
            if pool is not None:
                pool.close()
            code = getattr(exc, "exit_code", 130)
            what = "terminated" if code == 143 else "interrupted"
            where = f"; finished rows are in {B.journal_path(output)}: run again with --resume" if output else ""
            typer.echo(f"msc-ev: {what}{where}", err=True)
            raise typer.Exit(code)
        typer.echo(B.summary_line(outcome.counts, outcome.elapsed, outcome.resumed), err=True)
        raise typer.Exit(1 if outcome.failed else 0)

    return batch
