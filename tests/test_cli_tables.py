"""The CLI's tables: a header row, padded by display width (a Chinese character is two columns),
never wrapped into a pipe; `ccd status` as titled tables instead of a Python dict."""

from __future__ import annotations

from rich.cells import cell_len

from ccd.cli.status_view import render
from ccd.cli.tables import render_table


def test_columns_line_up_by_display_width() -> None:
    out = render_table([("队列", "left"), ("名称", "left"), ("等待", "right")],
                       [("general", "综合服务", "3"), ("english", "English service", "12")])
    lines = out.splitlines()
    assert lines[0].split() == ["队列", "名称", "等待"] and set(lines[1]) == {"─"}
    starts = {cell_len(line[:line.index(word)])
              for line, word in zip(lines, ["名称", "", "综合服务", "English"], strict=True)
              if word}
    assert len(starts) == 1  # the second column starts in one place on every line
    assert len({cell_len(line) for line in (lines[0], lines[2], lines[3])}) == 1


def test_a_long_row_is_never_wrapped_into_a_pipe() -> None:
    long = "很长的描述" * 40
    out = render_table([("号码", "left"), ("内容", "left")], [("1", long)])
    assert len(out.splitlines()) == 3 and long in out


def test_status_is_tables_not_a_python_dict() -> None:
    status = {"name": "演示水务热线", "uptime_s": 90061.5, "database_bytes": 1548392,
              "sip": {"workers": [{"index": 0, "port": 5062, "calls": 2, "alive": True}],
                      "calls": 2},
              "acd": {"queues": 5, "waiting": 1}}
    out = render(status, "zh")
    assert "{" not in out and "[" not in out and "'" not in out
    assert "已运行" in out and "1d 01:01:01" in out and "1.5 MB" in out
    assert "SIP 电话 · workers" in out and "是" in out
    lines = out.splitlines()
    worker = next(line for line in lines if line.startswith("0"))
    assert worker.split() == ["0", "5062", "2", "是"]
