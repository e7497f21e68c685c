"""``msc-ev ask``: an interactive consultation in the terminal (or driven by piped stdin).

It asks for the disease (suggesting matches), optional constraints, shows the advice, then answers
follow-up questions until quit. Every line is read through an injectable ``read(prompt)``
function (``input`` by default) so tests can script a conversation; EOF (Ctrl-D) and Ctrl-C end
the session cleanly, and an unknown command gets help, not a crash.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from rich.console import Console
from rich.markup import escape

from . import explain as X
from .consult import AXES, DISCLAIMER, POPULATIONS, Advice, Constraints, consult
from .errors import AdvisorError, AmbiguousDisease, UnknownDisease
from .kb import Knowledge
from .render import TITLES, cite_label, print_rich
from .resolve import resolve
from .scoring import words

HELP = """Commands:
  why X              the contributions behind X (a source, route or engineering id) and the arithmetic
  why not X          what X got, and which rules could have supported it and why they did not
  how                the chain of rule firings that produced this advice
  sources | routes | engineering   the full ranking of one axis
  refs               the references behind this advice, numbered
  cite N             the full reference N (a number from 'refs', a key, or cai2020:76)
  rule ID            one rule: conditions and citations
  what if exclude X  re-run without source X and show what moved
  what if route Y    re-run allowing only route Y (add more with commas)
  what if population P   re-run for population P (neonate, child, adult, elderly)
  what if clinical-only  re-run on clinical evidence only
  what if reset      re-run without any constraint
  new                start a new consultation
  help               this list
  quit               end (Ctrl-D and Ctrl-C also end)"""

AXIS_WORDS = {"sources": "sources", "source": "sources", "routes": "routes", "route": "routes",
              "engineering": "engineering"}


class Quit(Exception):
    pass


def parse_constraints(text: str, base: Constraints = Constraints()) -> Constraints:
    """'exclude uc-msc, route intravenous, clinical-only, population neonate' -> Constraints."""
    c = base
    for part in [p.strip() for p in re.split(r"[,;]", text) if p.strip()]:
        words_ = part.split()
        head, rest = words_[0].lower(), words_[1:]
        if head in ("exclude", "exclude-source", "--exclude-source") and rest:
            c = replace(c, exclude_sources=tuple(dict.fromkeys([*c.exclude_sources, *rest])))
        elif head in ("route", "routes", "--route") and rest:
            c = replace(c, routes=tuple(dict.fromkeys([*c.routes, *rest])))
        elif head in ("clinical-only", "--clinical-only", "clinical"):
            c = replace(c, clinical_only=True)
        elif head in ("population", "--population") and len(rest) == 1:
            c = replace(c, population=rest[0].lower())
        elif head in ("none", "no", "-"):
            continue
        else:
            raise ValueError(f"cannot read constraint {part!r}: use exclude X, route Y, clinical-only "
                             f"or population P ({', '.join(POPULATIONS)})")
    return c


class Session:
    def __init__(self, kb: Knowledge, console: Console, read: Callable[[str], str] = input,
                 disease: str | None = None, constraints: Constraints | None = None):
        self.kb = kb
        self.console = console
        self.read = read
        self.start_disease = disease
        self.start_constraints = constraints
        self.adv: Advice | None = None
        self.refs: list[str] = []

    # ---------------------------------------------------------------- io
    def say(self, text: str = "", style: str | None = None) -> None:
        body = escape(text)
        self.console.print(f"[{style}]{body}[/{style}]" if style else body, highlight=False)

    def ask(self, prompt: str) -> str:
        try:
            return self.read(prompt)
        except EOFError:
            raise Quit() from None

    # ---------------------------------------------------------------- flow
    def run(self) -> int:
        self.say("msc-ev consultation: MSC sources, routes and engineering for EV therapy.", "bold")
        self.say(DISCLAIMER, "dim")
        self.say("Type 'help' at any question for the commands; 'quit' or Ctrl-D ends.")
        try:
            self.consultation(self.start_disease, self.start_constraints)
            while True:
                line = self.ask("msc-ev> ").strip()
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
                text = self.ask("Disease? ").strip()
            if not text:
                text = None
                continue
            if text.lower() in ("quit", "exit", "q"):
                raise Quit()
            if text.lower() == "help":
                self.say("Type a disease name, synonym, abbreviation or id, e.g. 'knee osteoarthritis'.")
                text = None
                continue
            try:
                return resolve(self.kb, text)
            except UnknownDisease as exc:
                self.say(f"No disease matches {text!r}.")
                if exc.suggestions:
                    self.say("Did you mean: " + ", ".join(exc.suggestions) + "?")
            except AmbiguousDisease as exc:
                self.say(f"{text!r} could mean:")
                for i, (did, name) in enumerate(exc.candidates, 1):
                    self.say(f"  {i}. {did} ({name})")
                answer = self.ask("Which one (number or name)? ").strip()
                if answer.isdigit() and 1 <= int(answer) <= len(exc.candidates):
                    text = exc.candidates[int(answer) - 1][0]
                    continue
                text = answer or None
                continue
            except AdvisorError as exc:
                self.say(exc.message())
            text = None

    def pick_constraints(self) -> Constraints:
        while True:
            line = self.ask("Constraints (Enter for none; e.g. exclude uc-msc, route intravenous, "
                            "clinical-only, population neonate)? ").strip()
            if line.lower() in ("quit", "exit"):
                raise Quit()
            try:
                c = parse_constraints(line)
                from .consult import check_constraints

                check_constraints(self.kb, c)
                return c
            except ValueError as exc:
                self.say(str(exc))
            except AdvisorError as exc:
                self.say(exc.message())

    def consultation(self, disease: str | None = None, constraints: Constraints | None = None) -> None:
        res = self.pick_disease(disease)
        self.say(f"Disease: {res.name} ({res.id}, matched by {res.matched_by}).")
        cons = constraints if constraints is not None else self.pick_constraints()
        self.adv = consult(self.kb, res.text, cons, resolution=res)
        self.refs = list(self.adv.references)
        print_rich(self.kb, self.adv, self.console, 5)
        self.say("Ask 'why X', 'why not X', 'how', 'what if exclude X', 'help' or 'quit'.")

    # ---------------------------------------------------------------- commands
    def command(self, line: str) -> None:
        low = line.lower().strip()
        words_ = low.split()
        arg = line.strip().split(None, 1)[1] if len(words_) > 1 else ""
        try:
            if low in ("quit", "exit", "q", "bye"):
                raise Quit()
            if low in ("help", "?", "h"):
                self.say(HELP)
            elif low == "new":
                self.consultation()
            elif words_[0] in ("why-not", "whynot") or (words_[0] == "why" and len(words_) > 2 and words_[1] == "not"):
                item = line.split(None, 2)[2] if words_[0] == "why" else arg
                X.why_not_doc(self.kb, self.adv, item.strip()).print(self.console)
            elif words_[0] == "why" and arg:
                X.why_doc(self.kb, self.adv, arg.strip()).print(self.console)
            elif low in ("how", "trace", "explain"):
                X.print_explain(self.kb, self.adv, self.console)
            elif low in AXIS_WORDS:
                self.axis(AXIS_WORDS[low])
            elif low in ("refs", "references"):
                self.list_refs()
            elif words_[0] == "cite" and arg:
                self.cite(arg.strip())
            elif words_[0] == "rule" and arg:
                X.rules_doc(self.kb, arg.strip()).print(self.console)
            elif low.startswith("what if"):
                self.what_if(line.strip()[len("what if"):].strip())
            else:
                self.say(f"Unknown command: {line.strip()!r}.")
                self.say(HELP)
        except AdvisorError as exc:
            self.say(exc.message())

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
        if arg.isdigit():
            n = int(arg)
            if not 1 <= n <= len(self.refs):
                self.say(f"No reference {n}: 'refs' lists 1 to {len(self.refs)}.")
                return
            arg = self.refs[n - 1]
        X.cite_doc(self.kb, arg).print(self.console)

    def what_if(self, text: str) -> None:
        old = self.adv
        c = old.constraints
        t = text.strip()
        if t.lower() in ("reset", "none", "no constraints"):
            new_c = Constraints()
        else:
            m = re.match(r"(?i)(exclude|route|population|clinical-only)\b\s*(.*)$", t)
            if not m:
                self.say("What if what? Try: what if exclude X, what if route Y, what if population P, "
                         "what if clinical-only, what if reset.")
                return
            head, rest = m.group(1).lower(), m.group(2).strip()
            if head == "route":
                new_c = replace(c, routes=tuple(r.strip() for r in rest.split(",") if r.strip()))
            elif head == "exclude":
                new_c = parse_constraints(f"exclude {rest}", c)
            elif head == "population":
                new_c = replace(c, population=rest.lower() or None)
            else:
                new_c = replace(c, clinical_only=True)
        new = consult(self.kb, old.text, new_c, resolution=old.resolution)  # raises UsageError on a bad id
        self.adv = new
        self.refs = list(new.references)
        shown = {k: v for k, v in new_c.as_json().items() if v}
        self.say("Constraints now: " + (", ".join(f"{k}={v}" for k, v in shown.items()) if shown else "none"),
                 "bold")
        for line in diff(old, new):
            self.say(line)


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


def run(kb: Knowledge, console: Console, read: Callable[[str], str] = input, disease: str | None = None,
        constraints: Constraints | None = None) -> int:
    return Session(kb, console, read, disease, constraints).run()
