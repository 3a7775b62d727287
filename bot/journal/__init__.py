"""Durable state: the SQLite journal (``store``: opening, migrations, writes), its typed reads
(``reads``, returning the frozen rows of ``records``), its schema migrations (``schema``), the
daemon's heartbeat (``heartbeat``), and atomic file writes (``atomic_file``)."""
