"""Declared limits and the knowledge loader's reading errors: one message, the right place."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msc_ev import advisor, cli
from msc_ev.advisor import kb as K
from msc_ev.advisor import kbcache, limits, yamlio

ROOT = Path(__file__).resolve().parent.parent

runner = CliRunner()


@pytest.fixture
def kbcopy(tmp_path, monkeypatch):
    """A copy of the shipped knowledge in tmp_path/kb; paths in messages are relative to tmp_path."""
    shutil.copytree(K.SHIPPED, tmp_path / "kb", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.chdir(tmp_path)
    kbcache.load_cached.cache_clear()  # "kb" is a relative path: no knowledge cached from another test
    yield tmp_path / "kb"
    kbcache.load_cached.cache_clear()


def problems(kb_dir, extra=()):
    with pytest.raises(advisor.KnowledgeError) as ei:
        advisor.load_kb(kb_dir, extra)
    return [str(p) for p in ei.value.problems]


def test_cli_knowledge_error_is_exit_2_without_traceback(kbcopy):
    (kbcopy / "routes.yaml").write_text("")
    res = runner.invoke(cli.app, ["--kb", "kb", "kb", "stats"])
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert res.stderr == ("msc-ev: knowledge base invalid: 1 error\n"
                          "kb/routes.yaml:1:1: file: empty: no YAML document in this file\n")


def test_empty_or_comment_only_file_is_named(kbcopy):
    (kbcopy / "routes.yaml").write_text("# emptied\n")
    assert problems("kb")[0] == "kb/routes.yaml:1:1: file: empty: no YAML document in this file"


def test_dangling_link_and_link_to_a_directory_are_named(kbcopy):
    (kbcopy / "gone.yaml").symlink_to("nowhere.yaml")
    (kbcopy / "dir.yaml").symlink_to("evidence")
    assert problems("kb") == [
        "kb/dir.yaml:1:1: file: symbolic link to 'evidence' does not lead to a file",
        "kb/gone.yaml:1:1: file: symbolic link to 'nowhere.yaml' leads nowhere",
    ]


def test_unreadable_file_is_named(kbcopy, monkeypatch):
    real_open = open

    def refusing(path, *a, **kw):
        if str(path).endswith("routes.yaml"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **kw)

    monkeypatch.setattr(yamlio, "open", refusing, raising=False)
    assert problems("kb") == ["kb/routes.yaml:1:1: file: cannot read: Permission denied"]


def test_encoding_error_gives_line_and_column(kbcopy):
    text = (kbcopy / "routes.yaml").read_bytes().split(b"\n")
    text[4] = text[4][:6] + b"\xe9" + text[4][6:]
    (kbcopy / "routes.yaml").write_bytes(b"\n".join(text))
    assert problems("kb") == ["kb/routes.yaml:5:7: yaml: not UTF-8 text (byte 0xe9: invalid continuation byte)"]


def test_overlay_errors_name_the_overlay_file_and_line(kbcopy, tmp_path):
    ov = tmp_path / "ov"
    ov.mkdir()
    (ov / "mine.yaml").write_text("# my weights\nweights:\n  rules:\n    not-a-rule: 0.5\n  species:\n    human: 3\n")
    assert problems("kb", ["ov"]) == ["ov/mine.yaml:6:5: weights.species.human: must be a number from 0 to 1, got 3"]
    (ov / "mine.yaml").write_text("# my weights\nweights:\n  rules:\n    not-a-rule: 0.5\n")
    # a misspelled rule weight is refused on every load (advise, diff, batch), not only by kb check
    assert problems("kb", ["ov"]) == ["ov/mine.yaml:4:5: weights.rules.not-a-rule: no rule with this id takes a weight"]


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))


@pytest.mark.parametrize("text,expected", [
    (BILLION_LAUGHS, "ov/x.yaml:7:12: yaml: more than 1,000,000 nodes once aliases are expanded "
                     "(limit MAX_NODES = 1,000,000)"),
    ("weights:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)),
     "ov/x.yaml:33:65: yaml: nested deeper than 32 levels (limit MAX_DEPTH = 32)"),
    ("[" * 5000 + "]" * 5000, "ov/x.yaml:1:1001: yaml: nested deeper than 32 levels (limit MAX_DEPTH = 32)"),
    ("# big\n" + "#" * (4 * 1024 * 1024) + "\n",
     "ov/x.yaml:1:1: yaml: file larger than 4,194,304 bytes (limit MAX_KB_FILE_BYTES = 4,194,304)"),
])
def test_hostile_overlay_is_one_located_error(kbcopy, tmp_path, text, expected):
    ov = tmp_path / "ov"
    ov.mkdir()
    (ov / "x.yaml").write_text(text)
    res = runner.invoke(cli.app, ["--kb", "kb", "--kb-extra", "ov", "kb", "stats"])
    assert res.exit_code == 2, res.stderr
    assert res.stderr == f"msc-ev: knowledge base invalid: 1 error\n{expected}\n"


def test_messages_never_embed_an_unbounded_value(kbcopy, tmp_path):
    ov = tmp_path / "ov"
    ov.mkdir()
    (ov / "x.yaml").write_text("weights:\n  species:\n    human: '" + "9" * 1_000_000 + "'\n")
    res = runner.invoke(cli.app, ["--kb", "kb", "--kb-extra", "ov", "kb", "stats"])
    assert res.exit_code == 2
    line = res.stderr.splitlines()[1]
    assert line.startswith("ov/x.yaml:3:5: weights.species.human: must be a number from 0 to 1, got '9999")
    assert len(line) < 400


def test_shown_cuts_values():
    assert limits.shown("abc") == "'abc'"
    assert limits.shown("x" * 100, 5) == "'xxxxx'... (100 characters)"
    assert limits.shown(list(range(10_000))) == "a list of 10,000 items"
    assert limits.shown(10 ** 100, 10) == "1000000000..."


def test_every_limit_is_documented_with_its_value():
    doc = (ROOT / "docs" / "limits.md").read_text()
    rows = dict(re.findall(r"^\| `(MAX_[A-Z_]+)` \| ([\d,]+) \|", doc, re.M))
    assert rows == {name: f"{value:,}" for name, value in limits.LIMITS.items()}

