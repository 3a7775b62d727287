"""One module per CLI command; ``bot.__main__`` imports them lazily so light commands stay light."""
