"""Log positions: complete lines only, for files and for commands with a sliding window."""

from __future__ import annotations

import sys

from conformance.sut.logs import LogCommand, LogFile, after_anchor


def test_mark_counts_complete_lines_only(tmp_path):
    path = tmp_path / "sut.log"
    path.write_text("one\ntwo\nthr")
    log = LogFile(path)
    mark = log.mark()
    assert mark == 2
    with open(path, "a") as handle:
        handle.write("ee\nfour\n")
    assert log.lines(mark) == ["three", "four"]
    assert log.lines(0) == ["one", "two", "three", "four"]


def test_a_missing_file_has_no_lines_yet(tmp_path):
    log = LogFile(tmp_path / "later.log")
    assert log.mark() == 0
    (tmp_path / "later.log").write_text("a\n")
    assert log.lines(0) == ["a"]


def test_a_truncated_file_is_read_again_from_the_start(tmp_path):
    path = tmp_path / "sut.log"
    path.write_text("old line one\nold line two\n")
    log = LogFile(path)
    log.mark()
    path.write_text("new\n")
    assert log.lines(0) == ["new"]


def test_command_lines_after_a_mark_follow_the_remembered_lines(tmp_path):
    path = tmp_path / "window.log"
    path.write_text("a\nb\nc\n")
    log = LogCommand(f"{sys.executable} -c 'import sys; print(open(sys.argv[1]).read(), end=\"\")' {path}")
    mark = log.mark()
    path.write_text("b\nc\nd\ne\n")  # the window slid: "a" is gone
    assert log.lines(mark) == ["d", "e"]
    assert log.lines(0) == ["b", "c", "d", "e"]


def test_lines_after_an_anchor_that_scrolled_away_are_all_lines():
    assert after_anchor(["x", "y"], ["a", "b"]) == ["x", "y"]


def test_a_repeated_anchor_never_hides_lines():
    assert after_anchor(["a", "b", "n1", "a", "b", "n2"], ["a", "b"]) == ["n1", "a", "b", "n2"]
