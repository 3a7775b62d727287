"""The journal's schema as migrations: ``MIGRATIONS[i]`` moves a file from version i to i + 1
(``PRAGMA user_version``). Append a migration; never edit one that has shipped."""

MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        mode TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        source TEXT,
        synthetic INTEGER NOT NULL DEFAULT 0,
        strategy TEXT,
        symbols TEXT,
        timeframe TEXT,
        config TEXT,
        summary TEXT
    );
    CREATE TABLE bars (
        source TEXT NOT NULL,
        symbol TEXT NOT NULL,
        timeframe TEXT NOT NULL,
        ts TEXT NOT NULL,
        open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,
        volume REAL NOT NULL,
        PRIMARY KEY (source, symbol, timeframe, ts)
    ) WITHOUT ROWID;
    CREATE TABLE headlines (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        guid TEXT NOT NULL,
        published_at TEXT,
        fetched_at TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT,
        link TEXT,
        symbols TEXT,
        score REAL,
        scorer_version TEXT,
        UNIQUE (source, guid)
    );
    CREATE TABLE predictions (
        run_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        symbol TEXT NOT NULL,
        model TEXT NOT NULL,
        value REAL NOT NULL
    );
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        strategy TEXT NOT NULL,
        symbol TEXT NOT NULL,
        target_weight REAL,
        current_qty INTEGER NOT NULL,
        requested_qty INTEGER NOT NULL,
        approved_qty INTEGER NOT NULL,
        verdict TEXT NOT NULL,
        rule TEXT,
        reason TEXT,
        client_order_id TEXT
    );
    CREATE INDEX decisions_run ON decisions (run_id, ts);
    CREATE TABLE orders (
        run_id TEXT NOT NULL,
        client_order_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty INTEGER NOT NULL,
        type TEXT NOT NULL,
        limit_price REAL,
        stop_price REAL,
        protective INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        reason TEXT,
        broker_order_id TEXT,
        filled_qty INTEGER NOT NULL DEFAULT 0,
        filled_avg_price REAL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (run_id, client_order_id)
    );
    CREATE INDEX orders_status ON orders (status);
    CREATE TABLE fills (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        client_order_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty INTEGER NOT NULL,
        price REAL NOT NULL,
        commission REAL NOT NULL
    );
    CREATE INDEX fills_run ON fills (run_id, ts);
    CREATE TABLE equity (
        run_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        cash REAL NOT NULL,
        equity REAL NOT NULL,
        positions_value REAL NOT NULL,
        PRIMARY KEY (run_id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE control (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT,
        reason TEXT
    );
    """,
    # 1 -> 2: headlines keep whether their time was estimated, their label and a de-dup key
    """
    ALTER TABLE headlines ADD COLUMN published_estimated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE headlines ADD COLUMN label TEXT;
    ALTER TABLE headlines ADD COLUMN title_key TEXT;
    CREATE INDEX headlines_title_key ON headlines (title_key);
    CREATE INDEX headlines_published ON headlines (published_at);
    """,
    # 2 -> 3: the spans of downloaded bars the bars table holds completely (a feed's local cache,
    # see ``Journal.cached_bars``); start_ts/end_ts because "end" is an SQL keyword
    """
    CREATE TABLE bar_cache_ranges (
        source TEXT NOT NULL,
        symbol TEXT NOT NULL,
        timeframe TEXT NOT NULL,
        start_ts TEXT NOT NULL,
        end_ts TEXT NOT NULL,
        stored_at TEXT NOT NULL
    );
    CREATE INDEX bar_cache_ranges_key ON bar_cache_ranges (source, symbol, timeframe);
    """,
    # 3 -> 4: an entry's protective stop, so an order resent after a crash keeps its stop
    """
    ALTER TABLE orders ADD COLUMN protective_stop REAL;
    """,
    # 4 -> 5: the broker's id of an entry's protective leg: Alpaca may stop nesting a leg under its
    # entry once the entry fills, and then the bot knows the leg only by this id
    """
    ALTER TABLE orders ADD COLUMN leg_order_id TEXT;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
