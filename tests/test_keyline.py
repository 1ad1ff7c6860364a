"""The key line breaks between pairs, never inside one, and counts Chinese as two cells."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from tui.keyline import key_line

PAIRS = [("F2", "就绪/示忙"), ("F3", "接听"), ("F4", "挂机"), ("^O", "签出"), ("q", "[退出]")]


def plain(markup: str) -> list[str]:
    return Text.from_markup(markup).plain.split("\n")


def test_pairs_stay_whole_and_lines_fit() -> None:
    lines = plain(key_line(PAIRS, 21))
    assert lines == ["F2 就绪/示忙  F3 接听", "F4 挂机  ^O 签出", "q [退出]"]
    assert all(cell_len(line) <= 21 for line in lines)


def test_no_width_means_one_line() -> None:
    assert plain(key_line(PAIRS, 0)) == ["F2 就绪/示忙  F3 接听  F4 挂机  ^O 签出  q [退出]"]


def test_a_pair_wider_than_the_line_gets_a_line_of_its_own() -> None:
    assert plain(key_line([("F2", "x" * 30), ("F3", "y")], 10)) == ["F2 " + "x" * 30, "F3 y"]
