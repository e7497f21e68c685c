"""``msc-ev ask``: an interactive consultation in the terminal (or driven by piped stdin).

It asks for the disease (numbering the candidates of an ambiguous name), optional constraints,
shows the advice, then answers follow-up questions until quit. Every line is read through an
injectable ``read(prompt)`` function so tests can script a conversation: on a terminal that is a
prompt_toolkit prompt (:mod:`msc_ev.terminal.ask_console`: history, editing keys, completion, toolbar), with
piped input the plain ``input``. EOF (Ctrl-D) and Ctrl-C end the session cleanly; a malformed or
unknown command gets a one-line hint, never a traceback.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import replace
from typing import Callable

from ..advisor.consult import AXES, DISCLAIMER, POPULATIONS, Advice, Constraints, consult
from ..advisor.errors import AdvisorError, AmbiguousDisease, UnknownDisease
from ..advisor.kb import Knowledge
from ..views.render import TITLES, cite_label
from ..advisor.resolve import resolve
from ..advisor.scoring import words
from .rich_docs import print_doc
from .rich_how import print_explain

# Every command ``ask`` accepts: (usage, what it does). ``help`` prints exactly this list.
COMMANDS = [
    ("why ID", "the contributions behind ID, and the sums"),
    ("why not ID", "what ID got and which rules could have helped"),
    ("how", "the chain of rule firings (also: trace)"),
    ("sources | routes | engineering", "the full ranking of one axis"),
    ("advice", "the advice again"),
    ("refs", "the references behind this advice, numbered"),
    ("cite N", "reference N from 'refs' (or a key, cai2020:76)"),
    ("export bibtex|ris|csl-json", "those references for a reference manager"),
    ("rule ID", "one rule, its conditions and citations"),
    ("rules", "every rule"),
    ("what if exclude ID", "re-run without source ID; show what moved"),
    ("what if route ID[,ID]", "re-run allowing only these routes"),
    ("what if population P", "re-run for " + "|".join(POPULATIONS)),
    ("what if clinical-only", "re-run on clinical evidence only"),
    ("what if reset", "re-run without any constraint"),
    ("new", "start a new consultation"),
    ("help", "this list (also: ?)"),
    ("quit", "end (also: exit, Ctrl-D, Ctrl-C)"),
]
ID_NOTE = "ID: an id, name or abbreviation (uc-msc, UC-MSC, umbilical cord, IV, i.v.)."
HELP = "Commands:\n" + "\n".join(f"  {u:<31} {d}" for u, d in COMMANDS) + "\n" + ID_NOTE
# The first words a command can start with (for completion and "did you mean").
WORDS = ["why", "why not", "how", "trace", "explain", "sources", "routes", "engineering", "advice", "refs",
         "references", "cite", "export", "rule", "rules", "what if", "what if exclude", "what if route",
         "what if population", "what if clinical-only", "what if reset", "new", "help", "quit", "exit"]
USAGE = {
    "why": "usage: why ID, e.g. 'why uc-msc' or 'why IV'",
    "why not": "usage: why not ID, e.g. 'why not es-msc'",
    "cite": "usage: cite N (a number from 'refs'), a reference key or cai2020:76",
    "rule": "usage: rule ID, e.g. 'rule sup-source' ('rules' lists them)",
    "export": "usage: export bibtex, export ris or export csl-json",
    "what if": "usage: what if exclude ID | route ID[,ID] | population P | clinical-only | reset",
    "what if exclude": "usage: what if exclude ID, e.g. 'what if exclude uc-msc' (a source id or name)",
    "what if route": "usage: what if route ID[,ID], e.g. 'what if route IV, intranasal'",
    "what if population": f"usage: what if population P, with P one of {', '.join(POPULATIONS)}",
}

AXIS_WORDS = {"sources": "sources", "source": "sources", "routes": "routes", "route": "routes",
              "engineering": "engineering"}
CONSTRAINT_HINT = ("use exclude ID, route ID, clinical-only or population P "
                   f"({', '.join(POPULATIONS)}), separated by commas")


def _q(text) -> str:
    """The user's words as an answer quotes them: inert, at most MAX_ECHO characters."""
    from ..advisor.limits import MAX_ECHO, shown

    return shown(text, MAX_ECHO)


class Quit(Exception):
    pass


class Hint(Exception):
    """A one-line hint for a malformed command."""


