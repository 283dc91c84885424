"""Records read on a daemon thread, so a slow pipe never blocks the event loop.

Reading standard input blocks until the other end writes; done on the loop, that would also
block SIGINT handling and the periodic checkpoint. A daemon thread (not the default executor,
which `asyncio.run` joins on exit) can be abandoned while blocked in a read.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncGenerator, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


async def threaded(
    records: Iterator[T], *, chunk: int = 256, depth: int = 8
) -> AsyncGenerator[T, None]:
    """Iterate `records` on a thread, handing them over `chunk` at a time.

    At most `depth` chunks wait in between (back-pressure on the reader). An exception in the
    reader is raised here. Close the async iterator (`contextlib.aclosing`) to stop the thread.
    """
    loop = asyncio.get_running_loop()
    handover: queue.Queue[object] = queue.Queue(depth)
    arrived = asyncio.Event()
    closed = threading.Event()

    def put(item: object) -> bool:
        while not closed.is_set():
            try:
                handover.put(item, timeout=0.2)
            except queue.Full:
                continue
            try:
                loop.call_soon_threadsafe(arrived.set)
            except RuntimeError:  # the loop is gone: nobody is reading any more
                return False
            return True
        return False

    def read() -> None:
        batch: list[T] = []
        try:
            for record in records:
                batch.append(record)
                if len(batch) >= chunk:
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(_DONE)
        except BaseException as exc:
            put(exc)
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()

    threading.Thread(target=read, name="replay-reader", daemon=True).start()
    try:
        while True:
            try:
                item = handover.get_nowait()
            except queue.Empty:
                arrived.clear()
                if handover.empty():  # checked again after clear(): no wake-up is lost
                    await arrived.wait()
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, list)
            for record in item:
                yield record
    finally:
        closed.set()
