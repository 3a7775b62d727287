"""Run as a subprocess by test_reconcile: journal an order as pending, then die before sending it.

Usage: python crash_after_journal.py JOURNAL RUN_ID CLIENT_ORDER_ID SYMBOL QTY
SIGKILL, not an exception: no finally block, atexit or flush runs, like a power cut of the process.
"""

import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.broker.base import Order, OrderRequest, OrderStatus, Side
from bot.journal.store import Journal

path, run_id, cid, symbol, qty = sys.argv[1:6]
journal = Journal(Path(path))
request = OrderRequest(cid, symbol, Side.BUY, int(qty))
journal.record_order(run_id, Order(request, datetime.now(UTC), OrderStatus.PENDING))
os.kill(os.getpid(), signal.SIGKILL)
raise SystemExit("unreachable: the order would be sent here")
