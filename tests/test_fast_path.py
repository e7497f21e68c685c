"""The Typer-free fast path of ``cli.main`` (terminal/fast_json.py) and what keeps a one-shot run cheap
(docs/performance.md), checked without timing anything.

- the fast path answers exactly the plain JSON advice, and gives the bytes the Typer command gives:
  every argv of the table runs both ways (``MSC_EV_NO_FAST=1`` forces Typer) and stdout, stderr
  and the exit code are compared; the table says which rows the fast path must take, so the
  comparison is never vacuous;
- the options it reads are the Typer command's own (names, metavar, help: one declaration);
- a one-shot JSON advice loads neither Rich, Typer, pydantic nor click, and no importlib.metadata;
- the resolver's lexicon comes from the compile cache and equals the one built from source;
- the ICD-10-CM table is trusted on its stamp, and hashed in full when the stamp changed or when
  ``kb check`` asks.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msc_ev import advisor
from msc_ev.advisor import icd, kbcache
from msc_ev.terminal import common as cli_core, fast_json as cli_fast

CLI = [sys.executable, "-c", "from msc_ev.cli import main; main()"]
Q = "perinatal brain injury"

# (argv, taken by the fast path, exit code)
TABLE = [
    (["advise", Q, "--format", "json"], True, 0),
    (["advise", "--format", "json", Q], True, 0),
    (["advise", Q, "-f", "json"], True, 0),
    (["advise", Q, "--format=json"], True, 0),
    (["advise", Q, "--format", "rich", "--format", "json"], True, 0),
    (["advise", Q, "-f", "json", "--exclude-source", "uc-msc", "--route", "IV", "--route", "intranasal"], True, 0),
    (["advise", "knee osteoarthritis", "-f", "json", "--population", "elderly"], True, 0),
    (["advise", "knee osteoarthritis", "-f", "json", "--clinical-only"], True, 1),  # nothing left to rank
    (["--kb-extra", "{overlay}", "advise", Q, "-f", "json"], True, 0),
    (["--kb", "{nokb}", "advise", Q, "-f", "json"], True, 2),  # no such knowledge directory
    (["advise", "heart failure", "-f", "json"], True, 0),  # ICD-10-CM
    (["advise", "I50.9", "-f", "json"], True, 0),  # an ICD-10-CM code
    (["advise", "no such illness at all", "--format", "json"], True, 1),
    (["advise", "AD", "--format", "json"], True, 1),  # ambiguous
    (["advise", "infertility", "--format", "json"], True, 1),  # ambiguous (ICD-10-CM)
    (["advise", "Sjögren-krankheit \x1b[31m", "--format", "json"], True, 1),  # non-ASCII, an escape
    (["advise", "", "--format", "json"], True, 1),
    (["advise", Q, "--format", "json", "--exclude-source", "nonsense"], True, 2),
    (["advise", Q, "--format", "json", "--population", "martian"], True, 2),
    (["advise", Q, "-o", "{tmp}/advice.json"], True, 0),
    (["advise", Q, "-f", "json", "--output", "-"], True, 0),
    (["advise", Q, "-f", "json", "-o", "{tmp}/no/such/dir/advice.json"], True, 2),
    # Typer's
    (["advise", Q, "--format", "jsn"], False, 2),
    (["advise", Q, "--format", "JSON"], False, 2),
    (["advise", Q, "--format", "json", "--bogus"], False, 2),
    (["advise", Q, "--format", "json", "extra words"], False, 2),
    (["advise", "--format", "json"], False, 2),
    (["advise", Q, "--format"], False, 2),
    (["advise", Q, "--format", "json", "--clinical-only=yes"], False, 2),
    (["advise", Q, "--format", "json", "-o", "{tmp}/advice.md"], False, 2),
    (["advise", Q, "--format", "json", "--top", "3"], False, 0),
    (["advise", Q, "--format", "json", "--stability", "--samples", "5"], False, 0),
    (["advise", Q, "-fjson"], False, 0),
    (["advise", "--", Q, "--format", "json"], False, 2),
    (["advise", Q, "--format", "json", "-h"], False, 0),
    (["advise", Q], False, 0),
    (["advise", Q, "--format", "markdown"], False, 0),
    (["--version", "advise", Q, "--format", "json"], False, 0),
    (["advise", Q, "--format", "json", "--kb", "x"], False, 2),
    (["explain", Q, "--format", "json"], False, 0),
    ([], False, 2),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast")
    overlay = root / "overlay"
    overlay.mkdir()
    (overlay / "extra.yaml").write_text(
        "evidence:\n  - id: extra-fast-1\n    source: bm-msc\n    vesicle: exosome\n    species: human\n"
        "    model: in-vivo\n    disease: perinatal-brain-injury\n    route: null\n    engineering: []\n"
        "    effect: Made up for a test.\n    direction: supports\n    cites: [\"cai2020:26\"]\n", encoding="utf-8")
    return {"tmp": str(root), "overlay": str(overlay), "nokb": str(root / "nokb")}


def _argv(row, places):
    return [a.format(**places) for a in row]


def _run(argv, places, typer_only: bool):
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("MSC_EV_NO_FAST", None)
    if typer_only:
        env["MSC_EV_NO_FAST"] = "1"
    for p in Path(places["tmp"]).glob("advice.*"):
        p.unlink()
    done = subprocess.run([*CLI, *argv], capture_output=True, env=env, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    written = sorted((p.name, p.read_bytes()) for p in Path(places["tmp"]).glob("advice.*"))
    return done.returncode, done.stdout, done.stderr, written


@pytest.mark.parametrize("row, fast, code", TABLE, ids=[" ".join(r[0]) or "(none)" for r in TABLE])
def test_fast_path_gives_the_bytes_of_the_typer_command(row, fast, code, places, monkeypatch):
    argv = _argv(row, places)
    monkeypatch.delenv("MSC_EV_NO_FAST", raising=False)
    assert (cli_fast.parse(argv) is not None) is fast
    quick = _run(argv, places, typer_only=False)
    slow = _run(argv, places, typer_only=True)
    assert quick == slow
    assert quick[0] == code, quick[2].decode()
    assert b"Traceback" not in quick[2]


def test_the_table_checks_what_it_claims(places):
    """A few rows in full, so that "same bytes" is known to mean the right bytes."""
    code, out, err, _ = _run(["advise", Q, "--format", "json"], places, False)
    assert (code, err) == (0, b"") and json.loads(out)["query"]["text"] == Q
    code, out, err, _ = _run(["advise", "no such illness at all", "--format", "json"], places, False)
    assert (code, out) == (1, b"") and err.startswith(b"msc-ev: unknown disease: 'no such illness at all'")
    code, out, err, _ = _run(["advise", "AD", "--format", "json"], places, False)
    assert code == 1 and err.startswith(b"msc-ev: ambiguous disease: 'AD' could mean: alzheimers-disease")
    code, out, err, _ = _run(["advise", Q, "--format", "json", "--bogus"], places, False)
    assert code == 2 and err.endswith(b"Error: No such option: --bogus\n")
    code, out, err, written = _run(["advise", Q, "-o", f"{places['tmp']}/advice.json"], places, False)
    assert (code, out, err) == (0, b"", b"")
    assert [n for n, _ in written] == ["advice.json"] and json.loads(written[0][1])["query"]["text"] == Q
    code, out, err, _ = _run(["advise", Q, "-f", "json", "-o", f"{places['tmp']}/no/such/dir/advice.json"],
                             places, False)
    assert (code, out) == (2, b"")
    assert err == (f"msc-ev: cannot write {places['tmp']}/no/such/dir/advice.json: directory "
                   f"{places['tmp']}/no/such/dir does not exist\n").encode()


def test_parse_reads_the_options_as_click_does(monkeypatch):
    monkeypatch.delenv("MSC_EV_NO_FAST", raising=False)
    got = cli_fast.parse(["--kb", "K", "--kb-extra=A", "--kb-extra", "B", "advise", "--route", "IV", "x y",
                          "--route=intranasal", "-f", "json", "--exclude-source", "uc-msc", "--clinical-only",
                          "--population", "child", "--population", "adult", "-o", "-"])
    assert got == {"kb_dir": "K", "kb_extra": ("A", "B"), "disease": "x y", "exclude_source": ["uc-msc"],
                   "route": ["IV", "intranasal"], "clinical_only": True, "population": "adult", "output": "-",
                   "no_reuse": False}
    assert cli_fast.parse(["advise", "x", "-o", "out.json"])["output"] == "out.json"
    assert cli_fast.parse(["advise", "x", "-f", "json", "--no-reuse"])["no_reuse"] is True
    assert cli_fast.parse(["advise", "x", "-f", "json", "--route", "-x"]) is None  # Click's to read
    assert cli_fast.parse(["advise", "x", "-f", "json", "--route", ""]) is None
    assert cli_fast.parse(["advise", "x", "-f", "json", "--route"]) is None
    assert cli_fast.parse(["x", "advise", "y", "-f", "json"]) is None
    monkeypatch.setenv("MSC_EV_NO_FAST", "1")
    assert cli_fast.parse(["advise", "x", "-f", "json"]) is None
    monkeypatch.delenv("MSC_EV_NO_FAST")
    monkeypatch.setenv("_MSC_EV_COMPLETE", "bash_complete")
    assert cli_fast.parse(["advise", "x", "-f", "json"]) is None


def test_the_fast_path_reads_the_typer_commands_own_options():
    """One declaration (terminal/common.py): every option the fast path reads is the Typer option of
    the same parameter, with the same names, metavar and help; and no other Typer option of advise
    shares a name with it."""
    import typer.main

    from msc_ev import cli

    group = typer.main.get_command(cli.app)
    commands = {"advise": group.commands["advise"], "": group}
    for where, specs in (("", cli_core.GLOBAL_OPTIONS), ("advise", cli_core.ADVISE_OPTIONS)):
        params = {p.name: p for p in commands[where].params}
        for spec in specs:
            p = params[spec.dest]
            assert tuple(p.opts) == spec.names and not p.secondary_opts
            assert p.help == spec.help
            assert p.metavar == spec.metavar
            assert p.multiple is (spec.kind == "list")
            assert p.is_flag is (spec.kind == "flag")
        read = {n for s in specs for n in s.names}
        others = [p for p in params.values() if p.name not in {s.dest for s in specs}]
        assert not read & {n for p in others for n in (*p.opts, *p.secondary_opts)}
    disease = {p.name: p for p in commands["advise"].params}["disease"]
    assert (disease.metavar, disease.help) == (cli_core.DISEASE_METAVAR, cli_core.DISEASE_HELP)


WRAPPER = """import atexit, sys
def report():
    loaded = {{m.split('.')[0] for m in sys.modules}} | set(sys.modules)
    sys.stderr.write(repr(sorted(loaded & {{'rich', 'typer', 'pydantic', 'click', 'importlib.metadata'}})))
