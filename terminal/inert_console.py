"""The Rich console every command draws with: text from the input or the knowledge base reaches the
terminal inert. Each text segment goes through the one sanitiser (advisor/echo.py ``inert``,
line breaks kept), after Rich has laid it out and before Rich adds its own styling, so an escape
sequence typed in a disease name or stored in an overlay (``ESC#8``, an OSC title change,
``ESC[2J``) is shown as ``\\x1b#8`` and never interpreted. Rich's own control segments (cursor
moves of a progress bar) are left as they are. A terminal narrower than 80 columns is drawn 80
wide: narrower, Rich would drop whole table columns.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment

from ..advisor.echo import inert


MIN_WIDTH = 80  # narrower, Rich drops whole table columns (the ids): lines wrap instead


class InertConsole(Console):
    """A Rich console whose output is inert, at least :data:`MIN_WIDTH` columns wide (a terminal of
    20 columns, or COLUMNS=1, still gets every column of every table)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        if self.width < MIN_WIDTH:
            self.width = MIN_WIDTH

    def _render_buffer(self, buffer):
        def clean():
            for seg in buffer:
                text, style, control = seg
                if control is None and text:
                    safe = inert(text, keep_newlines=True)
                    if safe is not text:
                        seg = Segment(safe, style, control)
                yield seg

        return super()._render_buffer(clean())


__all__ = ["InertConsole"]