def parse_constraints(text: str, base: Constraints = Constraints(), kb: Knowledge | None = None) -> Constraints:
    """'exclude uc-msc, route IV, clinical-only, population neonate' -> Constraints.

    With ``kb`` every source and route is resolved forgivingly (``UC-MSC``, ``umbilical cord``,
    ``i.v.``); a part that cannot be read raises ``ValueError`` with a one-line hint."""
    from ..advisor.ids import resolve_id

    c = base
    for part in [p.strip() for p in re.split(r"[,;]", text) if p.strip()]:
        words_ = part.split()
        head, rest = words_[0].lower(), words_[1:]
        if head in ("exclude", "exclude-source", "--exclude-source"):
            if not rest:
                raise ValueError(f"'{head}' needs a source: e.g. exclude uc-msc")
            item = " ".join(rest)
            ids = [resolve_id(kb, "source", item)] if kb is not None else rest
            c = replace(c, exclude_sources=tuple(dict.fromkeys([*c.exclude_sources, *ids])))
        elif head in ("route", "routes", "--route"):
            if not rest:
                raise ValueError(f"'{head}' needs a route: e.g. route intravenous")
            item = " ".join(rest)
            ids = [resolve_id(kb, "route", item)] if kb is not None else rest
            c = replace(c, routes=tuple(dict.fromkeys([*c.routes, *ids])))
        elif head in ("clinical-only", "--clinical-only", "clinical"):
            c = replace(c, clinical_only=True)
        elif head in ("population", "--population"):
            if len(rest) != 1:
                raise ValueError(f"'population' needs one of {', '.join(POPULATIONS)}")
            c = replace(c, population=rest[0].lower())
        elif head in ("none", "no", "-"):
            continue
        else:
            raise ValueError(f"cannot read constraint {_q(part)}: {CONSTRAINT_HINT}")
    return c


