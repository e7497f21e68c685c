"""Regenerate the command outputs in README.md from real runs.

Every fenced block whose first line starts with ``$ msc-ev`` (or ``$ printf ... | msc-ev``, ``$ cat``)
is re-run command by command with COLUMNS=100 and no colour, from a scratch directory holding
the README's sample files, and the output under each ``$`` line is replaced. A command may end
with ``| head -N`` or ``| tail -N`` to keep its first or last N lines (the README shows ``...``). Run from the
repository root after a change that moves an output:

    python bench/readme_tour.py README.md
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FILES = {
    "diseases.txt": "# diseases to screen\nperinatal brain injury\nknee OA\nAD\nxyzzy\nglioblastoma\n",
    "broken/e.yaml": ("evidence:\n  - id: x-1\n    source: uc-msc\n    vesicle: exosome\n    species: human\n"
                      "    model: in-silico\n    disease: osteoarthritis\n    route: null\n    engineering: []\n"
                      "    effect: Made up for the README.\n    direction: supports\n    cites: [\"cai2020:26\"]\n"),
}


def run(cmd: str, cwd: str) -> tuple[str, int]:
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", TERM="dumb")
    keep = tail = None
    m = re.search(r"\s*\|\s*head -(\d+)\s*$", cmd)
    if m:
        keep, cmd = int(m.group(1)), cmd[:m.start()]
    m = re.search(r"\s*\|\s*tail -(\d+)\s*$", cmd)
    if m:
        tail, cmd = int(m.group(1)), cmd[:m.start()]
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=cwd, env=env)
    text = out.stdout + out.stderr
    lines = [line.rstrip() for line in text.splitlines()]
    if keep is not None and len(lines) > keep:
        lines = lines[:keep] + ["..."]
    if tail is not None and len(lines) > tail:
        lines = ["..."] + lines[-tail:]
    return "\n".join(lines), out.returncode


def main(path: str) -> int:
    readme = Path(path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in FILES.items():
            Path(tmp, name).parent.mkdir(parents=True, exist_ok=True)
            Path(tmp, name).write_text(body, encoding="utf-8")

        last = {"code": 0}

        def regenerate(body: str) -> str:
            out = []
            for part in re.split(r"(?m)^(?=\$ )", body):
                if not part.startswith("$ "):
                    continue
                cmd = part.splitlines()[0][2:]
                if cmd.startswith("echo $?"):
                    out.append(f"$ {cmd}\n{last['code']}")
                    continue
                res, last["code"] = run(cmd, tmp)
                out.append(f"$ {cmd}\n{res}" if res else f"$ {cmd}")
            return "\n\n".join(out) + "\n"

        lines, result, fence = readme.splitlines(keepends=True), [], None
        for line in lines:  # fences paired line by line: ``` opens (with or without a language) and closes
            if fence is None:
                result.append(line)
                if line.startswith("```"):
                    fence = [line.strip() == "```"]  # only plain fences hold console sessions
            elif line.startswith("```"):
                body = "".join(fence[1:])
                if fence[0] and body.lstrip().startswith("$ "):
                    body = regenerate(body)
                result.append(body)
                result.append(line)
                fence = None
            else:
                fence.append(line)
        new = "".join(result)
    Path(path).write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
