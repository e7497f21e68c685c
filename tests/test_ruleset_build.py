"""Building the durable-rules network: a hazard of durable-rules 2.0.28, measured here.

``create_ruleset`` reads a node it never initialised when an ``anyItem`` holds an OR (rete.c,
createAlpha: the inner alternatives link no alpha node of their own, yet the node's right operand is
checked). Whether that garbage happens to look like an identifier depends on the process's memory
layout, so the same definition built fine in one process and failed in the next with "Could not
create ruleset, error code: 102". rules/compile.py therefore writes ``has-any`` as an OR of one
``anyItem`` per value, which means the same.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from msc_ev.advisor import engine
from msc_ev.rules.compile import RULESET


def _definition() -> str:
    """The JSON durable-rules builds its network from (what its host hands ``create_ruleset``)."""
    return json.dumps({name: {k: v for k, v in rule.items() if k != "run"}
                       for name, rule in engine.DEFINITION[RULESET].items()}, ensure_ascii=False)


def _anyitems_holding(node, found: list) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$iany" and any(op in json.dumps(v) for op in ('"$or"', '"$and"')):
                found.append(v)
            _anyitems_holding(v, found)
    elif isinstance(node, list):
        for v in node:
            _anyitems_holding(v, found)


def test_no_anyitem_holds_an_or():
    found: list = []
    _anyitems_holding(json.loads(_definition()), found)
    assert found == []


def test_has_any_still_compiles_to_an_or_of_anyitems():
    rule = next(v for v in json.loads(_definition()).values() if '"drug-delivery"' in json.dumps(v))
    text = json.dumps(rule)
    assert text.count('"$iany"') == 4 and '"$or"' in text  # one per purpose, plus the cancer test


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_building_the_network_reads_no_uninitialised_memory(tmp_path):
    """Under valgrind, building the ruleset three times touches nothing it did not write (this
    failed, in createAlpha, before has-any was compiled as above)."""
    (tmp_path / "def.json").write_text(_definition())
    code = ("import durable_rules_engine as D, sys\njs = open(sys.argv[1]).read()\n"
            "for i in range(3):\n    D.create_ruleset('r%d' % i, js)\nprint('built')\n")
    proc = subprocess.run(["valgrind", "--error-exitcode=9", "-q", sys.executable, "-c", code,
                           str(tmp_path / "def.json")], capture_output=True, text=True, timeout=300)
    assert proc.stdout == "built\n"
    assert "createAlpha" not in proc.stderr and proc.returncode == 0, proc.stderr[-2000:]
