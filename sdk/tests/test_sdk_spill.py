"""The spill folder: whole files, oldest first, one sender per file, recovery after a crash."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from vigil_sdk import (
    ConfigError,
    FlushReport,
    HttpSink,
    Logger,
    Losses,
    MemorySink,
    SinkError,
    Spill,
)
from vigil_sdk.courier import Courier


def line(i: int) -> bytes:
    return b'{"model":"m","version":"v","timestamp":"2026-11-20T12:00:00Z","request_id":"%d"}\n' % i


def test_batches_come_back_whole_and_oldest_first(tmp_path: Path) -> None:
    spill = Spill(tmp_path, model="fraud/eu", version="v2")
    assert spill.folder == tmp_path / "model=fraud%2Feu" / "version=v2"
    spill.append([line(0), line(1)])
    spill.append([line(2)])
    first = spill.claim_oldest()
    assert first is not None and first.lines == [line(0), line(1)]
    assert first.path.name.endswith(f".sending-{os.getpid()}")
    second = spill.claim_oldest()
    assert second is not None and second.lines == [line(2)]
    assert spill.claim_oldest() is None  # both claimed
    spill.release(second)  # its send failed: it waits again
    spill.remove(first)
    again = spill.claim_oldest()
    assert again is not None and again.lines == [line(2)]
    spill.remove(again)
    assert list(spill.folder.iterdir()) == []


def test_two_processes_never_send_one_file_twice(tmp_path: Path) -> None:
    spill = Spill(tmp_path, model="m", version="v")
    for i in range(200):
        spill.append([line(i)])
    read_end, write_end = os.pipe()
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # a worker of a pre-fork server, sending what it can claim
            code = 1
            try:
                os.close(read_end)
                mine = Spill(tmp_path, model="m", version="v")
                while (batch := mine.claim_oldest()) is not None:
                    os.write(write_end, batch.lines[0])
                    mine.remove(batch)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        sent = pipe.read().splitlines(keepends=True)
    for pid in children:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert sorted(sent) == sorted(line(i) for i in range(200))  # each exactly once


def test_recover_takes_back_what_a_dead_process_left(tmp_path: Path) -> None:
    spill = Spill(tmp_path, model="m", version="v")
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    folder = spill.folder
    (folder / f"00000000000000000001-a.jsonl.sending-{dead}").write_bytes(line(1))
    (folder / f"00000000000000000002-b.jsonl.tmp-{dead}").write_bytes(line(2) + b'{"half')
    (folder / f"00000000000000000003-c.jsonl.tmp-{dead}").write_bytes(b'{"half')
    live = os.getppid()  # a live process that is not this one: its claim stays its own
    (folder / f"00000000000000000004-d.jsonl.sending-{live}").write_bytes(line(4))
    assert spill.recover() == 2
    assert [p.name for p in spill.waiting()] == [
        "00000000000000000001-a.jsonl",
        "00000000000000000002-b.jsonl",
    ]
    assert (folder / "00000000000000000002-b.jsonl").read_bytes() == line(2)  # whole lines only
    assert (folder / f"00000000000000000004-d.jsonl.sending-{live}").exists()


def test_a_full_spill_refuses_the_batch_and_the_logger_counts_it(tmp_path: Path) -> None:
    spill = Spill(tmp_path, model="m", version="v", max_bytes=3 * len(line(0)))
    spill.append([line(0), line(1)])
    with pytest.raises(SinkError, match=rf"max_bytes={3 * len(line(0))}"):
        spill.append([line(2), line(3)])
    spill.append([line(2)])  # what fits still goes in

    class Down:
        def write(self, lines: list[bytes]) -> None:
            if lines:
                raise SinkError("down")

        def close(self) -> None:
            """Nothing to release."""

    logger = Logger("m", sink=Down(), spill_dir=tmp_path / "s", spill_max_bytes=2500,
                    batch_size=10, flush_interval_s=60, close_at_exit=False)  # fmt: skip
    for i in range(100):
        logger.log({"i": i})
    report = logger.close(timeout_s=10)
    assert report.spilled + report.lost.spill_failed == 100
    assert report.spilled > 0 and report.lost.spill_failed > 0
    assert report.spilled % 10 == 0  # whole batches only
    assert sum(path.stat().st_size for path in (tmp_path / "s").rglob("*.jsonl")) <= 2500
    assert not report


class FlakySink(MemorySink):
    """Refuses batches while ``down`` is set, like a server that restarts now and then."""

    def __init__(self) -> None:
        super().__init__()
        self.down = threading.Event()

    def write(self, lines: list[bytes]) -> None:
        if lines and self.down.is_set():
            raise SinkError("restarting")
        super().write(lines)


def test_records_reach_a_flaky_sink_once_each_in_the_order_logged(tmp_path: Path) -> None:
    sink = FlakySink()
    logger = Logger("m", sink=sink, spill_dir=tmp_path, spill_retry_s=0.01, batch_size=50,
                    flush_interval_s=0.01, close_at_exit=False)  # fmt: skip
    ids = []
    for chunk in range(20):
        if chunk % 5 == 1:
            sink.down.set()
        if chunk % 5 == 3:
            sink.down.clear()
        ids += [logger.log({"i": i}) for i in range(100)]
        assert logger.flush(timeout_s=5)
    sink.down.clear()
    logger.flush(timeout_s=5)
    assert logger.close(timeout_s=10)
    stats = logger.stats()
    assert stats.lost == Losses() and stats.pending == 0
    assert stats.delivered + stats.spilled == 2_000
    assert stats.replayed == stats.spilled > 0  # the outages really spilled
    assert [r["request_id"] for r in sink.records()] == ids


def test_replay_waits_retry_s_after_a_failure(tmp_path: Path) -> None:
    sink = FlakySink()
    sink.down.set()
    now = [100.0]
    errors: list[str] = []
    spill = Spill(tmp_path, model="m", version="v")
    courier = Courier(
        sink,
        spill,
        retry_s=10.0,
        on_error=lambda _, what: errors.append(what),
        clock=lambda: now[0],
    )
    assert courier.send([line(0)]).spilled == 1 and courier.spilling
    sink.down.clear()
    assert courier.send([line(1)]).spilled == 1  # behind the spilled batch, not around it
    now[0] = 109.9
    assert courier.replay(between=lambda: None) == 0  # not yet due
    now[0] = 110.0
    assert courier.replay(between=lambda: None) == 2
    assert not courier.spilling
    assert courier.send([line(2)]).delivered == 1
    assert [json.loads(x)["request_id"] for x in sink.lines] == ["0", "1", "2"]
    assert errors == ["spilling to " + repr(str(tmp_path / "model=m" / "version=v"))]


def test_http_sink_gives_a_failing_server_one_attempt_per_batch() -> None:
    sleeps: list[float] = []
    sink = HttpSink("http://127.0.0.1:9", max_retries=3, backoff_s=1.0, sleep=sleeps.append)
    with pytest.raises(SinkError, match="after 4 attempts"):
        sink.write([line(0)])
    assert sleeps == [1.0, 2.0, 4.0]
    with pytest.raises(SinkError, match="after 1 attempts"):
        sink.write([line(1)])  # known to be down: no retries, no sleeping
    assert sleeps == [1.0, 2.0, 4.0]


def test_flush_report_is_true_only_when_nothing_is_lost_or_pending() -> None:
    assert FlushReport(delivered=3, spilled=2, lost=Losses(), pending=0)
    assert not FlushReport(delivered=3, spilled=0, lost=Losses(), pending=1)
    assert not FlushReport(delivered=3, spilled=0, lost=Losses(buffer_full=1), pending=0)
    assert str(Losses(buffer_full=2, sink_failed=1)) == "buffer_full=2, sink_failed=1"
    assert Losses(unencodable=2, after_close=1).after_buffer == 2
    with pytest.raises(ValueError, match="-1"):
        Losses(sink_failed=-1)


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [({"spill_retry_s": 0.0}, "0.0"), ({"spill_max_bytes": 0}, "max_bytes must be at least 1")],
)
def test_bad_spill_settings_are_refused(
    tmp_path: Path, kwargs: dict[str, float], quoted: str
) -> None:
    with pytest.raises(ConfigError, match=quoted):
        Logger("m", sink=MemorySink(), spill_dir=tmp_path, close_at_exit=False, **kwargs)  # type: ignore[arg-type]
