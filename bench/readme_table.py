"""Turn the JSON of ``bench/bench.py --json`` into the speed table of docs/performance.md (Markdown).

How the table is generated (on the 2-core CI machine, from the repository root):

    python bench/bench.py --json > bench/results.json
    python bench/bench.py --batch-100k > bench/results-100k.json
    python bench/readme_table.py bench/results.json --also bench/results-100k.json --update docs/performance.md

``--update FILE`` replaces everything between the lines ``<!-- speed-table:start -->`` and
``<!-- speed-table:end -->`` of FILE with the table (and fails if the markers are missing);
without it the table goes to stdout. Nothing in the table is typed by hand: each row is one or two
figures of the JSON, with the plain-Python baseline (the same rule declarations interpreted
without durable-rules, ``baseline_*``) beside each engine figure and the speed target in
the last column. A figure the JSON lacks (or holds as null) shows as "n/a".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

START, END = "<!-- speed-table:start -->", "<!-- speed-table:end -->"


def _f(fig: dict, key: str, fmt: str = "{:.2f}", unit: str = "") -> str:
    v = fig.get(key)
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    return fmt.format(v) + unit


def rows(fig: dict) -> list[tuple[str, str, str, str]]:
    """(measure, engine, plain-Python baseline, target) for every row of the table."""
    ms = lambda k, nd=2: _f(fig, k, f"{{:.{nd}f}}", " ms")  # noqa: E731
    out = [
        ("one-shot `advise --format json`, CPU", ms("cold_advise_cpu_ms", 0), "",
         f"<= {fig.get('target_cold_ratio', 1.5)}x deps"),
        ("  importing durable-rules, Typer, Rich, PyYAML, CPU", ms("cold_deps_cpu_ms", 0), "", ""),
        ("  ratio to the imports", _f(fig, "cold_ratio", "{:.2f}x"), "", ""),
        ("  the same with an empty compile cache, CPU", ms("cold_advise_nocache_cpu_ms", 0), "", ""),
        ("  the same advice as JSON through the library alone, CPU", ms("cold_library_json_cpu_ms", 0), "", ""),
        ("knowledge load 1x: from source / from cache",
         f"{ms('kb_load_source_ms_1x', 1)} / {ms('kb_load_cache_ms_1x', 1)}", "", ""),
        ("knowledge load 100x: from source / from cache",
         f"{ms('kb_load_source_ms_100x', 0)} / {ms('kb_load_cache_ms_100x', 0)}", "",
         f"cache < {fig.get('target_kb_load_cache_ms_100x', 500)} ms"),
        ("in-process consultation p50", ms("consult_p50_ms"), ms("baseline_consult_p50_ms"),
         f"<= {fig.get('target_consult_p50_ms', 1.5)} ms"),
        ("in-process consultation p95", ms("consult_p95_ms"), ms("baseline_consult_p95_ms"), ""),
        ("  reused (an equal fact set answered before), p50 / p95",
         f"{ms('consult_reused_p50_ms', 3)} / {ms('consult_reused_p95_ms', 3)}", "",
         f"<= {fig['target_consult_reused_p50_ms']} ms" if "target_consult_reused_p50_ms" in fig else ""),
        ("  engine.run alone / its durable-rules C calls alone, p50",
         f"{ms('floor_engine_run_p50_ms', 3)} / {ms('floor_c_alone_p50_ms', 3)}", "", ""),
        ("  resolve + prepare + advice (all but the engine), p50", ms("floor_resolve_prepare_advice_p50_ms", 3),
         "", ""),
        ("  JSON encoding of the advice, p50", ms("json_encode_p50_ms", 3), "", ""),
        ("  facts asserted per consultation, mean", _f(fig, "facts_asserted_mean", "{:.0f}"), "", ""),
        (f"batch, {_f(fig, 'batch_rows', '{:,}')} distinct diseases, --jobs 1",
         _f(fig, "batch_rows_per_s_jobs1", "{:,.0f}", " rows/s"), "", ""),
        (f"batch, {_f(fig, 'batch_rows', '{:,}')} distinct diseases, --jobs 2",
         _f(fig, "batch_rows_per_s_jobs2", "{:,.0f}", " rows/s"), "",
         f">= {fig.get('target_batch_rows_per_s_jobs2', 1000):,} rows/s"),
        (f"batch, {_f(fig, 'batch_rows', '{:,}')} distinct diseases, --jobs 2 --no-reuse",
         _f(fig, "batch_rows_per_s_jobs2_no_reuse", "{:,.0f}", " rows/s"), "", ""),
        ("  CPU per row, --jobs 1 / --jobs 2 (all processes)",
         f"{ms('batch_cpu_ms_per_row_jobs1')} / {ms('batch_cpu_ms_per_row_jobs2')}", "", ""),
        ("  per row in one process: resolving the text / the consultation, mean",
         f"{ms('row_resolve_mean_ms', 3)} / {ms('row_consult_mean_ms', 3)}", "", ""),
        ("  resolving a curated name or an ICD-10-CM title, p50", ms("row_resolve_p50_ms", 3), "",
         f"<= {fig.get('target_resolve_p50_ms', 0.2)} ms"),
        ("  distinct fact sets among the rows / consultations reused",
         f"{_f(fig, 'row_distinct_fact_sets', '{:,}')} / {_f(fig, 'row_reused_share', '{:.0%}')}", "", ""),
        ("  one consultation of an ICD-10-CM title, p50", ms("consult_icd_title_p50_ms"), "", ""),
        ("  --jobs 2 scaling / output identical to --jobs 1",
         f"{_f(fig, 'batch_scaling_jobs2', '{:.0%}')} / {_f(fig, 'batch_jobs2_identical')}", "", ">= 80% / yes"),
    ]
    if "batch_100k_rows" in fig:
        out.append((f"batch, {_f(fig, 'batch_100k_distinct', '{:,}')} distinct rows, --jobs 2: wall / largest RSS",
                    f"{_f(fig, 'batch_100k_wall_s', '{:.1f}', ' s')} / {_f(fig, 'batch_100k_max_rss_mb', '{:.0f}', ' MB')}",
                    "", f"< {fig.get('target_batch_100k_wall_s', 60)} s, flat"))
    for factor in (1, 10, 100):
        out.append((f"per consultation (9 names), knowledge {factor}x ({_f(fig, f'kb_diseases_{factor}x', '{:,}')} diseases)",
                    ms(f"per_consult_ms_{factor}x"), ms(f"baseline_per_consult_ms_{factor}x"), ""))
    out.append(("  10x over 1x", _f(fig, "scale_ratio_10x", "{:.2f}x"), "", ""))
    out.append(("  100x over 1x", _f(fig, "scale_ratio_100x", "{:.2f}x"), "",
                f"<= {fig.get('target_scale_ratio_100x', 1.5)}x"))
    return out


def render(fig: dict) -> str:
    head = ("measure", "msc-ev (durable-rules)", "plain-Python baseline", "target")
    body = rows(fig)
    w = [max(len(r[i]) for r in [head, *body]) for i in range(4)]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (n + 2) for n in w) + "|", *map(line, body), ""]
    out.append(f"Python {fig.get('python', '?')}, {fig.get('cpus', '?')} CPUs ({fig.get('cpu_model', '?')}), "
               f"load average {fig.get('load_avg_start', '?')} at the start and {fig.get('load_avg_end', '?')} at the end; "
               f"{'quick' if fig.get('quick') else 'full'} run of `bench/bench.py` in {fig.get('took_s', '?')} s; "
               f"baseline: {fig.get('baseline_note') or 'n/a'}.")
    return "\n".join(out) + "\n"


def update(path: Path, table: str) -> None:
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text or text.index(START) > text.index(END):
        raise SystemExit(f"readme_table: {path} has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table}{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default="-", help="the JSON of bench.py --json (default: stdin)")
    ap.add_argument("--update", metavar="FILE", help="replace the speed-table block of FILE (docs/performance.md)")
    ap.add_argument("--also", metavar="JSON", action="append", default=[],
                    help="more figures to merge in (bench.py --batch-100k)")
    args = ap.parse_args(argv)
    raw = sys.stdin.read() if args.results == "-" else Path(args.results).read_text(encoding="utf-8")
    try:
        fig = json.loads(raw)
    except ValueError as exc:
        raise SystemExit(f"readme_table: {args.results}: not JSON ({exc})") from None
    if not isinstance(fig, dict):
        raise SystemExit(f"readme_table: {args.results}: expected one JSON object")
    for extra in args.also:
        fig = {**fig, **json.loads(Path(extra).read_text(encoding="utf-8"))}
    table = render(fig)
    if args.update:
        update(Path(args.update), table)
    else:
        sys.stdout.write(table)


if __name__ == "__main__":
    main()
