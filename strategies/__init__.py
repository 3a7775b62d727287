"""Strategies turn what the market shows (and forecasts) into target weights; ``registry`` lists
them and builds the configured one."""
