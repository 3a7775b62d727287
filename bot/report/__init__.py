"""Reports: performance metrics, PnL plots, (later) the daily email."""
