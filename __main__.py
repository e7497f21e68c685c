"""``python -m msc_ev``: the same as the ``msc-ev`` command."""

from msc_ev.cli import main

main()