def _markup_escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class Session:
    def __init__(self, kb: Knowledge, console, read: Callable[[str], str] = input,
                 disease: str | None = None, constraints: Constraints | None = None):
        self.kb = kb
        self.console = console
        self.read = read
        self.start_disease = disease
        self.start_constraints = constraints
        self.adv: Advice | None = None
        self.refs: list[str] = []
        self.mode = "disease"  # what the current prompt asks for: disease | choice | constraints | command
        self.choices: list[tuple[str, str]] = []

    # ---------------------------------------------------------------- io
    def say(self, text: str = "", style: str | None = None) -> None:
        body = _markup_escape(text)
        self.console.print(f"[{style}]{body}[/{style}]" if style else body, highlight=False)

    def hint(self, text: str) -> None:
        """One line, never wrapped: a hint or an error message."""
        self.console.print(_markup_escape(text), highlight=False, soft_wrap=True)

    def ask(self, prompt: str, mode: str) -> str:
        self.mode = mode
        try:
            return self.read(prompt)
        except EOFError:
            raise Quit() from None

    def status(self) -> str:
        """One line for the toolbar: the current disease and constraints."""
        if self.adv is None:
            return "no disease yet | type a disease name, 'help' or 'quit'"
        res = self.adv.resolution
        c = {k: v for k, v in self.adv.constraints.as_json().items() if v}
        shown = "; ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in c.items()) or "none"
        return f"disease: {res.name} ({res.id}) | constraints: {shown} | 'help' lists commands"

    # ---------------------------------------------------------------- flow
    def run(self) -> int:
        self.say("msc-ev consultation: MSC sources, routes and engineering for EV therapy.", "bold")
        self.say(DISCLAIMER, "dim")
        self.say("Type 'help' at any question for the commands; 'quit' or Ctrl-D ends.")
        try:
            self.consultation(self.start_disease, self.start_constraints)
            while True:
                line = self.ask("msc-ev> ", "command").strip()
                if not line:
                    continue
                self.command(line)
        except (Quit, KeyboardInterrupt):
            self.console.print()
            self.say("Consultation ended. " + DISCLAIMER, "dim")
        return 0

    def pick_disease(self, given: str | None):
        text = given
        while True:
            if text is None:
                text = self.ask("Disease? ", "disease").strip()
            if not text:
                text = None
                continue
            if text.lower() in ("quit", "exit", "q"):
                raise Quit()
            if text.lower() in ("help", "?"):
                self.say("Type a disease name, synonym, abbreviation or id, e.g. 'knee osteoarthritis'; "
                         "Tab completes names.")
                text = None
                continue
            try:
                return resolve(self.kb, text)
            except UnknownDisease as exc:
                self.say(f"No disease matches {_q(text)}.")
                if exc.suggestions:
                    self.say("Did you mean: " + ", ".join(exc.suggestions) + "?")
            except AmbiguousDisease as exc:
                text = self.choose(text, exc.candidates)
                continue
            except AdvisorError as exc:
                self.say(exc.message())
            text = None

    def choose(self, text: str, candidates: list[tuple[str, str]]) -> str | None:
        """Number the candidates; the answer is a number, or a name to look up afresh."""
        self.say(f"{_q(text)} could mean:")
        for i, (did, name) in enumerate(candidates, 1):
            self.say(f"  {i}. {name} ({did})")
        self.choices = candidates
        while True:
            answer = self.ask(f"Which one (1-{len(candidates)}, or a name)? ", "choice").strip()
            if answer.isdigit():
                if 1 <= int(answer) <= len(candidates):
                    return candidates[int(answer) - 1][0]
                self.hint(f"Type a number from 1 to {len(candidates)}, or a name.")
                continue
            return answer or None

    def pick_constraints(self) -> Constraints:
        from ..advisor.consult import check_constraints

        while True:
            line = self.ask("Constraints (Enter for none; e.g. exclude uc-msc, route IV, "
                            "clinical-only, population neonate)? ", "constraints").strip()
            if line.lower() in ("quit", "exit"):
                raise Quit()
            if line.lower() in ("help", "?"):
                self.say(CONSTRAINT_HINT[0].upper() + CONSTRAINT_HINT[1:] + "; Enter for none.")
                continue
            try:
                c = parse_constraints(line, kb=self.kb)
                check_constraints(self.kb, c)
                return c
            except ValueError as exc:
                self.hint(str(exc))
            except AdvisorError as exc:
                self.hint(exc.message())

    def consultation(self, disease: str | None = None, constraints: Constraints | None = None) -> None:
        from .rich_advice import print_rich

        res = self.pick_disease(disease)
        self.say(f"Disease: {res.name} ({res.id}, matched by {res.matched_by}).")
        cons = constraints if constraints is not None else self.pick_constraints()
        self.adv = consult(self.kb, res.text, cons, resolution=res)
        self.refs = list(self.adv.references)
        print_rich(self.kb, self.adv, self.console, 5)
        if not any(self.adv.recs[a] for a in AXES):
            self.say("No candidate is left under these constraints: try 'what if reset'.")
        self.say("Ask 'why X', 'why not X', 'how', 'what if exclude X', 'help' or 'quit'.")

    # ---------------------------------------------------------------- commands
    def command(self, line: str) -> None:
        try:
            self._command(line.strip())
        except Hint as exc:
            self.hint(str(exc))
        except ValueError as exc:  # a constraint that cannot be read
            self.hint(str(exc))
        except AdvisorError as exc:
            self.hint(exc.message().splitlines()[0])
        except (Quit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001  (a session must survive a bug: one line, no traceback)
            self.hint(f"Sorry, that failed ({type(exc).__name__}: {exc}); the session goes on.")

    def _command(self, line: str) -> None:
        from ..views import explain as X
        from ..advisor.ids import resolve_item

        low = " ".join(line.lower().split())
        words_ = low.split()
        head = words_[0]
        rest = line.split(None, 1)[1].strip() if len(words_) > 1 else ""
        if low in ("quit", "exit", "q", "bye"):
            raise Quit()
        if low in ("help", "?", "h"):
            self.say(HELP)
        elif low == "new":
            self.consultation()
        elif head in ("why-not", "whynot") or (head == "why" and len(words_) > 1 and words_[1] == "not"):
            item = (line.split(None, 2)[2] if len(words_) > 2 else "") if head == "why" else rest
            if not item.strip():
                raise Hint(USAGE["why not"])
            print_doc(X.why_not_doc(self.kb, self.adv, resolve_item(self.kb, item.strip())), self.console)
        elif head == "why":
            if not rest:
                raise Hint(USAGE["why"])
            print_doc(X.why_doc(self.kb, self.adv, resolve_item(self.kb, rest)), self.console)
        elif low in ("how", "trace", "explain"):
            print_explain(self.kb, self.adv, self.console)
        elif low in AXIS_WORDS:
            self.axis(AXIS_WORDS[low])
        elif low == "advice":
            from .rich_advice import print_rich

            print_rich(self.kb, self.adv, self.console, 5)
        elif low in ("refs", "references"):
            self.list_refs()
        elif head == "cite":
            if not rest:
                raise Hint(USAGE["cite"])
            self.cite(rest)
        elif head == "export":
            self.export(rest)
        elif low == "rules":
            print_doc(X.rules_doc(self.kb, None), self.console)
        elif head == "rule":
            if not rest:
                raise Hint(USAGE["rule"])
            print_doc(X.rules_doc(self.kb, rest), self.console)
        elif low == "what if" or low.startswith("what if "):
            self.what_if(line.strip()[len("what if"):].strip())
        else:
            close = difflib.get_close_matches(low, WORDS, n=1, cutoff=0.6) or \
                difflib.get_close_matches(head, WORDS, n=1, cutoff=0.6)
            maybe = f" Did you mean '{close[0]}'?" if close else ""
            raise Hint(f"Unknown command: {_q(line)}.{maybe} Type 'help' for the list.")

    def axis(self, axis: str) -> None:
        recs = self.adv.recs[axis]
        self.say(f"{TITLES[axis]} for {self.adv.resolution.name} ({len(recs)}):", "bold")
        if not recs:
            self.say("  no candidates")
        for r in recs:
            self.say(f"  {r.rank}. {r.id} {r.score:.3f} ({words(r.score)}; {r.level or '-'})")
        for x in self.adv.excluded:
            if AXIS_WORDS.get(x["axis"]) == axis:
                self.say(f"  excluded: {x['id']}: {x['reason']}")

    def list_refs(self) -> None:
        self.say(f"References behind this advice ({len(self.refs)}):", "bold")
        for i, k in enumerate(self.refs, 1):
            self.say(f"  {i}. {k}: {cite_label(self.kb, k)}")

    def cite(self, arg: str) -> None:
        from ..views import explain as X

        if arg.isdigit():
            n = int(arg)
            if not 1 <= n <= len(self.refs):
                raise Hint(f"No reference {n}: 'refs' lists 1 to {len(self.refs)}.")
            arg = self.refs[n - 1]
        print_doc(X.cite_doc(self.kb, arg), self.console)

    def export(self, fmt: str) -> None:
        from ..views.citations import FORMATS, export

        fmt = fmt.strip().lower()
        if fmt not in FORMATS:
            raise Hint(USAGE["export"])
        self.console.print(export(self.kb, self.refs, fmt), markup=False, highlight=False, end="")

    def what_if(self, text: str) -> None:
        from ..advisor.consult import check_constraints
        from ..advisor.ids import resolve_id

        old = self.adv
        c = old.constraints
        t = " ".join(text.split())
        if t.lower() in ("reset", "none", "no constraints"):
            new_c = Constraints()
        else:
            m = re.match(r"(?i)(exclude|route|population|clinical-only|clinical)\b\s*(.*)$", t)
            if not m:
                raise Hint(USAGE["what if"])
            head, rest = m.group(1).lower(), m.group(2).strip()
            if head in ("exclude", "route", "population") and not rest:
                raise Hint(USAGE[f"what if {head}"])
            if head == "route":
                new_c = replace(c, routes=tuple(dict.fromkeys(resolve_id(self.kb, "route", r.strip())
                                                              for r in rest.split(",") if r.strip())))
            elif head == "exclude":
                ids = [resolve_id(self.kb, "source", s.strip()) for s in rest.split(",") if s.strip()]
                new_c = replace(c, exclude_sources=tuple(dict.fromkeys([*c.exclude_sources, *ids])))
            elif head == "population":
                new_c = replace(c, population=rest.lower())
            else:
                new_c = replace(c, clinical_only=True)
        check_constraints(self.kb, new_c)
        new = consult(self.kb, old.text, new_c, resolution=old.resolution)
        self.adv = new
        self.refs = list(new.references)
        shown = {k: v for k, v in new_c.as_json().items() if v}
        self.say("Constraints now: " + (", ".join(f"{k}={v}" for k, v in shown.items()) if shown else "none"),
                 "bold")
        for line in diff(old, new):
            self.say(line)
        if not any(new.recs[a] for a in AXES):
            self.say("No candidate is left under these constraints: try 'what if reset'.")


def diff(old: Advice, new: Advice) -> list[str]:
    """What moved between two consultations of the same disease, axis by axis."""
    out = []
    for axis in AXES:
        before = {r.id: r for r in old.recs[axis]}
        after = {r.id: r for r in new.recs[axis]}
        moves = []
        for rid in sorted(set(before) | set(after), key=lambda i: (after[i].rank if i in after else 999, i)):
            a, b = before.get(rid), after.get(rid)
            if a and b and (a.rank, round(a.score, 3)) == (b.rank, round(b.score, 3)):
                continue
            was = f"#{a.rank} {a.score:.3f}" if a else "absent"
            now = f"#{b.rank} {b.score:.3f}" if b else "gone"
            moves.append(f"  {rid}: {was} -> {now}")
        out.append(f"{TITLES[axis]}: " + ("no change" if not moves else f"{len(moves)} moved"))
        out += moves
    return out


def run(kb: Knowledge, console, read: Callable[[str], str] | None = None, disease: str | None = None,
        constraints: Constraints | None = None, *, history: bool = True, vi: bool = False,
        reader=None) -> int:
    """Run a consultation. ``read=None`` picks the reader: ``reader(session, history=, vi=)`` (the
    prompt_toolkit one of :mod:`.ask_console`, passed by the ``ask`` command) when standard input
    and output are a terminal, else plain ``input`` (line by line from a pipe)."""
    session = Session(kb, console, read or input, disease, constraints)
    if read is None and reader is not None and sys.stdin.isatty() and sys.stdout.isatty():
        session.read = reader(session, history=history, vi=vi)
    return session.run()
