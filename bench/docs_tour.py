"""Regenerate the command outputs shown in README.md and docs/*.md from real runs.

    python bench/docs_tour.py --write          # rewrite every generated block in place
    python bench/docs_tour.py --check          # exit 1, with a diff, where a page is out of date
    python bench/docs_tour.py --write docs/commands.md   # one page

A page marks what it shows with an HTML comment on the line before a fence or a table:

- ``<!-- generated -->`` before a fence: a console session. Each line starting with ``$ `` is a
  command; the lines after it, up to the next ``$ ``, are its output and are rewritten from a real
  run. A command may end with ``| head -N`` or ``| tail -N`` (the page shows ``...`` for the lines
  left out). A command that exits with a code other than 0 is followed by ``$ echo $?`` and the
  code (added when missing), so the page shows how every command exits.
- ``<!-- run -->`` before a fence: commands shown without output. Every line that is not blank
  and not a ``#`` comment is run and must exit 0.
- ``<!-- run -->`` before a table: every inline code span starting with ``msc-ev `` (other than a
  link's text) is run and must exit 0.

Commands run through bash in a scratch directory per page that holds the sample files below, with
``COLUMNS=100``, no colour, ``HOME`` inside the scratch directory (completion scripts and the
``ask`` history land there) and an ``msc-ev`` and a ``python3`` that run this interpreter (so
``msc_ev`` is the package it imports). The blocks of a page run at the same time, each block's
commands in order. Timings (``0.02 s``, ``3 ms``, ``360 rows/s``) and the knowledge directory's
path differ between runs and machines: ``mask`` replaces them, and a page is current when its
masked text equals its masked regenerated text. A path inside this checkout is shown relative to it.
tests/test_docs.py runs every shown command and checks exactly that.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED, RUN = "<!-- generated -->", "<!-- run -->"
TIMEOUT = 120  # seconds for one command
WORKERS = (os.cpu_count() or 1) + 1  # commands at a time: each is mostly a Python start-up

# Sample files the pages use, written into the scratch directory before a page runs.
FILES = {
    "diseases.txt": "# diseases to screen\nperinatal brain injury\nknee OA\nAD\nxyzzy\nglioblastoma\n",
    "my-diseases.txt": "knee osteoarthritis\nglioblastoma\nheart failure\n",
    "broken/e.yaml": ("evidence:\n  - id: x-1\n    source: uc-msc\n    vesicle: exosome\n    species: human\n"
                      "    model: in-silico\n    disease: osteoarthritis\n    route: null\n    engineering: []\n"
                      "    effect: Made up for the docs.\n    direction: supports\n    cites: [\"cai2020:26\"]\n"),
    # a made-up in-vivo study of adipose-MSC exosomes injected into the knee, for `msc-ev diff`
    "my-paper/paper.yaml": (
        "references:\n  - key: newpaper2024\n    authors: Doe J, Roe R\n"
        "    title: A made-up study of adipose MSC exosomes in knee osteoarthritis\n"
        "    journal: Example J\n    year: 2024\n    cited_in: {}\n"
        "evidence:\n  - id: newpaper2024-oa\n    source: ad-msc\n    vesicle: exosome\n    species: human\n"
        "    model: in-vivo\n    disease: knee-osteoarthritis\n    route: intra-articular\n    engineering: []\n"
        "    effect: Made up for the docs.\n    direction: supports\n    cites: [newpaper2024]\n"),
}

_TIMING = re.compile(r"\d[\d,]*(?:\.\d+)?(?=\s?(?:s|ms|µs|rows/s)\b)")
_TRUNC = re.compile(r"\s*\|\s*(head|tail) -(\d+)\s*$")


_KB_PATH = re.compile(r"\((?:/\S*/)?knowledge/")


def mask(text: str) -> str:
    """What may differ between two runs of the same command, masked: a timing's number (``in 0.02 s``
    -> ``in # s``) and where the knowledge files are (``kb show`` names the file of an item)."""
    return _KB_PATH.sub("(.../knowledge/", _TIMING.sub("#", text))


