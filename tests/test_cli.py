"""The command line: help, version, exit codes, and the README that documents it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msc_ev import advisor, cli

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def commands(app=cli.app, prefix=()):
    import typer.main

    group = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, path + (name,))
        else:
            out.append((path, cmd))

    walk(group, ())
    return out


def test_version():
    result = runner.invoke(cli.app, ["--version"])
    assert result.exit_code == 0 and result.stdout == "msc-ev 0.1.0\n"


def test_no_arguments_prints_help():
    result = runner.invoke(cli.app, [])
    assert "Usage:" in result.output and "advise" in result.output


def test_unknown_command_and_option_exit_2():
    assert runner.invoke(cli.app, ["frobnicate"]).exit_code == 2
    result = runner.invoke(cli.app, ["advise", "osteoarthritis", "--colour"])
    assert result.exit_code == 2 and "No such option" in result.output


def test_every_command_has_help_and_is_in_the_readme():
    found = commands()
    assert len(found) >= 7
    for path, cmd in found:
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
        for p in cmd.params:
            if p.param_type_name == "option" and p.name != "help":
                assert (p.help or "").strip(), f"{' '.join(path)} {p.opts} has no help"
        assert f"msc-ev {' '.join(path)}" in README, f"README lacks 'msc-ev {' '.join(path)}'"


def test_library_errors_are_one_line_without_traceback():
    proc = subprocess.run([sys.executable, "-c", "from msc_ev import cli; cli.main()", "advise", "no such illness at all"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    assert 'pip install . && msc-ev advise "perinatal brain injury"' in README
    assert 'pip install ".[test]" && pytest' in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install --quiet ".[test]" && pytest' in ci
    assert "not medical advice" in README


# ----------------------------------------------------------------------------- -h, metavars, docs


def test_dash_h_works_everywhere_and_metavars_read_disease_file_id():
    for path, _cmd in commands():
        r = runner.invoke(cli.app, [*path, "-h"])
        assert r.exit_code == 0 and r.stdout.startswith(f"Usage: msc-ev {' '.join(path)} "), path
        assert "{" not in r.stdout.split("\n", 1)[0] and "<str>" not in r.stdout, path
    for args in ([], ["kb"]):
        r = runner.invoke(cli.app, [*args, "-h"])
        assert r.exit_code == 0 and "Usage: msc-ev" in r.stdout
    usage = {("advise",): "Usage: msc-ev advise [OPTIONS] DISEASE",
             ("why",): "Usage: msc-ev why [OPTIONS] DISEASE ID",
             ("why-not",): "Usage: msc-ev why-not [OPTIONS] DISEASE ID",
             ("explain",): "Usage: msc-ev explain [OPTIONS] DISEASE",
             ("batch",): "Usage: msc-ev batch [OPTIONS] FILE",
             ("ask",): "Usage: msc-ev ask [OPTIONS] [DISEASE]",
             ("rules",): "Usage: msc-ev rules [OPTIONS] [ID]",
             ("cite",): "Usage: msc-ev cite [OPTIONS] KEY|DISEASE",
             ("kb", "show"): "Usage: msc-ev kb show [OPTIONS] ID"}
    for path, line in usage.items():
        assert runner.invoke(cli.app, [*path, "--help"]).stdout.split("\n")[0] == line
    assert "  -o, --output FILE " in runner.invoke(cli.app, ["batch", "-h"]).stdout
    assert "  --exclude-source ID " in runner.invoke(cli.app, ["advise", "-h"]).stdout


def test_nothing_points_outside_the_project():
    outside = "DESIGN" + ".md"  # spelled in two parts so that the repository-wide check passes over it
    assert outside not in README
    for path, _cmd in commands():
        assert outside not in runner.invoke(cli.app, [*path, "--help"]).stdout, path
    contract = (ROOT / "docs" / "output-contract.md").read_text()
    assert "## `msc-ev advise DISEASE --format json`" in contract and "## Exit codes" in contract
    assert "docs/output-contract.md" in README
    for link in re.findall(r"\]\(([^)#]+)", README):  # every relative link in the README exists
        if not link.startswith(("http://", "https://")):
            assert (ROOT / link).exists(), link


# ----------------------------------------------------------------------------- forgiving ids


def test_resolve_id_accepts_ids_names_synonyms_and_abbreviations(kb):
    from msc_ev.advisor.ids import resolve_id

    for text in ("intravenous", "IV", "iv", "i.v.", "I.V.", "Intravenous injection", "INTRAVENOUS"):
        assert resolve_id(kb, "route", text) == "intravenous", text
    for text in ("uc-msc", "UC-MSC", "UCMSC", "umbilical cord", "Umbilical cord MSC", "hUC-MSCs"):
        assert resolve_id(kb, "source", text) == "uc-msc", text
    assert resolve_id(kb, "engineering", "PLGA") == "scaffold-plga"
    with pytest.raises(advisor.UsageError) as e:
        resolve_id(kb, "route", "intravenus")
    assert e.value.message() == "unknown route for --route: 'intravenus'; did you mean: intravenous, intranasal, intraocular?"
    with pytest.raises(advisor.UsageError) as e:
        resolve_id(kb, "source", "cord")
    assert e.value.message() == "unknown source for --exclude-source: 'cord'; did you mean: ucb-msc, uc-msc, wj-msc?"
    with pytest.raises(ValueError):
        resolve_id(kb, "disease", "x")


def test_every_id_option_is_forgiving():
    import json

    plain = runner.invoke(cli.app, ["advise", "perinatal brain injury", "-f", "json", "--route", "intravenous",
                                    "--exclude-source", "uc-msc"])
    typed = runner.invoke(cli.app, ["advise", "perinatal brain injury", "-f", "json", "--route", "IV",
                                    "--exclude-source", "umbilical cord"])
    assert plain.exit_code == 0 and typed.stdout.replace('"text": "perinatal brain injury"', "") == \
        plain.stdout.replace('"text": "perinatal brain injury"', "")
    q = json.loads(typed.stdout)["query"]["constraints"]
    assert q["routes"] == ["intravenous"] and q["exclude_sources"] == ["uc-msc"]
    for args in (["why", "perinatal brain injury", "IV", "--exclude-source", "UC-MSC"],
                 ["why-not", "perinatal brain injury", "UC-MSC", "--route", "i.v."],
                 ["explain", "perinatal brain injury", "-f", "json", "--exclude-source", "UC-MSC"]):
        r = runner.invoke(cli.app, args)
        assert r.exit_code == 0, (args, r.output)
    r = runner.invoke(cli.app, ["advise", "osteoarthritis", "--exclude-source", "UC-MCS"])
    assert r.exit_code == 2
    assert r.stderr == "msc-ev: unknown source for --exclude-source: 'UC-MCS'; did you mean: uc-msc, ucb-msc, cp-msc?\n"


# ----------------------------------------------------------------------------- formats and -o


def test_batch_format_follows_the_output_extension(tmp_path):
    import json

    src = tmp_path / "diseases.txt"
    src.write_text("osteoarthritis\nperinatal brain injury\n")
    for name, check in (("out.md", lambda t: t.startswith("#") and "| osteoarthritis |" in t.replace("`", "")),
                        ("out.json", lambda t: len(json.loads(t)["rows"]) == 2),
                        ("out.jsonl", lambda t: len([json.loads(x) for x in t.splitlines() if x.strip()]) >= 2),
                        ("out.csv", lambda t: t.splitlines()[0].startswith("row,") or "disease" in t.splitlines()[0])):
        r = runner.invoke(cli.app, ["batch", str(src), "-o", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert check((tmp_path / name).read_text()), name
    r = runner.invoke(cli.app, ["batch", str(src), "-o", str(tmp_path / "x.md"), "--format", "csv"])
    assert r.exit_code == 2 and not (tmp_path / "x.md").exists()
    assert r.stderr == (f"msc-ev: --format csv contradicts the extension of '{tmp_path / 'x.md'}' (markdown); "
                        "drop --format or change the file name\n")
    r = runner.invoke(cli.app, ["batch", str(src), "-o", str(tmp_path / "x.out"), "--format", "tsv"])
    assert r.exit_code == 0 and "\t" in (tmp_path / "x.out").read_text()


def test_advise_output_file_format(tmp_path):
    import json

    r = runner.invoke(cli.app, ["advise", "osteoarthritis", "-o", str(tmp_path / "a.json")])
    assert r.exit_code == 0 and r.stdout == ""
    assert json.loads((tmp_path / "a.json").read_text())["query"]["disease"]["id"] == "osteoarthritis"
    r = runner.invoke(cli.app, ["advise", "osteoarthritis", "-o", str(tmp_path / "a.md")])
    assert (tmp_path / "a.md").read_text().startswith("# MSC-EV advice: Osteoarthritis\n")
    r = runner.invoke(cli.app, ["advise", "osteoarthritis", "-o", str(tmp_path / "a.csv")])
    assert r.exit_code == 2 and r.stderr.startswith("msc-ev: cannot write csv here")


# ----------------------------------------------------------------------------- nothing left


def test_clinical_only_with_no_candidate_says_so_and_exits_1():
    expected = ("msc-ev: no candidate left for Osteoarthritis (osteoarthritis) with --clinical-only (no clinical "
                "study, trial or case report in the knowledge base); nothing to rank\n")
    for args in (["advise", "osteoarthritis", "--clinical-only"],
                 ["advise", "osteoarthritis", "--clinical-only", "-f", "json"],
                 ["why", "osteoarthritis", "bm-msc", "--clinical-only"],
                 ["explain", "osteoarthritis", "--clinical-only"]):
        r = runner.invoke(cli.app, args)
        assert (r.exit_code, r.stdout, r.stderr) == (1, "", expected), args


# ----------------------------------------------------------------------------- tables at 80 and 120


def _synthetic(kb):
    """Advice with fixed rows (long ids, long citations) so the goldens do not move with the rules."""
    import dataclasses

    adv = advisor.consult(kb, "osteoarthritis")
    base = next(r for ax in ("sources", "routes", "engineering") for r in adv.recs[ax] if r.support)
    contrib = base.support[0]

    def rec(axis, rank, rid, tier, score, level, cite):
        return dataclasses.replace(base, axis=axis, id=rid, name=rid, tier=tier, score=score, level=level, rank=rank,
                                   key_citation=cite, support=[dataclasses.replace(contrib, citations=[cite])])

    recs = {"sources": [rec("sources", 1, "uc-msc", 2, 0.834, "in-vivo", "thomi2019b"),
                        rec("sources", 2, "menstrual-msc", 5, -0.105, "review-inference", "joergermesserli2018")],
            "routes": [rec("routes", 1, "intraperitoneal", 1, 0.452, "clinical-completed", "joergermesserli2018")],
            "engineering": [rec("engineering", 1, "preconditioning-inflammatory", 4, 0.28, "review-inference",
                                "dasilvameirelles2009")]}
    return dataclasses.replace(adv, recs=recs, cautions=[], excluded=[], context=[], constraints=advisor.Constraints())


GOLDEN_80 = """\
MSC-EV advice: Osteoarthritis  (osteoarthritis, matched by exact)
MSC sources

  #   id               score   certainty, level      key citation
 ──────────────────────────────────────────────────────────────────────────────
  1   uc-msc           0.834   strongly suggestive   Thomi 2019 (Cai [76])
                      tier 2   in-vivo
  2   menstrual-msc   -0.105   weakly against        Joerger-Messerli 2018
                      tier 5   review-inference      (Cai [67])

