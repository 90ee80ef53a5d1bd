"""Random mutations of real log lines through the reader, the profiler and the runner, for a
bounded time: no crash, rows read = profiled + quarantined, and the other models unaffected.

The lines are those the SDK writes. One model (``victim``) gets mutated lines: bytes flipped,
inserted or cut, numbers and timestamps swapped for hostile ones (epoch milliseconds, 0, year
9999, NaN), deep nesting, NULs, CRs, thousands of features, whole lines duplicated or cut
short. Two other models send the same clean lines every time; their stored profiles must be
bit-for-bit those of a run without the victim (at this traffic no KLL sketch compacts, so
profiles are deterministic; see RELIABILITY.md), and no model may be reported as failing.

Each round's mutations come from ``random.Random(round)``, so a failure names the round that
reproduces it; the time budget only decides how many rounds run.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.ingest import open_reader, records_to_chunk
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import run_cycle
from vigil.store import MemoryStore

START = datetime(2026, 11, 20, tzinfo=UTC)
HOURS = 6
NOW = START + timedelta(hours=HOURS + 1)
MODELS = ("victim", "bystander-a", "bystander-b")
CONFIG = parse_config({"ingest": {"earliest": "2026-11-19"}})
READER_BUDGET_S = 6.0
RUNNER_BUDGET_S = 18.0


def _lines(model: str) -> list[bytes]:
    """Real log lines: records as the SDK encodes them, 20 an hour."""
    return [
        json.dumps(
            {
                "model": model,
                "version": "v1",
                "timestamp": (START + timedelta(minutes=3 * i)).isoformat().replace("+00:00", "Z"),
                "request_id": f"r{i}",
                "features": {"age": 20 + i % 50, "country": ("DE", "FR", "US")[i % 3], "x": i / 7},
                "outputs": {"score": (i % 10) / 10, "ranked": [0.9, 0.5]},
                "latency_ms": 5.0 + i % 13,
                "tags": {"region": "eu"},
            },
            separators=(",", ":"),
        ).encode()
        for i in range(20 * HOURS)
    ]


HOSTILE = [
    b"1764583200000", b"0", b'"9999-12-31T23:59:59Z"', b"-1", b"1e308", b"NaN", b"null", b'""',
    b'"\\u0000"', b"[" * 3000 + b"]" * 3000, b"{}", b"true", b"18446744073709551616",
]  # fmt: skip


def _mutate(line: bytes, rng: random.Random) -> bytes:
    data = bytearray(line)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(9)
        at = rng.randrange(len(data) + 1)
        if kind == 0 and data:  # flip a byte
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:  # insert random bytes (a newline may split the line in two)
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 2:  # cut short
            del data[at:]
        elif kind == 3:  # a hostile value after some key
            colon = data.find(b":", at)
            if colon >= 0:
                end = min(
                    i for i in (data.find(b",", colon), data.find(b"}", colon), len(data)) if i >= 0
                )
                data[colon + 1 : end] = rng.choice(HOSTILE)
        elif kind == 4:  # thousands of features
            many = b",".join(b'"f%d":%d' % (i, i) for i in range(rng.choice((5, 2500))))
            data = bytearray(data.replace(b'"features":{', b'"features":{' + many + b",", 1))
        elif kind == 5:  # a CR or NUL byte
            data[at:at] = rng.choice((b"\r", b"\x00", b"\r\n"))
        elif kind == 6:  # a hostile timestamp
            data = bytearray(
                data.replace(b'"timestamp":"', b'"timestamp":' + rng.choice(HOSTILE) + b',"t":"', 1)
            )
        elif kind == 7:  # duplicate a piece
            data[at:at] = data[rng.randrange(len(data) + 1) :][: rng.randint(1, 40)]
        else:  # a name too long, or one with a path in it
            name = rng.choice((b"victim/../x", b"victim" * 50, "\u6a21".encode() * 100))
            data = bytearray(data.replace(b'"victim"', b'"' + name + b'"', 1))
    return bytes(data)


def _victim_file(rng: random.Random) -> tuple[bytes, bool]:
    """The victim's file for one round: most lines mutated; sometimes gzip, sometimes CR ends."""
    lines = [_mutate(line, rng) if rng.random() < 0.7 else line for line in _lines("victim")]
    ends = rng.choice((b"\n", b"\r\n", b"\r"))
    data = ends.join(lines) + ends
    if rng.random() < 0.2:
        return gzip.compress(data, mtime=0) + rng.choice((b"", b"trailing garbage")), True
    return data, False


