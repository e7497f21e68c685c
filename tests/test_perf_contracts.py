"""Contracts behind the speed targets (docs/performance.md), checked without timing anything.

- the library path (import, load, consult, ``as_json``) never imports Rich or Typer, and importing
  ``msc_ev.advisor`` alone imports none of the heavy dependencies;
- the knowledge compile cache (advisor/kbcache.py) is keyed by the content of every knowledge file,
  shipped and overlays, and by the version; it is rebuilt, silently, when it is truncated,
  corrupted or foreign; nothing invalid is cached; ``use_cache=False`` reads from source only.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from msc_ev import advisor
from msc_ev.advisor import kb as K
from msc_ev.advisor import kbcache

HEAVY = ("yaml", "durable", "rich", "typer", "click", "pydantic")

EVIDENCE = """evidence:
  - id: extra-1
    source: {source}
    vesicle: exosome
    species: human
    model: in-vivo
    disease: osteoarthritis
    route: null
    engineering: []
    effect: Made up for a test.
    direction: supports
    cites: ["cai2020:26"]
"""


def _python(code: str, cache: Path, cwd: Path | None = None) -> str:
    env = {**os.environ, "MSC_EV_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


LOADED = "import sys; print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))" % (HEAVY,)


def test_importing_advisor_imports_no_heavy_dependency(tmp_path):
    out = _python("from msc_ev import advisor\n" + LOADED, tmp_path)
    assert out == "[]\n"


def test_json_consultation_through_the_library_loads_neither_rich_nor_typer(tmp_path):
    code = ("import json\nfrom msc_ev import advisor\nkb = advisor.load_kb()\n"
            "adv = advisor.consult(kb, 'perinatal brain injury', advisor.Constraints())\n"
            "text = json.dumps(adv.as_json())\nassert text.startswith('{')\n" + LOADED)
    first = _python(code, tmp_path)  # builds the cache (reads YAML)
    again = _python(code, tmp_path)  # from the cache: no PyYAML either
    assert first == "['durable', 'yaml']\n"
    assert again == "['durable']\n"


def test_cli_advise_as_json_loads_no_rich(tmp_path):
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write(repr(sorted({m.split('.')[0] for m in sys.modules} "
            "& {'rich'}))))\n"
            "sys.argv = ['msc-ev', 'advise', 'perinatal brain injury', '--format', 'json']\n"
            "from msc_ev.cli import main\nmain()\n")
    env = {**os.environ, "MSC_EV_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["query"]["text"] == "perinatal brain injury"
    assert done.stderr == "[]"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("MSC_EV_CACHE", str(d))
    return d / "msc-ev"


def _compiled(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.glob("kb-*.pickle")) if cache.is_dir() else []


def _fields(kb) -> dict:
    return {f.name: getattr(kb, f.name) for f in fields(kb)}


def _overlay(tmp_path: Path, name: str, source: str = "uc-msc") -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "extra.yaml").write_text(EVIDENCE.format(source=source), encoding="utf-8")
    return d


def test_second_load_comes_from_the_cache_and_equals_the_source(cache):
    first = advisor.load_kb()
    assert kbcache.last["status"] == "built"
    assert len(_compiled(cache)) == 1
    again = advisor.load_kb()
    assert kbcache.last["status"] == "hit"
    source = advisor.load_kb(use_cache=False)
    assert _fields(again) == _fields(source) == _fields(first)
    assert again is not first


def test_cached_records_keep_their_file_line_col_marks(cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overlay = _overlay(tmp_path, "mine")
    advisor.load_kb(None, [overlay])
    kb = advisor.load_kb(None, [overlay])
    assert kbcache.last["status"] == "hit"
    assert kb.where[("evidence", "extra-1")] == K.Located("mine/extra.yaml", 2, 5)
    assert kb.evidence["extra-1"].marks["source"] == (3, 5)
    assert kb.files[-1] == "mine/extra.yaml"


def test_paths_are_shown_relative_to_the_current_directory_not_the_one_that_built_the_cache(
        cache, tmp_path, monkeypatch):
    overlay = _overlay(tmp_path, "mine")
    monkeypatch.chdir(tmp_path)
    advisor.load_kb(None, [overlay])
    monkeypatch.chdir(overlay)
    kb = advisor.load_kb(None, [overlay])
    assert kbcache.last["status"] == "hit"
    assert kb.where[("evidence", "extra-1")].path == "extra.yaml"
    assert kb.files[-1] == "extra.yaml"
    assert kb.dirs == (str(K.SHIPPED), str(overlay))


def test_editing_a_knowledge_file_rebuilds_the_cache(cache, tmp_path):
    kb_dir = tmp_path / "kb"
    shutil.copytree(K.SHIPPED, kb_dir, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    before = advisor.load_kb(kb_dir)
    name = before.diseases["osteoarthritis"]["name"]
    path = kb_dir / "diseases.yaml"
    text = path.read_text(encoding="utf-8")
    # same length, same mtime: only the content says it changed
    stat = path.stat()
    path.write_text(text.replace(f"name: {name}\n", f"name: {name.upper()}\n", 1), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    after = advisor.load_kb(kb_dir)
    assert kbcache.last["status"] == "built"
    assert after.diseases["osteoarthritis"]["name"] == name.upper()
    assert len(_compiled(cache)) == 2


def test_adding_a_knowledge_file_changes_the_key(tmp_path):
    d = _overlay(tmp_path, "mine")
    k1 = kbcache.key(None, [d])[0]
    (d / "more.yaml").write_text("evidence: []\n", encoding="utf-8")
    assert kbcache.key(None, [d])[0] != k1


def test_overlays_and_version_are_part_of_the_key(tmp_path, monkeypatch):
    a = _overlay(tmp_path, "a")
    b = _overlay(tmp_path, "b", source="bm-msc")
    c = _overlay(tmp_path, "c")  # same content as a, another place
    keys = {kbcache.key()[0], kbcache.key(None, [a])[0], kbcache.key(None, [b])[0],
            kbcache.key(None, [c])[0], kbcache.key(None, [a, b])[0], kbcache.key(None, [b, a])[0]}
    assert len(keys) == 6
    shipped = kbcache.key()[0]
    monkeypatch.setattr(advisor, "__version__", "99.0.0")
    assert kbcache.key()[0] != shipped


def test_a_different_overlay_is_cached_separately(cache, tmp_path):
    a = _overlay(tmp_path, "a")
    b = _overlay(tmp_path, "b", source="bm-msc")
    assert advisor.load_kb(None, [a]).evidence["extra-1"]["source"] == "uc-msc"
    assert advisor.load_kb(None, [b]).evidence["extra-1"]["source"] == "bm-msc"
    assert kbcache.last["status"] == "built"
    assert advisor.load_kb(None, [a]).evidence["extra-1"]["source"] == "uc-msc"
    assert kbcache.last["status"] == "hit"
    assert len(_compiled(cache)) == 2


def _corrupt_truncated(blob: bytes) -> bytes:
    return blob[: len(blob) // 2]


def _corrupt_flipped(blob: bytes) -> bytes:
    i = len(blob) - 1000
    return blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1:]


CORRUPTIONS = {
    "empty": (lambda b: b"", "not a compiled knowledge base"),
    "garbage": (lambda b: b"\x00garbage" * 100, "not a compiled knowledge base"),
    "truncated": (_corrupt_truncated, "truncated"),
    "trailing": (lambda b: b + b"x", "trailing bytes"),
    "one byte flipped": (_corrupt_flipped, "digest mismatch"),
    "other format": (lambda b: b[:8] + b"\x63\x00" + b[10:], "another cache format"),
}


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_a_damaged_cache_is_rebuilt_without_error(cache, how):
    expected = _fields(advisor.load_kb())
    (path,) = cache.glob("kb-*.pickle")
    damage, reason = CORRUPTIONS[how]
    path.write_bytes(damage(path.read_bytes()))
    kb = advisor.load_kb()
    assert (kbcache.last["status"], kbcache.last["reason"]) == ("rebuilt", reason)
    assert _fields(kb) == expected
    advisor.load_kb()
    assert kbcache.last["status"] == "hit"


def test_a_foreign_pickle_with_a_valid_header_is_refused_not_run(cache):
    advisor.load_kb()
    (path,) = cache.glob("kb-*.pickle")
    k = kbcache.key()[0]
    payload = pickle.dumps((["x"], {"evidence": json.dumps}))  # a global outside the allow-list
    digest = kbcache.blake2b(payload, digest_size=32).digest()
    path.write_bytes(kbcache.MAGIC + kbcache.FORMAT.to_bytes(2, "little") + k
                     + len(payload).to_bytes(8, "little") + digest + payload)
    kb = advisor.load_kb()
    assert kbcache.last["status"] == "rebuilt"
    assert kbcache.last["reason"] == "unreadable: json.dumps is not part of a knowledge base"
    assert "osteoarthritis" in kb.diseases


def test_a_cache_under_another_key_is_not_used(cache):
    advisor.load_kb()
    (path,) = cache.glob("kb-*.pickle")
    other = kbcache.path_for(bytes(32))
    other.write_bytes(path.read_bytes())  # right content, wrong file name for it
    with pytest.raises(ValueError, match="^another key$"):
        kbcache.decode(bytes(32), other.read_bytes())


def test_an_invalid_knowledge_base_is_never_cached(cache, tmp_path):
    bad = _overlay(tmp_path, "bad", source="zzzz")
    for _ in range(2):
        with pytest.raises(advisor.KnowledgeError) as exc:
            advisor.load_kb(None, [bad])
        assert [(p.field, p.message) for p in exc.value.problems] == [("source", "unknown source id 'zzzz'")]
    assert _compiled(cache) == []


def test_use_cache_false_reads_from_source_and_writes_nothing(cache):
    kb = advisor.load_kb(use_cache=False)
    assert _compiled(cache) == []
    assert "osteoarthritis" in kb.diseases


def test_an_unwritable_cache_directory_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MSC_EV_CACHE", str(blocker))
    kb = advisor.load_kb()
    assert kbcache.last["status"] == "uncached"
    assert kbcache.last["reason"].startswith("cannot write: ")
    assert "osteoarthritis" in kb.diseases


def test_a_missing_knowledge_directory_is_reported_from_source(cache, tmp_path):
    with pytest.raises(advisor.KnowledgeError) as exc:
        advisor.load_kb(None, [tmp_path / "nowhere"])
    assert [(p.field, p.message) for p in exc.value.problems] == [("kb", "knowledge directory not found")]
    assert kbcache.last["status"] == "uncached"


def test_memoised_attributes_are_not_written_into_the_cache(cache):
    kb = advisor.load_kb()
    advisor.consult(kb, "osteoarthritis")  # memoises the consultation index on the Knowledge
    assert "_consult_index" in kb.__dict__
    shutil.rmtree(cache)
    blob = kbcache.encode(kbcache.key()[0], kb, list(kb.files))
    shown, state = kbcache.decode(kbcache.key()[0], blob)
    assert "_consult_index" not in state
    assert sorted(state) == sorted(f.name for f in fields(K.Knowledge))


# ----------------------------------------------------------------------------- bench/readme_table.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import readme_table  # noqa: E402

FIGURES = {
    "python": "3.11.7", "cpus": 2, "cpu_model": "Test CPU", "quick": True, "took_s": 90,
    "cold_advise_cpu_ms": 101.4, "cold_deps_cpu_ms": 80.0, "cold_ratio": 1.27,
    "consult_p50_ms": 1.234, "baseline_consult_p50_ms": 0.1, "baseline_consult_p95_ms": None,
    "kb_load_source_ms_100x": 2384.2, "kb_load_cache_ms_100x": 101.0,
    "batch_rows": 5000, "batch_rows_per_s_jobs2": 1234.4, "batch_scaling_jobs2": 0.86, "batch_jobs2_identical": True,
    "baseline_note": "interpret", "target_consult_p50_ms": 1.5,
}


def test_readme_table_rows_come_from_the_json_figures():
    rows = {r[0]: r[1:] for r in readme_table.rows(FIGURES)}
    assert rows["one-shot `advise --format json`, CPU"] == ("101 ms", "", "<= 1.5x deps")
    assert rows["  ratio to the imports"] == ("1.27x", "", "")
    assert rows["in-process consultation p50"] == ("1.23 ms", "0.10 ms", "<= 1.5 ms")
    assert rows["in-process consultation p95"] == ("n/a", "n/a", "")
    assert rows["knowledge load 100x: from source / from cache"] == ("2384 ms / 101 ms", "", "cache < 500 ms")
    assert rows["batch, 5,000 distinct diseases, --jobs 2"] == ("1,234 rows/s", "", ">= 1,000 rows/s")
    assert rows["  --jobs 2 scaling / output identical to --jobs 1"] == ("86% / yes", "", ">= 80% / yes")
    table = readme_table.render(FIGURES)
    lines = table.splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:5]] == [
        "measure", "msc-ev (durable-rules)", "plain-Python baseline", "target"]
    assert len({len(line) for line in lines[:len(rows) + 2]}) == 1  # aligned columns
    assert table.endswith("quick run of `bench/bench.py` in 90 s; baseline: interpret.\n")


def test_readme_table_update_replaces_only_the_marked_block(tmp_path, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(FIGURES))
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{readme_table.START}\nold table\n{readme_table.END}\n\nAfter.\n")
    readme_table.main([str(results), "--update", str(readme)])
    assert readme.read_text() == (f"# Title\n\n{readme_table.START}\n{readme_table.render(FIGURES)}"
                                  f"{readme_table.END}\n\nAfter.\n")
    bare = tmp_path / "OTHER.md"
    bare.write_text("no markers\n")
    with pytest.raises(SystemExit) as exc:
        readme_table.main([str(results), "--update", str(bare)])
    assert exc.value.code == f"readme_table: {bare} has no {readme_table.START} ... {readme_table.END} block"
    assert bare.read_text() == "no markers\n"


def test_the_speed_table_of_docs_performance_is_the_one_generated_from_bench_results():
    root = Path(__file__).resolve().parent.parent
    fig = json.loads((root / "bench" / "results.json").read_text(encoding="utf-8"))
    fig.update(json.loads((root / "bench" / "results-100k.json").read_text(encoding="utf-8")))
    doc = (root / "docs" / "performance.md").read_text(encoding="utf-8")
    assert f"{readme_table.START}\n{readme_table.render(fig)}{readme_table.END}" in doc


def test_a_knowledge_base_the_cache_cannot_load_back_is_not_left_in_it(cache, monkeypatch):
    from fractions import Fraction

    source = K.load_source

    def with_foreign_object(kb_dir=None, extra=()):
        kb = source(kb_dir, extra)
        kb.weights = {**kb.weights, "odd": Fraction(1, 3)}  # picklable, but not a knowledge class
        return kb

    monkeypatch.setattr(K, "load_source", with_foreign_object)
    kb = advisor.load_kb()
    assert kbcache.last["status"] == "uncached"
    assert kbcache.last["reason"] == "does not load back: unreadable: fractions.Fraction is not part of a knowledge base"
    assert kb.weights["odd"] == Fraction(1, 3)
    assert _compiled(cache) == []
