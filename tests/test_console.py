"""`msc-ev ask` as people use it: on a terminal (a pseudo-terminal driven by pexpect:
prompt_toolkit history, editing keys, tab completion, toolbar, numbered choice) and through a pipe
(line by line; every malformed command gets a one-line hint, never a traceback)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.document import Document

from msc_ev import advisor
from msc_ev.terminal import ask as interactive
from msc_ev.terminal.ask_console import AskCompleter, history_path

ROOT = Path(__file__).resolve().parent.parent
CMD = [sys.executable, "-c", "from msc_ev.cli import main; main()"]
CPR = re.escape("\x1b[6n")  # prompt_toolkit asks the terminal where the cursor is; the test answers


@pytest.fixture(scope="module")
def kbc():
    return advisor.load_cached(None, ())


def env_for(tmp_path):
    return dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), TERM="xterm",
                PYTHONPATH=os.environ.get("PYTHONPATH", ""), MSC_EV_CACHE=str(tmp_path / "cache"))


class Terminal:
    def __init__(self, tmp_path, *args):
        self.p = pexpect.spawn(CMD[0], [*CMD[1:], "ask", *args], env=env_for(tmp_path), dimensions=(40, 120),
                               encoding="utf-8", timeout=30)

    def want(self, pattern: str) -> None:
        while self.p.expect([CPR, pattern]) == 0:
            self.p.send("\x1b[10;1R")

    def send(self, keys: str) -> None:
        self.p.send(keys)

    def end(self) -> int:
        self.p.send("\x04")  # Ctrl-D
        self.want("Consultation ended")
        self.p.expect(pexpect.EOF)
        self.p.close()
        return self.p.exitstatus


def test_terminal_completion_toolbar_and_persistent_history(tmp_path):
    t = Terminal(tmp_path)
    t.want(r"Disease\?")
    t.want("no disease yet \\| type a disease name")  # the toolbar before any disease
    t.send("radiation-inj\t")
    t.want("ury")  # Tab completed the disease id...
    t.send("\r")
    t.want(r"Disease: Radiation injury \(radiation-injury, matched by exact\)")  # ...so it matched exactly
    t.want("Constraints")
    t.send("\r")
    t.want("msc-ev>")
    t.want(r"disease: Radiation injury \(radiation-injury\) \| constraints: none")
    t.send("what if excl\t")
    t.want("ude")  # the command completed
    t.send(" UC-MSC\r")
    t.want(r"Constraints now: exclude_sources=\['uc-msc'\]")
    t.want(r"disease: Radiation injury \(radiation-injury\) \| constraints: exclude_sources=uc-msc")
    assert t.end() == 0
    hist = (tmp_path / "data" / "msc-ev" / "history").read_text()
    assert [line for line in hist.splitlines() if line.startswith("+")] == ["+radiation-injury",
                                                                           "+what if exclude UC-MSC"]
    # the next session finds the last command with Up
    t = Terminal(tmp_path, "radiation-injury")
    t.want("msc-ev>")
    t.send("\x1b[A")
    t.want("UC-MSC")
    t.send("\r")
    t.want(r"Constraints now: exclude_sources=\['uc-msc'\]")
    assert t.end() == 0


def test_terminal_numbered_choice_after_an_ambiguous_name(tmp_path):
    t = Terminal(tmp_path, "--no-history")
    t.want(r"Disease\?")
    t.send("AD\r")
    t.want(r"1\. Alzheimer's disease \(alzheimers-disease\)")
    t.want(r"2\. Atopic dermatitis \(atopic-dermatitis\)")
    t.want(r"Which one \(1-2, or a name\)\?")
    t.send("2\r")
    t.want(r"Disease: Atopic dermatitis \(atopic-dermatitis, matched by exact\)")
    assert t.end() == 0
    assert not (tmp_path / "data" / "msc-ev" / "history").exists()  # --no-history wrote nothing


def test_terminal_emacs_and_vi_editing_keys(tmp_path):
    t = Terminal(tmp_path, "--no-history")
    t.want(r"Disease\?")
    t.send("zzzz")
    t.send("\x15")  # Ctrl-U: erase the line (emacs keys)
    t.send("osteoarthritis\r")
    t.want(r"Disease: Osteoarthritis \(osteoarthritis, matched by exact\)")
    assert t.end() == 0
    t = Terminal(tmp_path, "--no-history", "--vi")
    t.want(r"Disease\?")
    t.send("xosteoarthritis")
    t.send("\x1b")  # Esc: vi normal mode
    t.send("0x")  # to the start, delete the stray x
    t.send("\r")
    t.want(r"Disease: Osteoarthritis \(osteoarthritis, matched by exact\)")
    assert t.end() == 0


# ----------------------------------------------------------------------------------- piped


def ask_piped(lines, *args, tmp_path=None):
    proc = subprocess.run([*CMD, "ask", *args], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    return proc


MALFORMED = {
    "why": "usage: why ID, e.g. 'why uc-msc' or 'why IV'",
    "why not": "usage: why not ID, e.g. 'why not es-msc'",
    "cite": "usage: cite N (a number from 'refs'), a reference key or cai2020:76",
    "cite 999": None,  # "No reference 999: 'refs' lists 1 to N."
    "rule": "usage: rule ID, e.g. 'rule sup-source' ('rules' lists them)",
    "rule no-such-rule": None,
    "export": "usage: export bibtex, export ris or export csl-json",
    "export pdf": "usage: export bibtex, export ris or export csl-json",
    "what if": "usage: what if exclude ID | route ID[,ID] | population P | clinical-only | reset",
    "what if frobnicate": "usage: what if exclude ID | route ID[,ID] | population P | clinical-only | reset",
    "what if exclude": "usage: what if exclude ID, e.g. 'what if exclude uc-msc' (a source id or name)",
    "what if exclude nothing-like-it": "unknown source for --exclude-source: 'nothing-like-it'; known: ad-msc, "
                                       "bm-msc, chorion-msc, cp-msc, dental-msc, es-msc, fetal-msc, menstrual-msc, "
                                       "msc, placenta-msc, uc-msc, ucb-msc, wj-msc",
    "what if route": "usage: what if route ID[,ID], e.g. 'what if route IV, intranasal'",
    "what if route nasel": "unknown route for --route: 'nasel'; did you mean: intranasal?",
    "what if population": "usage: what if population P, with P one of neonate, child, adult, elderly, female, male",
    "what if population toddler": "unknown population for --population: 'toddler'; use one of neonate, child, "
                                  "adult, elderly, female, male",
    "frobnicate": "Unknown command: 'frobnicate'. Type 'help' for the list.",
    "reffs": "Unknown command: 'reffs'. Did you mean 'refs'? Type 'help' for the list.",
}


def test_piped_malformed_commands_get_one_line_hints():
    proc = ask_piped(["osteoarthritis", "", *MALFORMED])
    assert proc.returncode == 0 and proc.stderr == ""
    assert "Traceback" not in proc.stdout
    replies = proc.stdout.split("msc-ev> ")[1:]
    assert len(replies) == len(MALFORMED) + 1  # the last prompt meets the end of input
    for (cmd, hint), reply in zip(MALFORMED.items(), replies):
        assert reply.count("\n") == 1, (cmd, reply)
        if hint is not None:
            assert reply == hint + "\n", cmd
    assert replies[list(MALFORMED).index("cite 999")].startswith("No reference 999: 'refs' lists 1 to ")
    assert replies[list(MALFORMED).index("rule no-such-rule")].startswith("unknown rule: 'no-such-rule'")
    assert replies[-1].startswith("\nConsultation ended.")


# Every command `ask` accepts, written out by hand (not read from the code).
EVERY_COMMAND = ["why uc-msc", "why not es-msc", "how", "trace", "sources", "routes", "engineering", "advice",
                 "refs", "cite 1", "export ris", "rule sup-source", "rules", "what if exclude umbilical cord",
                 "what if route IV", "what if population neonate", "what if clinical-only", "what if reset",
                 "help", "new"]


def test_every_command_runs_and_is_in_help():
    for cmd in EVERY_COMMAND:
        first = cmd.split()[0] if not cmd.startswith(("what if", "why not")) else " ".join(cmd.split()[:3 if cmd.startswith("what") else 2])
        assert re.search(rf"^  {re.escape(first)}\b", interactive.HELP, re.M) or \
            (first in ("sources", "routes", "engineering") and "  sources | routes | engineering" in interactive.HELP) or \
            (first == "trace" and "(also: trace)" in interactive.HELP), f"{cmd!r} missing from help"
    proc = ask_piped(["osteoarthritis", "", *EVERY_COMMAND, "osteoarthritis", "", "quit"])
    assert proc.returncode == 0 and proc.stderr == "" and "Traceback" not in proc.stdout
    assert "Unknown command" not in proc.stdout and "usage:" not in proc.stdout
    assert "Why uc-msc for Osteoarthritis?" in proc.stdout
    assert "TY  - JOUR" in proc.stdout
    assert "Constraints now: exclude_sources=['uc-msc']" in proc.stdout
    assert "Constraints now: exclude_sources=['uc-msc'], routes=['intravenous']" in proc.stdout
    assert proc.stdout.rstrip().endswith("of any patient.")


def test_piped_clinical_only_with_nothing_left_says_so():
    proc = ask_piped(["osteoarthritis", "clinical-only", "what if reset", "quit"])
    assert proc.returncode == 0
    assert "No candidate is left under these constraints: try 'what if reset'." in proc.stdout


# ----------------------------------------------------------------------------------- pieces


class _Session:
    def __init__(self, kb, mode, choices=()):
        self.kb, self.mode, self.choices = kb, mode, list(choices)


def complete(kb, mode, text, choices=()):
    comp = AskCompleter(_Session(kb, mode, choices))
    return [c.text for c in comp.get_completions(Document(text), None)]


def test_completions_follow_the_question(kbc):
    assert complete(kbc, "disease", "radiation-inj") == ["radiation-injury"]
    # one completion per spelling: the id stands for the name that differs only in case
    assert complete(kbc, "disease", "osteoa") == ["osteoarthritic joint", "osteoarthritic knee", "osteoarthritis",
                                                  "osteoarthritis of the knee", "osteoarthrosis"]
    assert complete(kbc, "choice", "", [("a", "A"), ("b", "B")]) == ["1", "2"]
    assert complete(kbc, "constraints", "clin") == ["clinical-only"]
    assert complete(kbc, "constraints", "route intrana") == ["intranasal", "Intranasal administration",
                                                             "intranasal delivery", "intranasally"]
    assert complete(kbc, "command", "what if excl") == ["what if exclude"]
    assert complete(kbc, "command", "what if exclude uc-") == ["uc-msc", "UC-MSCs"]
    assert complete(kbc, "command", "what if route IV, intrana")[0] == "intranasal"
    assert complete(kbc, "command", "why not es") == ["es-msc"]
    assert complete(kbc, "command", "export c") == ["csl-json"]
    assert complete(kbc, "command", "rule guard-ca") == ["guard-cancer"]
    assert complete(kbc, "command", "cite thomi2019") == ["thomi2019a", "thomi2019b"]


def test_toolbar_shows_disease_and_constraints(kbc):
    s = interactive.Session(kbc, None)
    assert s.status() == "no disease yet | type a disease name, 'help' or 'quit'"
    s.adv = advisor.consult(kbc, "osteoarthritis", advisor.Constraints(("uc-msc", "wj-msc"), ("intra-articular",)))
    assert s.status() == ("disease: Osteoarthritis (osteoarthritis) | constraints: exclude_sources=uc-msc,wj-msc; "
                          "routes=intra-articular | 'help' lists commands")


def test_history_lives_in_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert history_path() == tmp_path / "msc-ev" / "history"
