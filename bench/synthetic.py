"""Grow the knowledge base for benchmarks: copy knowledge/ and add N-1 synthetic clones of it.

    python bench/synthetic.py 10 /tmp/kb10      # 10x the diseases and evidence items

Each clone k of a disease gets the id ``<id>-syn<k>``, the name ``<name> (synthetic <k>)``, the
same categories and populations, and its parent's clone as parent (so the tree keeps its shape);
synonyms, abbreviations and ICD-10-CM codes are left out so the clones never make a shipped name
ambiguous. Each evidence item is cloned onto the cloned disease, with the same source, route,
engineering, model, trial link and citations. Catalogues (sources, routes,
engineering options, categories, references, weights) are the shipped ones: what grows is what a
knowledge base grows in, diseases and evidence. The output directory passes ``msc-ev kb check``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml


class _NoAliases(yaml.SafeDumper):
    """Write shared lists out in full: knowledge files allow few YAML aliases (advisor/limits.py)."""

    def ignore_aliases(self, data):
        return True


ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "knowledge"
DROP_DISEASE = ("synonyms", "abbreviations", "note")
DROP_EVIDENCE = ("note",)


def _records(section: str) -> list[dict]:
    out: list[dict] = []
    for path in sorted(SHIPPED.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out.extend(doc.get(section) or ())
    return out


def grow(factor: int, dest: str | Path) -> Path:
    """Write a copy of the shipped knowledge grown ``factor`` times into ``dest``; return ``dest``."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(SHIPPED, dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    if factor <= 1:
        return dest
    diseases, evidence = _records("diseases"), _records("evidence")
    new_d, new_e = [], []
    for k in range(1, factor):
        suffix = f"-syn{k}"
        for d in diseases:
            c = {key: v for key, v in d.items() if key not in DROP_DISEASE}
            c["id"] = d["id"] + suffix
            c["name"] = f"{d['name']} (synthetic {k})"
            c["parent"] = d["parent"] + suffix if d.get("parent") else None
            c["icd10cm"] = None
            new_d.append(c)
        for e in evidence:
            c = {key: v for key, v in e.items() if key not in DROP_EVIDENCE}
            c["id"] = e["id"] + suffix
            c["disease"] = e["disease"] + suffix
            new_e.append(c)
    per = len(diseases)  # one file per copy: each stays well under the knowledge file size limit
    for k in range(0, factor - 1):
        d_part = new_d[k * per:(k + 1) * per]
        ids = {d["id"] for d in d_part}
        e_part = [e for e in new_e[k * len(evidence):(k + 1) * len(evidence)] if e["disease"] in ids]
        with open(dest / f"synthetic-{k + 1:03d}.yaml", "w", encoding="utf-8") as fh:
            fh.write(f"# Synthetic growth x{factor}, copy {k + 1} (bench/synthetic.py); not real knowledge.\n")
            yaml.dump({"diseases": d_part, "evidence": e_part}, fh, Dumper=_NoAliases, sort_keys=False,
                      allow_unicode=True, width=200)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/synthetic.py FACTOR DEST_DIR")
    out = grow(int(sys.argv[1]), sys.argv[2])
    print(out)
