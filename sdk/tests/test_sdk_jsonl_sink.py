"""JsonLinesSink: the Hive layout, hour/size/age rotation and whole lines only."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from vigil_sdk import (
    ConfigError,
    JsonLinesSink,
    Logger,
    SchemaError,
    partition_of,
    partition_path,
    partition_value,
)


def at(hour: int, minute: int, second: float) -> float:
    return datetime(2026, 11, 20, hour, minute, tzinfo=timezone.utc).timestamp() + second


class ListClock:
    """Hands out the given times in order (one per logged record)."""

    def __init__(self, times: list[float]) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def finished_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl"))


def temporary_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl.tmp"))


def read_records(files: list[Path]) -> list[dict[str, object]]:
    records = []
    for path in files:
        text = path.read_bytes()
        assert text.endswith(b"\n"), f"{path} ends in a half line"
        records += [json.loads(line) for line in text.splitlines()]
    return records


def test_records_land_in_hive_folders_by_their_own_hour(tmp_path: Path) -> None:
    times = [at(10, 59, 58.5), at(10, 59, 59.9), at(11, 0, 0.0), at(11, 30, 0)]
    sink = JsonLinesSink(tmp_path)
    with Logger("ranker", "v3", sink=sink, clock=ListClock(times), close_at_exit=False) as logger:
        for i in range(4):
            logger.log({"i": i})
    files = finished_files(tmp_path)
    assert temporary_files(tmp_path) == []
    folders = sorted({path.parent.relative_to(tmp_path).as_posix() for path in files})
    assert folders == [
        "model=ranker/version=v3/date=2026-11-20/hour=10",
        "model=ranker/version=v3/date=2026-11-20/hour=11",
    ]
    assert all(path.name.startswith("part-") for path in files)
    for path in files:
        hour = int(path.parent.name.removeprefix("hour="))
        for record in read_records([path]):
            assert isinstance(record["timestamp"], str)
            assert datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).hour == hour
    assert sorted(r["features"]["i"] for r in read_records(files)) == [0, 1, 2, 3]  # type: ignore[index]


def test_a_new_hour_finishes_the_previous_hours_file(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, rotate_seconds=3600)
    times = [at(10, 59, 59), at(11, 0, 1)]
    logger = Logger("m", "v", sink=sink, clock=ListClock(times), close_at_exit=False)
    logger.log({"i": 0})
    assert logger.flush(5)
    # still being written: only a .tmp file, which readers of *.jsonl skip
    assert finished_files(tmp_path) == []
    assert [p.parent.name for p in temporary_files(tmp_path)] == ["hour=10"]
    logger.log({"i": 1})
    assert logger.flush(5)
    assert [p.parent.name for p in finished_files(tmp_path)] == ["hour=10"]
    assert [p.parent.name for p in temporary_files(tmp_path)] == ["hour=11"]
    logger.close()
    assert [p.parent.name for p in finished_files(tmp_path)] == ["hour=10", "hour=11"]


def test_size_rotation_keeps_every_line_whole(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, rotate_bytes=2000)
    clock = ListClock([at(12, 0, i * 0.01) for i in range(500)])
    with Logger("m", sink=sink, clock=clock, batch_size=7, close_at_exit=False) as logger:
        for i in range(500):
            logger.log({"i": i, "pad": "x" * 20})
    files = finished_files(tmp_path)
    longest = max(len(line) for path in files for line in path.read_bytes().splitlines(True))
    sizes = [path.stat().st_size for path in files]
    # a file is finished by the first batch (at most 7 lines) that takes it to rotate_bytes;
    # only the file finished by close() may be smaller
    assert all(size < 2000 + 7 * longest for size in sizes)
    assert sum(size < 2000 for size in sizes) <= 1
    assert len(files) >= 2
    assert sorted(r["features"]["i"] for r in read_records(files)) == list(range(500))  # type: ignore[index]
    assert sink.files_finished == len(files)


def test_old_files_are_finished_on_an_idle_heartbeat(tmp_path: Path) -> None:
    clock = ManualClock()
    sink = JsonLinesSink(tmp_path, rotate_seconds=60, clock=clock)
    line = b'{"model":"m","version":"","timestamp":"2026-11-20T12:00:00.000000Z"}\n'
    sink.write([line])
    clock.now += 59
    sink.write([])
    assert finished_files(tmp_path) == []
    clock.now += 1
    sink.write([])
    assert len(finished_files(tmp_path)) == 1
    assert temporary_files(tmp_path) == []
    sink.write([line])  # a new part file in the same hour
    sink.close()
    assert len(finished_files(tmp_path)) == 2


def test_partition_of_reads_any_record_layout() -> None:
    fast = b'{"model":"a","version":"v1","timestamp":"2026-11-20T23:59:59.5Z","event":"label"}'
    assert partition_of(fast) == ("a", "v1", "2026-11-20", "23")
    reordered = b'{"timestamp":"2026-11-21T01:30:00+02:00","model":"a/b","version":"v"}'
    assert partition_of(reordered) == ("a/b", "v", "2026-11-20", "23")
    zulu = b'{"timestamp":"2026-11-20T23:59:59.5Z","model":"a","version":""}'  # Python 3.9 too
    assert partition_of(zulu) == ("a", "", "2026-11-20", "23")
    epoch = json.dumps({"model": "é", "timestamp": at(5, 0, 1)}).encode()
    assert partition_of(epoch) == ("é", "", "2026-11-20", "05")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"version": "v", "timestamp": 0}', "non-empty string model"),
        (b'{"model": "m", "timestamp": "2026-11-20T10:00:00"}', "with a zone"),
        (b'{"model": "m", "timestamp": "yesterday"}', "not ISO 8601"),
    ],
)
def test_unpartitionable_lines_fail_the_batch_before_writing(
    tmp_path: Path, line: bytes, reason: str
) -> None:
    sink = JsonLinesSink(tmp_path)
    good = b'{"model":"m","version":"","timestamp":"2026-11-20T12:00:00Z"}\n'
    with pytest.raises(SchemaError, match=reason):
        sink.write([good, line])
    sink.close()
    assert list(tmp_path.rglob("*")) == []


def test_partition_values_are_percent_encoded_and_decoded() -> None:
    path = partition_path(("fraud/eu", "v=2", "2026-11-20", "07"))
    assert path.parts[:2] == ("model=fraud%2Feu", "version=v%3D2")
    assert [partition_value(part) for part in path.parts] == ["fraud/eu", "v=2", "2026-11-20", "07"]


def test_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="0"):
        JsonLinesSink(tmp_path, rotate_bytes=0)
    with pytest.raises(ConfigError, match=r"-1\.0"):
        JsonLinesSink(tmp_path, rotate_seconds=-1.0)


def test_a_forked_child_logs_on_its_own_without_repeating_the_parents_records(
    tmp_path: Path,
) -> None:
    sink = JsonLinesSink(tmp_path)
    logger = Logger("m", sink=sink, flush_interval_s=60, close_at_exit=False)
    logger.log({"who": "parent-before-fork"})  # still buffered when the process forks
    pid = os.fork()
    if pid == 0:  # the child: its own thread, its own files, an empty buffer
        code = 1
        try:
            for _ in range(3):
                logger.log({"who": "child"})
            code = 0 if logger.close(timeout_s=10) and logger.stats().delivered == 3 else 2
        finally:
            os._exit(code)
    logger.log({"who": "parent"})
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert logger.close(timeout_s=10)
    records = read_records(finished_files(tmp_path))
    who = sorted(str(r["features"]["who"]) for r in records)  # type: ignore[index]
    assert who == ["child"] * 3 + ["parent", "parent-before-fork"]
    assert len({r["request_id"] for r in records}) == 5
