"""msc-ev: the command line (entry point ``msc_ev.cli:main``).

The commands are a thin Typer layer over the library ``advisor``, in terminal/app.py. Importing Typer (and
the pydantic it brings) costs more than a whole one-shot advice, so :func:`main` first offers the
arguments to terminal/fast_json.py: the plain JSON advice (``msc-ev advise DISEASE --format json``,
with the options listed there) is answered without Typer, with the bytes, messages and exit codes
the Typer command gives. Everything else (help, completion, any other command, format or option,
anything the fast path does not read exactly as Click would) goes to the Typer app, imported
only then. Set ``MSC_EV_NO_FAST=1`` to send every run to Typer.

The names of the Typer layer (``app``, ``STATE``, ``knowledge``, ``fail``, ...) are reachable
from here, e.g. ``from msc_ev.cli import app``: each is looked up in terminal/app.py on first use.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:  # console-script entry point
    """Run msc-ev on ``argv`` (default: the process's arguments); exits with the contract's code.

    Standard output is guarded first (terminal/stdio.py): a closed, full or broken standard output
    is one line on standard error and exit 2, never a traceback."""
    import gc

    gc.disable()  # a one-shot answer: every object lives until exit; collecting would only walk them
    from .terminal import stdio

    stdio.install()
    try:
        code = _run(argv)
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # an AdvisorError no command caught (e.g. standard output failing)
        from .advisor.errors import AdvisorError

        if not isinstance(exc, AdvisorError):
            raise
        from .terminal.common import error_line

        sys.stderr.write(error_line(exc) + "\n")
        code = exc.exit_code
    sys.exit(stdio.finish(code))


def _run(argv):
    from .terminal import fast_json

    code = fast_json.run(sys.argv[1:] if argv is None else argv)
    if code is not None:
        return code
    import gc

    gc.enable()
    from .terminal.app import app

    app(args=argv, prog_name="msc-ev")
    return 0


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .terminal import app as _app

    try:
        return getattr(_app, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


if __name__ == "__main__":  # pragma: no cover
    main()
