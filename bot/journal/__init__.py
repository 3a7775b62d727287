"""Durable state: the SQLite journal (``store``: opening, migrations, writes), its typed reads
(``reads``, returning the frozen rows of ``records``), its schema migrations (``schema``), the
daemon's heartbeat (``heartbeat``), position accounting from fills (``positions``: quantity and
average cost, for status and the reports), and atomic file writes (``atomic_file``)."""
