"""Read-ahead and write-behind keep order and hand errors back to the caller."""

import threading

import pytest

from mnistvec.encoding.pipeline import WriteBehind, prefetch


def test_prefetch_keeps_order_and_reraises():
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise OSError("disk went away")

    got = []
    with pytest.raises(OSError, match="disk went away"):
        for item in prefetch(broken()):
            got.append(item)
    assert got == [1]


def test_prefetch_stops_its_thread_when_the_consumer_stops():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    for item in prefetch(endless(), depth=2):
        if item == 3:
            break
    before = threading.active_count()
    count = len(produced)
    threading.Event().wait(0.3)
    assert len(produced) <= count + 1 and threading.active_count() <= before


def test_write_behind_runs_jobs_in_order_and_surfaces_errors():
    done = []
    with WriteBehind() as writer:
        for i in range(10):
            writer.submit(lambda i=i: done.append(i))
    assert done == list(range(10))
    writer = WriteBehind()
    writer.submit(lambda: (_ for _ in ()).throw(PermissionError("read-only")))
    with pytest.raises(PermissionError):
        writer.drain()


def test_steady_heap_applies_on_glibc():
    import platform

    from mnistvec.encoding.pipeline import steady_heap

    assert steady_heap() is (platform.libc_ver()[0] == "glibc")
