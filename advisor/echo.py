"""The one sanitiser: how text from input or knowledge is echoed (messages) and made inert where
it lands (a terminal, a CSV/TSV cell, a Markdown table, a Mermaid/DOT label, a RIS/BibTeX field).
Its limits are declared with the others in :mod:`advisor.limits` (which re-exports these names);
this module imports nothing from the package, so the error classes can use it too.
"""

from __future__ import annotations

import re

MAX_SHOWN = 60  # characters of a user's value quoted in a message
MAX_ECHO = 200  # characters of any input echoed anywhere


# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text
# (bidirectional overrides and isolates, zero-width characters, line/paragraph separators, BOM).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    if c == 0x0A:
        return "\\n"
    if c == 0x09:
        return "\\t"
    if c == 0x0D:
        return "\\r"
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


_UNSAFE_KEEP_NEWLINES = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))


def inert(text, n: int | None = None, keep_newlines: bool = False) -> str:
    """``text`` made safe to land anywhere (a terminal, a CSV cell, one line of a file format): every
    control character (ESC, newline, tab, C1 controls...) and invisible format character is shown
    escaped (``\\x1b``, ``\\n``, ``\\u202e``); with ``n``, cut to ``n`` characters, its length given;
    ``keep_newlines`` leaves line breaks alone (a terminal page whose layout has already placed them).

    The one sanitiser of the program: renderers of text output, messages and the batch cells call
    it (JSON output does not: JSON escapes control characters itself). Text without such
    characters comes back unchanged.
    """
    if not isinstance(text, str):
        text = str(text)
    cut = ""
    if n is not None and len(text) > n:
        cut = f"... ({len(text):,} characters)"
        text = text[:n]
    pattern = _UNSAFE_KEEP_NEWLINES if keep_newlines else _UNSAFE
    if pattern.search(text) is not None:
        text = pattern.sub(_escape, text)
    return text + cut


def shown(value, n: int = MAX_SHOWN) -> str:
    """``repr`` of ``value`` cut to ``n`` characters (a long value ends with ``...``); ``repr``
    escapes every control and invisible character, so the result is inert (see :func:`inert`).

    Never builds the full repr of a big string or container: strings are cut before ``repr``,
    anything else is described by its type and length.
    """
    n = min(n, MAX_ECHO)
    if isinstance(value, str):
        if len(value) > n:
            return repr(value[:n]) + f"... ({len(value):,} characters)"
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 14_000:
        return f"a number of about {int(value.bit_length() * 0.30103):,} digits"
    if isinstance(value, (bool, int, float)) or value is None:
        r = repr(value)
        return r if len(r) <= n else r[:n] + "..."
    try:
        size = f" of {len(value):,} items"
    except TypeError:
        size = ""
    return f"a {type(value).__name__}{size}"


_HTML_START = re.compile(r"<|&(?=#|[A-Za-z][A-Za-z0-9]*;)")


def markdown_text(text, keep_newlines: bool = False) -> str:
    """``text`` as a Markdown line shows it: :func:`inert`, and HTML made literal (``<`` and the
    ``&`` that starts an entity are written as entities), so neither a tag nor an entity in the
    knowledge or the input reaches a Markdown renderer. Text without them comes back unchanged."""
    s = inert(text, keep_newlines=keep_newlines)
    if "<" in s or "&" in s:
        s = _HTML_START.sub(lambda m: "&lt;" if m.group() == "<" else "&amp;", s)
    return s
