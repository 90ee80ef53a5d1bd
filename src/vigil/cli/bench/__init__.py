"""``vigil bench …``: benchmarks that print measured numbers.

``vigil bench NAME`` lives in ``bench/NAME.py`` (a dash in the name is an underscore in the
file); the measuring is in :mod:`vigil.bench`, and each module here only parses and prints.
"""

from __future__ import annotations

import typer

from vigil.cli.bench import (
    calm,
    deep,
    deep_lodo,
    deep_speed,
    deepar,
    detect,
    e2e,
    ingest,
    load,
    lodo,
    nab,
    profile,
    quality,
    realtime,
    realtime_feed,
    scale,
    sdk,
    server,
    stats,
    store,
    watch,
)

bench_app = typer.Typer(help="Benchmarks that print measured numbers.", no_args_is_help=True)

bench_app.command("detect")(detect.detect)
bench_app.command("nab")(nab.nab)
bench_app.command("lodo")(lodo.lodo)
bench_app.command("sdk")(sdk.sdk)
bench_app.command("profile")(profile.profile)
bench_app.command("store")(store.store)
bench_app.command("stats")(stats.stats)
bench_app.command("ingest")(ingest.ingest)
bench_app.command("server")(server.server)
bench_app.command("load")(load.load)
bench_app.command("realtime")(realtime.realtime)
bench_app.command("realtime-feed")(realtime_feed.realtime_feed)
bench_app.command("deepar")(deepar.deepar)
bench_app.command("deep")(deep.deep)
bench_app.command("deep-speed")(deep_speed.deep_speed)
bench_app.command("deep-lodo")(deep_lodo.deep_lodo)
bench_app.command("scale")(scale.scale)
bench_app.command("quality")(quality.quality)
bench_app.command("e2e")(e2e.e2e)
bench_app.command("watch")(watch.watch)
bench_app.command("calm")(calm.calm)