@dataclass
class Block:
    kind: str                  # "generated", "run" or "run-table"
    start: int                 # index of the marker line
    end: int                   # index one past the block's last line
    body: list[str] = field(default_factory=list)  # the lines inside the fence (or the table rows)


def blocks(lines: list[str]) -> list[Block]:
    """The marked blocks of a page (lines without their newlines)."""
    out, i = [], 0
    while i < len(lines):
        marker = lines[i].strip()
        if marker in (GENERATED, RUN):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if nxt.startswith("```"):
                j = i + 2
                while j < len(lines) and not lines[j].startswith("```"):
                    j += 1
                if j == len(lines):
                    raise ValueError(f"line {i + 2}: unclosed fence")
                out.append(Block("generated" if marker == GENERATED else "run", i, j + 1, lines[i + 2:j]))
                i = j + 1
                continue
            if marker == RUN and nxt.startswith("|"):
                j = i + 1
                while j < len(lines) and lines[j].startswith("|"):
                    j += 1
                out.append(Block("run-table", i, j, lines[i + 1:j]))
                i = j
                continue
            raise ValueError(f"line {i + 1}: {marker} is not followed by a fence or a table")
        i += 1
    return out


def fences(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Every fenced block of a page: (index of its opening line, its lines)."""
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append((i, lines[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return out


def session(body: list[str]) -> list[tuple[str, list[str]]]:
    """A console session's (command, shown output lines) pairs."""
    out: list[tuple[str, list[str]]] = []
    for line in body:
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"output before the first command: {line!r}")
    return [(cmd, _trim(shown)) for cmd, shown in out]


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def table_commands(body: list[str]) -> list[str]:
    """The inline ``msc-ev ...`` spans of a table's rows, except link texts (``[`msc-ev why`](...)``)."""
    return [c for row in body for c in re.findall(r"(?<!\[)`(msc-ev [^`]+)`(?!\])", row)]


def run_commands(body: list[str]) -> list[str]:
    return [line.strip() for line in body if line.strip() and not line.lstrip().startswith("#")]