atexit.register(report)
sys.argv = ['msc-ev', *{argv!r}]
from msc_ev.cli import main
main()
"""


@pytest.mark.parametrize("query", [Q, "heart failure"])
def test_one_shot_json_advice_loads_no_rich_typer_pydantic_or_click(query, tmp_path):
    env = {**os.environ, "MSC_EV_CACHE": str(tmp_path)}
    env.pop("MSC_EV_NO_FAST", None)
    icd.index()
    shutil.copytree(Path(icd.cache_dir()), tmp_path / "msc-ev", dirs_exist_ok=True)  # the ICD-10-CM table
    code = WRAPPER.format(argv=["advise", query, "--format", "json"])
    for _ in range(2):  # the second run loads the compiled knowledge base and lexicon
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["query"]["text"] == query
        assert done.stderr == "[]"


def test_the_typer_path_is_still_there_when_forced(tmp_path):
    env = {**os.environ, "MSC_EV_CACHE": str(tmp_path), "MSC_EV_NO_FAST": "1"}
    done = subprocess.run([sys.executable, "-c", WRAPPER.format(argv=["advise", Q, "--format", "json"])],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "'typer'" in done.stderr


# ----------------------------------------------------------------------------- the lexicon cache


def _resolve_module():
    import importlib

    return importlib.import_module("msc_ev.advisor.resolve")


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MSC_EV_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "msc-ev"


def test_the_lexicon_is_cached_with_the_knowledge_base_and_equals_a_fresh_build(fresh_cache):
    R = _resolve_module()
    first = advisor.load_kb()
    R.lexicon(first)
    assert kbcache.last_derived["lexicon"] == "built"
    assert len(list(fresh_cache.glob("lexicon-*.pickle"))) == 1
    again = advisor.load_kb()
    assert "_lexicon" not in again.__dict__
    lex = R.lexicon(again)
    assert kbcache.last_derived["lexicon"] == "hit"
    assert lex == R._build(again) == first.__dict__["_lexicon"]


def test_a_knowledge_base_read_from_source_builds_its_lexicon(fresh_cache):
    R = _resolve_module()
    kb = advisor.load_kb(use_cache=False)
    lex = R.lexicon(kb)
    assert kbcache.last_derived["lexicon"] == "uncached"
    assert lex == R._build(kb)
    assert not fresh_cache.exists() or not list(fresh_cache.glob("lexicon-*.pickle"))


def test_a_broken_or_foreign_lexicon_file_is_rebuilt_not_used(fresh_cache):
    R = _resolve_module()
    R.lexicon(advisor.load_kb())
    (path,) = fresh_cache.glob("lexicon-*.pickle")
    good = path.read_bytes()
    k = good[len(kbcache._DERIVED_MAGIC) + 2:][:32]

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo should not run",))

    foreign = kbcache._seal(k, pickle.dumps({"exact": Boom()}), kbcache._DERIVED_MAGIC)
    for broken in (good[:-10], good[:-1] + bytes([good[-1] ^ 1]), foreign, b"junk"):
        path.write_bytes(broken)
        kb = advisor.load_kb()
        assert R.lexicon(kb) == R._build(kb)
        assert kbcache.last_derived["lexicon"] == "rebuilt"
        assert path.read_bytes() == good


def test_the_lexicon_key_covers_the_code_that_builds_it(fresh_cache, tmp_path):
    kb = advisor.load_kb()
    src = tmp_path / "code.py"
    src.write_text("one")
    a = kbcache.derived(kb, "t", [src], lambda: {"v": 1})
    src.write_text("two")
    b = kbcache.derived(kb, "t", [src], lambda: {"v": 2})
    assert (a, b) == ({"v": 1}, {"v": 2})
    assert len(list(fresh_cache.glob("t-*.pickle"))) == 2
    assert kbcache.derived(kb, "t", [src], lambda: {"v": 3}) == {"v": 2}
    assert kbcache.last_derived["t"] == "hit"


# ----------------------------------------------------------------------------- ICD-10-CM stamp


@pytest.fixture
def icd_copy(tmp_path):
    icd.index()
    db, manifest = icd._paths()
    d = tmp_path / "icd"
    d.mkdir()
    shutil.copy2(db, d / db.name)
    shutil.copy2(manifest, d / manifest.name)
    return d / db.name, d / manifest.name


def _flip_keeping_mtime(db: Path) -> None:
    st = db.stat()
    with db.open("r+b") as fh:
        fh.seek(st.st_size // 2)
        b = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([b[0] ^ 0xFF]))
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_an_unchanged_stamp_is_trusted_and_verify_hashes_anyway(icd_copy, monkeypatch):
    db, manifest = icd_copy
    assert json.loads(manifest.read_text())["stamp"] == icd._stamp(db)
    _flip_keeping_mtime(db)
    calls = []
    monkeypatch.setattr(icd, "_sha256", lambda p: calls.append(p) or "0" * 64)
    assert icd._valid(db, manifest)  # the stamp alone: no hash
    assert calls == []
    assert not icd._valid(db, manifest, verify=True)
    assert calls == [db]


def test_a_changed_stamp_means_a_full_check_that_writes_the_new_stamp(icd_copy):
    db, manifest = icd_copy
    old = json.loads(manifest.read_text())
    os.utime(db, ns=(db.stat().st_atime_ns, db.stat().st_mtime_ns + 1000))
    assert icd._stamp(db) != old["stamp"]
    assert icd._valid(db, manifest)  # same content: valid, after hashing it
    new = json.loads(manifest.read_text())
    assert new == {**old, "stamp": icd._stamp(db)}
    no_stamp = {k: v for k, v in old.items() if k != "stamp"}  # a manifest from before stamps
    manifest.write_text(json.dumps(no_stamp))
    assert icd._valid(db, manifest)
    assert json.loads(manifest.read_text())["stamp"] == icd._stamp(db)


def test_kb_check_rebuilds_a_table_whose_stamp_lies(tmp_path, monkeypatch):
    icd.index()
    db, manifest = icd._paths()
    cache = tmp_path / "cache"
    shutil.copytree(db.parent, cache / "msc-ev")
    monkeypatch.setenv("MSC_EV_CACHE", str(cache))
    _flip_keeping_mtime(cache / "msc-ev" / db.name)
    icd.forget()
    builds = icd.STATS["builds"]
    try:
        assert icd.index().verified is False  # opened on the stamp
        assert icd.STATS["builds"] == builds
        from msc_ev.advisor import kbtools

        kbtools.deep_check(advisor.load_kb())
        assert icd.STATS["builds"] == builds + 1
        assert icd.index().verified is True
        assert icd._valid(cache / "msc-ev" / db.name, cache / "msc-ev" / manifest.name, verify=True)
    finally:
        icd.forget()


def test_an_icd_query_reads_no_package_metadata(tmp_path):
    icd.index()
    env = {**os.environ, "MSC_EV_CACHE": str(tmp_path)}
    shutil.copytree(Path(icd.cache_dir()), tmp_path / "msc-ev", dirs_exist_ok=True)
    code = ("import sys\nfrom msc_ev import advisor\nkb = advisor.load_kb()\n"
            "print(advisor.resolve(kb, 'heart failure').id, 'importlib.metadata' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["icd10cm:I50.9", "False"]
