"""Worker processes that die with the process that started them.

``vigil run`` profiles models and builds their series in a pool of processes (as many as the
store's ``workers``). A pool's workers wait on a queue; when the runner is killed (``kill -9``,
the OOM killer) nobody closes that queue and they wait for ever, each holding its memory. So
every worker asks the kernel to kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``), and
also watches its parent from a thread, which covers other systems and the moment between the
fork and that request.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1
WATCH_EVERY_S = 0.5


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` whose processes end when this process does."""
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)
    )


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY_S)
    os._exit(1)
