"""The terminal front end of ``msc-ev ask`` (prompt_toolkit).

- history kept across sessions in the user data directory (``history`` there; off with
  ``--no-history``), searchable with Ctrl-R;
- emacs editing keys, or vi keys with ``--vi``;
- Tab completes what the current question wants: disease names, synonyms and ids at "Disease?",
  candidate numbers after an ambiguous name, ``exclude``/``route`` ids at "Constraints?", and at
  ``msc-ev>`` the commands, then source, route and engineering ids, reference keys or rule ids;
- a bottom toolbar with the current disease and constraints.

Imported only when ``ask`` runs on a terminal.
"""

from __future__ import annotations

import os
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.enums import EditingMode
from prompt_toolkit.history import FileHistory, InMemoryHistory

from ..advisor import ids as I
from ..advisor.consult import POPULATIONS
from .ask import WORDS


def history_path() -> Path:
    """``<user data dir>/msc-ev/history`` (e.g. ~/.local/share/msc-ev/history on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("msc-ev", appauthor=False)) / "history"


def _pool(ids, labels) -> list[str]:
    """Ids first, then names and synonyms that differ from everything before them in more than
    case, sorted: one completion per spelling, in a fixed order."""
    seen: dict[str, str] = {}
    for text in [*sorted(ids), *sorted(labels, key=lambda x: (x.lower(), x))]:
        seen.setdefault(text.lower(), text)
    return sorted(seen.values(), key=lambda x: (x.lower(), x))


def _disease_labels(kb) -> list[str]:
    labels = [x for d in kb.diseases.values()
              for x in (d["name"], *(d.get("synonyms") or ()), *(d.get("abbreviations") or ()))]
    return _pool(kb.diseases, labels)


class AskCompleter(Completer):
    """Completions for the question the session is asking now (``session.mode``)."""

    def __init__(self, session):
        self.session = session
        kb = session.kb
        self.pools = {
            "disease": _disease_labels(kb),
            "source": _pool(kb.sources, I.labels(kb, "source")),
            "route": _pool(kb.routes, I.labels(kb, "route")),
            "item": sorted({*kb.sources, *kb.routes, *kb.engineering}),
            "reference": sorted(kb.references),
            "population": list(POPULATIONS),
            "export": ["bibtex", "ris", "csl-json"],
        }

    def _rules(self) -> list[str]:
        from ..rules import RULES

        return sorted(RULES)

    def _context(self, text: str) -> tuple[list[str], str]:
        """(pool, the word being completed) for the text before the cursor."""
        mode = self.session.mode
        if mode == "disease":
            return self.pools["disease"], text.lstrip()
        if mode == "choice":
            return [str(i) for i in range(1, len(self.session.choices) + 1)], text.strip()
        if mode == "constraints":
            part = text.split(",")[-1].lstrip()
            w = part.split(None, 1)
            if len(w) == 2 or part.endswith(" "):
                key = w[0].lower()
                arg = w[1] if len(w) == 2 else ""
                pool = {"exclude": "source", "route": "route", "population": "population"}.get(key)
                return (self.pools[pool], arg) if pool else ([], "")
            return ["exclude", "route", "clinical-only", "population"], part
        low = text.lower().lstrip()
        for prefix, pool in (("what if exclude ", "source"), ("what if route ", "route"),
                             ("what if population ", "population"), ("why not ", "item"), ("why ", "item"),
                             ("cite ", "reference"), ("export ", "export")):
            if low.startswith(prefix):
                arg = text.lstrip()[len(prefix):]
                if pool == "route":
                    arg = arg.split(",")[-1].lstrip()
                if prefix == "why " and "not".startswith(arg.lower()) and arg:
                    return ["not", *self.pools["item"]], arg
                return self.pools[pool], arg
        if low.startswith("rule "):
            return self._rules(), text.lstrip()[5:]
        return WORDS, text.lstrip()

    def get_completions(self, document, complete_event):
        pool, word = self._context(document.text_before_cursor)
        lw = word.lower()
        for label in pool:
            if label.lower().startswith(lw):
                yield Completion(label, start_position=-len(word))


def terminal_reader(session, *, history: bool = True, vi: bool = False):
    """A ``read(prompt)`` for :class:`~msc_ev.terminal.ask.Session` backed by prompt_toolkit."""
    if history:
        path = history_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            hist = FileHistory(os.fspath(path))
        except OSError:
            hist = InMemoryHistory()
    else:
        hist = InMemoryHistory()
    ps = PromptSession(
        history=hist,
        completer=AskCompleter(session),
        complete_while_typing=False,
        editing_mode=EditingMode.VI if vi else EditingMode.EMACS,
        bottom_toolbar=lambda: session.status(),
        enable_history_search=False,
    )

    def read(prompt: str) -> str:
        return ps.prompt(prompt)

    read.prompt_session = ps  # for tests and introspection
    return read