def _nonblank(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


def _logs(root: Path, victim: bytes | None, gz: bool = False) -> Path:
    for model in MODELS:
        folder = root / f"model={model}" / "version=v1" / "date=2026-11-20"
        folder.mkdir(parents=True, exist_ok=True)
        if model != "victim":
            (folder / "part.jsonl").write_bytes(b"\n".join(_lines(model)) + b"\n")
        elif victim is not None:
            (folder / ("part.jsonl.gz" if gz else "part.jsonl")).write_bytes(victim)
    return root


def _within(budget_s: float, work: Callable[[int], None], *, at_least: int) -> int:
    """Run ``work(round)`` for rounds 0, 1, ... until the budget is spent, and at least
    ``at_least`` rounds whatever the machine's speed; returns how many ran."""
    deadline = time.monotonic() + budget_s
    rounds = 0
    while rounds < at_least or time.monotonic() < deadline:
        work(rounds)
        rounds += 1
    return rounds


@pytest.mark.slow
def test_mutated_lines_through_the_reader_are_counted_never_fatal(tmp_path: Path) -> None:
    def one(round_: int) -> None:
        data, gz = _victim_file(random.Random(round_))
        path = tmp_path / f"round-{round_}.jsonl{'.gz' if gz else ''}"
        path.write_bytes(data)
        chunks = list(open_reader(path, now=NOW, chunk_rows=50).read())
        read = sum(c.rows_read for c in chunks)
        kept = sum(c.batch.num_rows for c in chunks)
        assert read == kept + sum(len(c.quarantined) for c in chunks), round_
        assert all(q.reason for c in chunks for q in c.quarantined), round_
        if not gz:
            assert read == _nonblank(data), round_
            chunk = records_to_chunk(
                [line for line in data.splitlines() if line.strip()], source="t", now=NOW
            )
            assert (chunk.rows_read, chunk.batch.num_rows) == (read, kept), round_

    _within(READER_BUDGET_S, one, at_least=30)


@pytest.mark.slow
def test_mutated_lines_of_one_model_through_the_runner_leave_the_others_unaffected(
    tmp_path: Path,
) -> None:
    clean = MemoryStore()
    run_cycle(
        config=CONFIG,
        store=clean,
        now=NOW,
        channels={},
        sources=[str(_logs(tmp_path / "clean", None))],
    )
    expected = {
        model: [p.to_bytes() for p in clean.profiles.get(model=model)] for model in MODELS[1:]
    }
    assert all(len(profiles) == HOURS for profiles in expected.values())

    def one(round_: int) -> None:
        data, gz = _victim_file(random.Random(round_))
        store = MemoryStore()
        root = _logs(tmp_path / f"round-{round_}", data, gz)
        summary = run_cycle(config=CONFIG, store=store, now=NOW, channels={}, sources=[str(root)])
        assert summary.failures == (), (round_, summary.failures)
        profiling = summary.profiling
        assert profiling is not None
        assert profiling.rows_read == profiling.rows_profiled + profiling.rows_quarantined
        if not gz:
            assert profiling.rows_read == _nonblank(data) + 2 * len(_lines("x")), round_
        for model, profiles in expected.items():
            assert [p.to_bytes() for p in store.profiles.get(model=model)] == profiles, round_
        # A replay covers the bystanders' data (data time: it ends at the last window with a
        # request, an hour later when a mutated line of the victim's lands there).
        assert summary.windows[0].start == START, round_
        assert START + timedelta(hours=HOURS) <= summary.windows[-1].end <= NOW, round_

    _within(RUNNER_BUDGET_S, one, at_least=8)  # round 7 once found a profiling failure
