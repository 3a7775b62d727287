"""Many journal times in one string: a replay's tens of thousands of bar and equity times.

Each time is its ``iso`` text (``bot.journal.records.iso``), all of one width, laid end to end.
Made at once by array arithmetic (``bot.engine.replay_steps.iso_stamps``) and handed to the
journal's write-behind worker as one string, which the worker cuts into its rows; a Python
string per time would cost the replay more to make and to hand over than the write itself.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence


class PackedStamps(Sequence[str]):
    """``len(text) // width`` times of ``width`` characters each (a sequence of ``str``)."""

    __slots__ = ("text", "width")

    def __init__(self, text: str, width: int) -> None:
        if width <= 0 or len(text) % width:
            raise ValueError(f"{len(text)} characters are not whole times of {width}")
        self.text = text
        self.width = width

    def __len__(self) -> int:
        return len(self.text) // self.width

    def __getitem__(self, i):  # type: ignore[override]  (an int or a slice, as a list's)
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                return list(self)[i]
            width = self.width
            return PackedStamps(self.text[start * width : max(start, stop) * width], width)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("time index out of range")
        return self.text[i * self.width : (i + 1) * self.width]

    def __iter__(self) -> Iterator[str]:
        text, width = self.text, self.width
        return (text[i : i + width] for i in range(0, len(text), width))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedStamps):
            return self.text == other.text and self.width == other.width
        return isinstance(other, Sequence) and list(self) == list(other)