class Scratch:
    """A scratch directory with the sample files and an ``msc-ev`` that runs this interpreter."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="msc-ev-docs-"))
        for name, body in FILES.items():
            (self.dir / name).parent.mkdir(parents=True, exist_ok=True)
            (self.dir / name).write_text(body, encoding="utf-8")
        bindir = self.dir / ".bin"
        bindir.mkdir()
        (bindir / "msc-ev").write_text(
            f"#!/bin/sh\nexec {sys.executable} -c 'from msc_ev.cli import main; main()' \"$@\"\n")
        (bindir / "msc-ev").chmod(0o755)
        (bindir / "python3").write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
        (bindir / "python3").chmod(0o755)
        (self.dir / ".home").mkdir()
        cache = os.environ.get("MSC_EV_CACHE") or str(Path(tempfile.gettempdir()) / "msc-ev-docs-cache")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MSC_EV_NO_", "FORCE_COLOR"))}
        self.env.update(COLUMNS="100", LINES="40", NO_COLOR="1", TERM="dumb", HOME=str(self.dir / ".home"),
                        PYTHONIOENCODING="utf-8", MSC_EV_CACHE=cache,
                        PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
        self.env.pop("COLUMNS_OVERRIDE", None)

    def run(self, cmd: str) -> tuple[list[str], int]:
        """Run one shown command: its output lines (stdout, then stderr) and exit code."""
        m = _TRUNC.search(cmd)
        how, n = (m.group(1), int(m.group(2))) if m else (None, 0)
        if m:
            cmd = cmd[:m.start()]
        proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=self.dir, env=self.env,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        text = (proc.stdout + proc.stderr).replace(f"{ROOT}{os.sep}", "")  # this checkout's paths, relative
        lines = [line.rstrip() for line in text.splitlines()]
        if how == "head" and len(lines) > n:
            lines = lines[:n] + ["..."]
        if how == "tail" and len(lines) > n:
            lines = ["..."] + lines[-n:]
        return _trim(lines), proc.returncode

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class CommandFailed(Exception):
    pass


def _run_block(scratch: Scratch, b: Block, where: str) -> list[str] | None:
    """Run one block: the new lines inside its fence (a generated block), or None (a run block)."""
    if b.kind == "run":  # in order: a line may use what the one before it wrote
        for cmd in run_commands(b.body):
            _must_pass(scratch, cmd, b, where)
        return None
    if b.kind == "run-table":  # independent examples
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(lambda cmd: _must_pass(scratch, cmd, b, where), table_commands(b.body)))
        return None
    body, pairs = [], session(b.body)
    for k, (cmd, _shown) in enumerate(pairs):
        if cmd.strip() == "echo $?":
            continue
        res, code = scratch.run(cmd)
        body.append("\n".join([f"$ {cmd}", *res]))
        follows = pairs[k + 1][0].strip() if k + 1 < len(pairs) else ""
        if code != 0 or follows == "echo $?":
            body.append(f"$ echo $?\n{code}")
    return "\n\n".join(body).split("\n")


def _must_pass(scratch: Scratch, cmd: str, b: Block, where: str) -> None:
    res, code = scratch.run(cmd)
    if code != 0:
        raise CommandFailed(f"{where}:{b.start + 2}: `{cmd}` exited {code}: " + " / ".join(res[-3:]))


def regenerate(text: str, where: str = "page") -> str:
    """The page with every generated block re-run and rewritten; every run block must exit 0.

    The blocks of a page run at the same time, each in order within itself, in one scratch directory
    (so two blocks must not write the same file)."""
    lines = text.split("\n")
    found = blocks(lines)
    scratch = Scratch()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            results = list(pool.map(lambda b: _run_block(scratch, b, where), found))
        out, at = [], 0
        for b, new in zip(found, results):
            out.extend(lines[at:b.start])
            at = b.end
            if new is None:
                out.extend(lines[b.start:b.end])
            else:
                out.extend([lines[b.start], lines[b.start + 1], *new, lines[b.end - 1]])
        out.extend(lines[at:])
        return "\n".join(out)
    finally:
        scratch.close()


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def check(path: Path) -> str:
    """A unified diff of the page against its regenerated text, masked; empty when current."""
    old = path.read_text(encoding="utf-8")
    new = regenerate(old, str(path.relative_to(ROOT)))
    if mask(old) == mask(new):
        return ""
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{path} (shown)",
                                        f"{path} (regenerated)"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the generated blocks in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if a page is out of date")
    ap.add_argument("pages", nargs="*", type=Path, help="pages (default: README.md and docs/*.md)")
    args = ap.parse_args(argv)
    todo = [p.resolve() for p in args.pages] or pages()
    todo = [p for p in todo if blocks(p.read_text(encoding="utf-8").split("\n"))]

    def one(path: Path) -> tuple[Path, str]:
        old = path.read_text(encoding="utf-8")
        try:
            if args.write:
                new = regenerate(old, str(path.relative_to(ROOT)))
                if mask(new) != mask(old):  # keep a page whose only change is a timing
                    path.write_text(new, encoding="utf-8")
                    return path, "rewritten"
                return path, "current"
            diff = check(path)
            return path, diff or "current"
        except CommandFailed as exc:
            return path, f"error: {exc}"

    bad = 0
    for path in todo:  # one page at a time: the blocks of a page run in parallel
        path, what = one(path)
        rel = path.relative_to(ROOT)
        if what in ("current", "rewritten"):
            print(f"{rel}: {what}")
        else:
            bad += 1
            print(f"{rel}: {what}" if what.startswith("error:") else f"{rel}: out of date\n{what}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
