"""Caches that validate themselves, and the bounds on what a knowledge directory may hold.

Each case is reproduced as a user meets it: the cache files of a real run are copied, damaged in
place (keeping size and mtime where the case says so), and the command is run again in a fresh
process. The answer must be the one a clean cache gives, with exactly one note on standard error;
nothing may be left behind when the cache directory cannot be written.
"""

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from msc_ev import advisor, cachefiles
from msc_ev.advisor import fileio, icd, kbcache

CLI = [sys.executable, "-c", "from msc_ev.cli import main; main()"]


@pytest.fixture(autouse=True)
def _fresh_notes(monkeypatch):
    # in-process tests: each starts as a new process would (no note given, no directory found unwritable)
    monkeypatch.setattr(cachefiles, "_noted", set())
    monkeypatch.setattr(cachefiles, "_unwritable", {})


def _run(args, cache: Path, tmpdir: Path | None = None, stdin: str | None = None, limit_bytes: int | None = None):
    env = {**os.environ, "MSC_EV_CACHE": str(cache), "COLUMNS": "100"}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)

    def limited():
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300, check=False,
                          input=stdin, preexec_fn=limited)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def warm(tmp_path):
    """A cache directory filled by one real run (knowledge, lexicon, rule copies, ICD-10-CM index)."""
    icd.index()
    cache = tmp_path / "cache"
    (cache / "msc-ev").mkdir(parents=True)
    for name in ("icd10cm.sqlite", icd.MANIFEST):  # the one slow cache to build; the run makes the others
        shutil.copy2(icd.cache_dir() / name, cache / "msc-ev" / name)
    code, _, err = _run(["advise", "heart failure", "-f", "json"], cache)
    assert (code, err) == (0, "")
    return cache


def _clean_answer(cache_src: Path, tmp_path: Path, args) -> str:
    clean = tmp_path / "clean"
    shutil.copytree(cache_src, clean)
    code, out, err = _run(args, clean)
    assert (code, err) == (0, "")
    return out


def _only(cache: Path, pattern: str) -> Path:
    (path,) = (cache / "msc-ev").glob(pattern)
    return path


