"""Brokers: ``SimBroker`` (simulated fills) and, later, ``AlpacaBroker`` (paper account)."""
