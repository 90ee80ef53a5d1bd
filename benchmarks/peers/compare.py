"""Vigil and its peers on the same labelled month: ``vigil bench quality``'s judge for all.

Run with Vigil's environment; each peer runs in its own (``README.md`` beside this file)::

    .venv/bin/python benchmarks/peers/compare.py --rows 5000 --seed 2027 \\
        --peer evidently=/path/to/evidently-env/bin/python --peer nannyml=... --peer whylogs=...

Prints one JSON object: Vigil's month (as ``vigil bench quality --json``) and, per peer, each
change caught or not with its delay (a peer compares whole days, so it can speak at a day's
end), false-alarm column-days, and for NannyML the CBPE estimation MAE against its realised
values on days without concept shift.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from vigil.bench.quality import REFERENCES, result_json, run_quality_month
from vigil.bench.quality_judging import CLEAN_DAYS, judge_daily_flags
from vigil.lab.simulation.quality_month import simulate_quality_month

HERE = Path(__file__).parent
DAY = timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--peer", action="append", default=[], help="NAME=PYTHON")
    parser.add_argument("--skip-vigil", action="store_true")
    parser.add_argument(
        "--vigil-reference",
        action="append",
        choices=REFERENCES,
        help="Vigil's drift reference (repeat for several; default: trailing). The peers "
        "compare with the month's first week, as Vigil's first-week reference does.",
    )
    args = parser.parse_args()
    out: dict[str, object] = {"rows_per_day": args.rows, "seed": args.seed}
    for reference in [] if args.skip_vigil else args.vigil_reference or ["trailing"]:
        name = "vigil" if reference == "trailing" else f"vigil-{reference}"
        out[name] = result_json(
            run_quality_month(rows_per_day=args.rows, seed=args.seed, reference=reference)
        )
        print(f"{name} done", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        month = simulate_quality_month(Path(folder), rows_per_day=args.rows, seed=args.seed)
        for spec in args.peer:
            name, python = spec.split("=", 1)
            done = subprocess.run(
                [python, str(HERE / "run_peer.py"), name, folder],
                check=True,
                capture_output=True,
                text=True,
            )
            found = json.loads(done.stdout.strip().splitlines()[-1])
            flagged = {int(day): cols for day, cols in found["flagged"].items()}
            alerts: list[int] = []
            result: dict[str, object] = {}
            if "performance" in found:
                days = found["days"]
                perf = found["performance"]
                alerts = sorted(
                    {
                        day
                        for metric in perf.values()
                        for day, hit in zip(days, metric["realised_alert"], strict=True)
                        if hit
                    }
                )
                concept = [c for c in month.changes if c.kind == "concept"]
                mae = {}
                for metric, values in perf.items():
                    gaps = []
                    for day, est, real in zip(
                        days, values["estimated"], values["realised"], strict=True
                    ):
                        start = month.start + day * DAY
                        shifted = any(c.start < start + DAY and start < c.end for c in concept)
                        last = day >= (month.end - month.start).days - 1
                        if day >= CLEAN_DAYS and not shifted and not last and math.isfinite(real):
                            gaps.append(abs(est - real))
                    mae[metric] = round(sum(gaps) / len(gaps), 4) if gaps else None
                result["estimation_mae"] = mae
                result["realised_alert_days"] = alerts
            judged = judge_daily_flags(month, flagged, performance_alerts=alerts)
            result.update(
                caught=sum(c.caught for c in judged.changes),
                changes=[
                    {
                        "kind": c.kind,
                        "caught": c.caught,
                        "delay_h": round(c.delay_h, 1) if c.caught else None,
                    }
                    for c in judged.changes
                ],
                false_alarm_column_days=judged.false_alarm_days,
                unchanged_column_days=judged.unchanged_column_days,
                false_alarm_columns=list(judged.false_alarm_columns),
            )
            out[name] = result
            print(f"{name} done", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
