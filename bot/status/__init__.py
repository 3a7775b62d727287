"""What ``status`` shows: gathered from the journal (``view``), read at the broker (``broker``),
and printed (``text``)."""
