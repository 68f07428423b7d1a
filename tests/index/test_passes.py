"""The build's model passes (index.passes): two at a time, every result in its place, one progress."""

from __future__ import annotations

import threading

import pytest

from index.passes import Pass, run_passes


def test_passes_run_two_at_a_time_and_each_result_comes_back_in_order() -> None:
    running, most = 0, 0
    lock = threading.Lock()
    both = threading.Barrier(2, timeout=10)  # only two passes running at once can pass it

    def reader(tag: str):  # noqa: ANN202
        def read(texts: list[str], progress) -> list[str]:  # noqa: ANN001
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            if tag in ("a", "b"):
                both.wait()
            progress(len(texts))
            with lock:
                running -= 1
            return [f"{tag}:{t}" for t in texts]
        return read

    told: list[int] = []
    got = run_passes([Pass("a", ["1", "2"], reader("a")), Pass("b", ["3"], reader("b")),
                      Pass("none", [], reader("n")), Pass("c", ["4"], reader("c"))], on_read=told.append)
    assert got == [["a:1", "a:2"], ["b:3"], None, ["c:4"]]  # a pass with no text is not run
    assert most == 2 and sum(told) == 4


def test_the_first_error_is_raised_after_every_started_pass_has_ended() -> None:
    ended = threading.Event()

    def slow(texts: list[str], progress) -> None:  # noqa: ANN001
        threading.Event().wait(0.2)
        ended.set()

    def failing(texts: list[str], progress) -> None:  # noqa: ANN001
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_passes([Pass("failing", ["x"], failing), Pass("slow", ["y"], slow)])
    assert ended.is_set()


def test_one_worker_runs_the_passes_one_after_another() -> None:
    order: list[str] = []

    def reader(tag: str):  # noqa: ANN202
        def read(texts: list[str], progress) -> str:  # noqa: ANN001
            order.append(tag)
            return tag
        return read

    assert run_passes([Pass("a", ["1"], reader("a")), Pass("b", ["2"], reader("b"))], workers=1) == ["a", "b"]
    assert order == ["a", "b"]
