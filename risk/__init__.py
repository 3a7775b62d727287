"""The risk layer: rules between strategy and broker, one rule per file, run by ``RiskGate``."""