def _keep_stat(path: Path, change) -> None:
    st = path.stat()
    change(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


# --- the knowledge compile cache and its derived tables -------------------------------------------

@pytest.mark.parametrize("pattern,kind", [("kb-*.pickle", "knowledge"), ("lexicon-*.pickle", "lexicon")])
def test_a_damaged_knowledge_cache_is_rebuilt_with_one_note(warm, tmp_path, pattern, kind):
    args = ["advise", "calvarial defect", "-f", "json"]
    want = _clean_answer(warm, tmp_path, args)
    path = _only(warm, pattern)

    def flip(p):
        blob = bytearray(p.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        p.write_bytes(bytes(blob))

    _keep_stat(path, flip)
    code, out, err = _run(args, warm)
    assert (code, out) == (0, want)
    assert err == (f"msc-ev: note: the knowledge cache {path} could not be used (digest mismatch); "
                   "rebuilt it from the knowledge files\n")
    assert _run(args, warm) == (0, want, "")  # rebuilt for good


def test_an_unreadable_knowledge_cache_entry_is_rebuilt_with_one_note(warm, tmp_path):
    args = ["advise", "stroke", "-f", "json"]
    want = _clean_answer(warm, tmp_path, args)
    path = _only(warm, "kb-*.pickle")
    path.unlink()
    path.mkdir()  # an entry that cannot be read as a file (root reads any file, whatever its mode)
    code, out, err = _run(args, warm)
    assert (code, out) == (0, want)
    assert err.startswith(f"msc-ev: note: the knowledge cache {path} could not be used (cannot read: ")
    assert err.count("\n") == 1


# --- the rule declarations' JSON copies -----------------------------------------------------------

def test_an_edited_hierarchy_copy_is_not_believed(warm, tmp_path):
    args = ["advise", "knee osteoarthritis", "-f", "json"]
    want = _clean_answer(warm, tmp_path, args)
    path = _only(warm, "hierarchy-*.json")
    head, body = path.read_text().split("\n", 1)
    doc = json.loads(body)
    assert doc["tiers"]["related"]["in-vivo"] == 3
    doc["tiers"]["related"]["in-vivo"] = 1  # still a valid table: only the seal can tell
    path.write_text(head + "\n" + json.dumps(doc))
    code, out, err = _run(args, warm)
    assert (code, out) == (0, want)
    assert err == (f"msc-ev: note: the cached copy {path} of hierarchy.yaml could not be used "
                   "(its hashes do not match its content); read the YAML again\n")
    # the edit did matter: the rules read from it would have ranked otherwise
    from msc_ev.rules import declare

    assert declare._tiers(doc) != declare.load_tiers()


# --- the ICD-10-CM index ----------------------------------------------------------------------------

def _batch(out: str, err: str, n: int) -> list[tuple[str, str]]:
    lines = err.splitlines()
    assert lines[-1].startswith(f"batch: {n} rows: {n} ok, 0 unknown, 0 ambiguous, 0 error in ")
    return [(r["status"], r["disease_id"]) for r in map(json.loads, out.splitlines())]


def test_an_icd_index_that_rots_in_place_is_rebuilt(warm, tmp_path):
    args = ["advise", "heart failure", "-f", "json"]
    want = _clean_answer(warm, tmp_path, args)
    db = _only(warm, "icd10cm.sqlite")

    def rot(p):  # most pages past the schema turn to 0xFF: same size, same mtime, so the stamp still matches
        with p.open("r+b") as fh:
            size = p.stat().st_size
            fh.seek(size // 5)
            fh.write(b"\xff" * (size * 7 // 10))

    _keep_stat(db, rot)
    # a batch: the curated rows and the ICD-10-CM rows are all answered (none "internal error")
    code, out, err = _run(["batch", "-", "-f", "jsonl"], warm, stdin="heart failure\nknee osteoarthritis\nG20\n")
    assert code == 0
    assert _batch(out, err, 3) == [("ok", "icd10cm:I50.9"), ("ok", "knee-osteoarthritis"), ("ok", "icd10cm:G20")]
    assert err.splitlines()[:-1] == [
        f"msc-ev: note: the ICD-10-CM index ({db}) could not be read (database disk image is malformed); "
        "rebuilding it"]
    # rebuilt in place, with a manifest that vouches for it: the next run is quiet and answers as before
    assert _run(args, warm) == (0, want, "")
    assert icd._valid(db, db.with_name(icd.MANIFEST), verify=True)


def test_a_row_whose_checksum_fails_rebuilds_the_index(warm, tmp_path):
    want = _clean_answer(warm, tmp_path, ["advise", "I50.9", "-f", "json"])
    db = _only(warm, "icd10cm.sqlite")

    def retitle(p):  # a rotted title that SQLite itself reads without complaint
        con = sqlite3.connect(p)
        con.execute("UPDATE codes SET title = 'Heart failure, unspecifieD' WHERE code = 'I50.9'")
        con.commit()
        con.close()

    _keep_stat(db, retitle)
    code, out, err = _run(["advise", "I50.9", "-f", "json"], warm)
    assert (code, out) == (0, want)
    assert json.loads(out)["query"]["disease"]["name"] == "Heart failure, unspecified"
    assert err == (f"msc-ev: note: the ICD-10-CM index ({db}) could not be read (checksum mismatch in the "
                   "row of 'I50.9'); rebuilding it\n")


def test_an_unwritable_cache_directory_works_from_memory_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file: nothing can be created under it, not even by root")
    scratch = tmp_path / "scratch"  # TMPDIR: where a temporary copy of the index would go
    scratch.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = _run(["batch", "-", "-f", "jsonl"], blocker, tmpdir=scratch,
                          stdin="heart failure\nParkinson's disease\nstroke\n")
    assert code == 0
    assert _batch(out, err, 3) == [("ok", "icd10cm:I50.9"), ("ok", "icd10cm:G20"), ("ok", "stroke")]
    assert err.splitlines()[:-1] == [
        f"msc-ev: note: cannot write the cache directory {blocker}/msc-ev (Not a directory); "
        "working from memory in this process (slower)"]
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert blocker.read_text().startswith("a regular file")


def test_an_unwritable_cache_is_tried_once_per_process(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("MSC_EV_CACHE", str(blocker))
    for _ in range(3):
        kb = advisor.load_kb()
        assert kbcache.last["status"] == "uncached"
        assert kbcache.last["reason"] == "cannot write: Not a directory"
    assert "osteoarthritis" in kb.diseases
    assert capsys.readouterr().err == (f"msc-ev: note: cannot write the cache directory {blocker}/msc-ev "
                                       "(Not a directory); working from memory in this process (slower)\n")


def test_a_failed_cache_write_removes_its_temporary_file(tmp_path, capsys):
    d = tmp_path / "c"
    d.mkdir()
    target = d / "entry.json"
    target.mkdir()
    (target / "inside").write_text("")  # a directory that is not empty: the rename onto it fails
    assert fileio.write_cache(target, b"data") is False
    assert sorted(p.name for p in d.iterdir()) == ["entry.json"]
    assert fileio.write_cache(d / "other.json", b"data") is True  # the directory itself is writable
    assert capsys.readouterr().err == (f"msc-ev: note: cannot write the cache file {target} (Directory not "
                                       "empty); it is made again next time\n")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert fileio.write_cache(blocker / "x.json", b"data") is False
    blocker.unlink()
    blocker.mkdir()  # writable now, but this process found it unwritable: not tried again
    assert fileio.write_cache(blocker / "y.json", b"data") is False
    assert list(blocker.iterdir()) == []
    assert capsys.readouterr().err == (f"msc-ev: note: cannot write the cache directory {blocker} (File "
                                       "exists); working from memory in this process (slower)\n")


# --- what a knowledge directory may be --------------------------------------------------------------

def test_an_oversized_knowledge_file_is_refused_by_its_size_before_it_is_read(tmp_path):
    overlay = tmp_path / "big"
    overlay.mkdir()
    with (overlay / "huge.yaml").open("wb") as fh:  # sparse: 3 GB on paper, nothing on disk
        fh.truncate(3 * 1024 ** 3)
    start = time.perf_counter()
    assert kbcache.key(None, [overlay]) is None
    assert time.perf_counter() - start < 1.0
    # in a process that could not even hold the file: refused with the limit, not a MemoryError
    code, out, err = _run(["--kb-extra", str(overlay), "advise", "stroke", "-f", "json"], tmp_path / "cache",
                          limit_bytes=1024 ** 3)
    assert (code, out) == (2, "")
    assert err == (f"msc-ev: knowledge base invalid: 1 error\n{overlay / 'huge.yaml'}:1:1: yaml: file larger than "
                   "4,194,304 bytes (limit MAX_KB_FILE_BYTES = 4,194,304)\n")


@pytest.mark.parametrize("flag", ["--kb", "--kb-extra"])
def test_an_empty_knowledge_path_is_a_usage_error(tmp_path, flag):
    code, out, err = _run([flag, "", "advise", "stroke", "-f", "json"], tmp_path)
    assert (code, out) == (2, "")
    assert err == ("msc-ev: an empty path names no knowledge directory: give --kb and --kb-extra a directory "
                   "of knowledge files (*.yaml), or leave --kb out for the shipped knowledge\n")


def test_the_filesystem_root_is_not_walked(tmp_path):
    start = time.perf_counter()
    code, out, err = _run(["--kb", "/", "kb", "check"], tmp_path)
    assert time.perf_counter() - start < 30
    assert (code, out) == (2, "")
    head, bound = err.splitlines()[:2]
    assert head == "msc-ev: knowledge base invalid: 2 errors"
    # whichever bound the walk meets first: too many entries, or a directory too deep
    assert bound.endswith((":1:1: kb: more than 10,000 files and directories under this knowledge directory "
                           "(limit MAX_KB_FILES = 10,000)",
                           ":1:1: kb: more than 8 levels of subdirectories in a knowledge directory "
                           "(limit MAX_KB_DEPTH = 8)")), bound
    assert bound.startswith("/")


def test_a_knowledge_directory_nested_too_deep_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    deep = tmp_path / "kb"
    (deep / "a/b/c/d/e/f/g/h/i").mkdir(parents=True)
    with pytest.raises(advisor.KnowledgeError) as exc:
        advisor.load_kb(None, [deep])
    assert [str(p) for p in exc.value.problems] == [
        "kb/a/b/c/d/e/f/g/h/i:1:1: kb: more than 8 levels of subdirectories in a knowledge directory "
        "(limit MAX_KB_DEPTH = 8)"]
    assert kbcache.key(None, [deep]) is None


def test_the_bounded_walk_finds_what_rglob_finds(tmp_path):
    assert fileio.yaml_files(advisor.kb.SHIPPED) == sorted(advisor.kb.SHIPPED.rglob("*.yaml"))
    d = tmp_path / "kb"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / ".hidden.yaml").write_text("")
    (d / "b.yaml").write_text("")
    (d / "notes.txt").write_text("")
    (d / "sub" / "a.yaml").write_text("")
    (d / "sub" / "deeper" / "c.yaml").write_text("")
    (d / "dir.yaml").mkdir()
    (d / "linked").symlink_to(d / "sub", target_is_directory=True)  # not followed, as rglob does not
    (d / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert fileio.yaml_files(d) == sorted(d.rglob("*.yaml"))
    assert len(fileio.yaml_files(d)) == 6