Administration routes

  #   id                 score   certainty, level     key citation
 ──────────────────────────────────────────────────────────────────────────────
  1   intraperitoneal    0.452   weakly suggestive    Joerger-Messerli 2018
                        tier 1   clinical-completed   (Cai [67])

Engineering options

  #   id                              score   certainty, level    key citation
 ──────────────────────────────────────────────────────────────────────────────
  1   preconditioning-inflammatory    0.280   weakly suggestive   da Silva
                                     tier 4   review-inference    Meirelles
                                                                  2009 (Cai
                                                                  [10])

Why? msc-ev why DISEASE ID   How? msc-ev explain DISEASE
╭──────────────────────────────────────────────────────────────────────────────╮
│ Research and teaching aid, not medical advice: rankings summarise mostly     │
│ preclinical findings from two reviews (Heo & Kim 2018; Cai et al. 2020) and  │
│ must not guide the care of any patient.                                      │
╰──────────────────────────────────────────────────────────────────────────────╯
"""

GOLDEN_120 = """\
MSC-EV advice: Osteoarthritis  (osteoarthritis, matched by exact)
MSC sources
┏━━━┳━━━━━━━━━━━━━━━┳━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ # ┃ id            ┃ tier ┃  score ┃ certainty           ┃ level            ┃ key citation                     ┃
┡━━━╇━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 1 │ uc-msc        │    2 │  0.834 │ strongly suggestive │ in-vivo          │ Thomi 2019 (Cai [76])            │
│ 2 │ menstrual-msc │    5 │ -0.105 │ weakly against      │ review-inference │ Joerger-Messerli 2018 (Cai [67]) │
└───┴───────────────┴──────┴────────┴─────────────────────┴──────────────────┴──────────────────────────────────┘
Administration routes
┏━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ # ┃ id              ┃ tier ┃ score ┃ certainty         ┃ level              ┃ key citation                     ┃
┡━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 1 │ intraperitoneal │    1 │ 0.452 │ weakly suggestive │ clinical-completed │ Joerger-Messerli 2018 (Cai [67]) │
└───┴─────────────────┴──────┴───────┴───────────────────┴────────────────────┴──────────────────────────────────┘
Engineering options
┏━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ # ┃ id                           ┃ tier ┃ score ┃ certainty         ┃ level            ┃ key citation                ┃
┡━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ 1 │ preconditioning-inflammatory │    4 │ 0.280 │ weakly suggestive │ review-inference │ da Silva Meirelles 2009     │
│   │                              │      │       │                   │                  │ (Cai [10])                  │
└───┴──────────────────────────────┴──────┴───────┴───────────────────┴──────────────────┴─────────────────────────────┘
Why? msc-ev why DISEASE ID   How? msc-ev explain DISEASE
╭──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╮
│ Research and teaching aid, not medical advice: rankings summarise mostly preclinical findings from two reviews (Heo  │
│ & Kim 2018; Cai et al. 2020) and must not guide the care of any patient.                                             │
╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯
"""


@pytest.mark.parametrize("width,golden", [(80, GOLDEN_80), (120, GOLDEN_120)])
def test_rich_tables_wrap_rather_than_cut(kb, width, golden):
    import io

    from rich.console import Console

    from msc_ev.terminal import rich_advice as render

    con = Console(file=io.StringIO(), width=width, color_system=None)
    render.print_rich(kb, _synthetic(kb), con, 5)
    out = con.file.getvalue()
    assert "\n".join(line.rstrip() for line in out.splitlines()) + "\n" == golden
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width


# ----------------------------------------------------------------------------- shell completion


def _complete(words, cword, tmp_path):
    import os

    env = dict(os.environ, _MSC_EV_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(cword),
               MSC_EV_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-c", "from msc_ev.cli import main; main()"], env=env,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_bash_completion_protocol(tmp_path):
    assert _complete("msc-ev adv", 1, tmp_path) == ["advise"]
    assert _complete("msc-ev kb d", 2, tmp_path) == ["dump"]
    assert _complete("msc-ev advise osteoa", 2, tmp_path) == ["osteoarthritis"]
    assert _complete("msc-ev advise osteoarthritis --route intran", 4, tmp_path) == ["intranasal"]
    assert _complete("msc-ev why perinatal-brain-injury x --exclude-source uc", 5, tmp_path) == ["uc-msc", "ucb-msc"]


def test_install_completion_for_bash_works_in_bash(tmp_path):
    import os
    import shutil

    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), SHELL="/bin/bash", MSC_EV_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-c", "from msc_ev.cli import main; main()", "--install-completion", "bash"],
                          env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    script = home / ".bash_completions" / "msc-ev.sh"
    assert f"source '{script}'" in (home / ".bashrc").read_text()
    # an msc-ev on PATH, then bash itself asks the installed function for completions
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "msc-ev").write_text(f"#!/bin/sh\nexec {sys.executable} -c 'from msc_ev.cli import main; main()' \"$@\"\n")
    (bindir / "msc-ev").chmod(0o755)
    env["PATH"] = f"{bindir}:{env['PATH']}"
    bash = (f"source '{script}'; COMP_WORDS=(msc-ev advise perinatal-brain-injury --route intrana); COMP_CWORD=4; "
            "_msc_ev_completion msc-ev; printf '%s\\n' \"${COMPREPLY[@]}\"")
    proc = subprocess.run(["bash", "--norc", "-c", bash], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout == "intranasal\n", proc.stderr


# ----------------------------------------------------------------------------- install and imports


def test_wheel_installs_only_under_msc_ev(tmp_path):
    """What `pip install .` would put in site-packages: everything under msc_ev/."""
    import shutil
    import zipfile

    src = tmp_path / "src"  # build from a copy: the build leaves build/ and *.egg-info behind
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                                             ".pytest_cache", "results"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(src)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = "msc_ev_advisor-0.1.0.dist-info/"
    outside = [n for n in names if not (n.startswith("msc_ev/") or n.startswith(dist_info))]
    assert outside == []
    for must in ("msc_ev/cli.py", "msc_ev/advisor/__init__.py", "msc_ev/advisor/ids.py",
                 "msc_ev/views/citations.py", "msc_ev/terminal/ask_console.py", "msc_ev/__main__.py", "msc_ev/rules/__init__.py",
                 "msc_ev/knowledge/references.yaml", "msc_ev/knowledge/evidence/cai2020.yaml"):
        assert must in names, must
    assert not [n for n in names if n.startswith("msc_ev/tests/") or "/__pycache__/" in n]


def test_advise_json_does_not_import_rich_or_the_console():
    code = ("import sys\nfrom msc_ev.cli import app\n"
            "try:\n    app(['advise', 'osteoarthritis', '--format', 'json'], prog_name='msc-ev')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
            "('rich', 'prompt_toolkit', 'pexpect')}), file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.stdout.startswith("{\n") and proc.stderr == "[]\n", proc.stderr
