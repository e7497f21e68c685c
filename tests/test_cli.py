"""The command line: help, version, exit codes, and the README that documents it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msc_ev import cli

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


def test_readme_advise_json_example_is_current():
    """The README's JSON excerpt is what the code prints today."""
    block = re.search(r"<!-- advise-json -->\n```json\n(.*?)```", README, re.S).group(1)
    result = runner.invoke(cli.app, ["advise", "perinatal brain injury", "--format", "json"])
    import json

    data = json.loads(result.stdout)
    shown = json.loads(block)
    assert shown["query"] == data["query"]
    assert shown["sources"][0]["id"] == data["sources"][0]["id"]
    assert shown["sources"][0]["score"] == data["sources"][0]["score"]
