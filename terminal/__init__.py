"""The terminal front end: every Typer command, the ``ask`` console, shell completion and the
Rich renderings. Only ``cli.py`` and ``__main__`` import it; it builds on :mod:`msc_ev.views` and
:mod:`msc_ev.advisor`.
"""
