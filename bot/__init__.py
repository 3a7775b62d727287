"""Paper-trading bot: one pipeline (bars + news -> forecaster -> strategy -> risk gate -> broker)."""

__version__ = "0.1.0"
