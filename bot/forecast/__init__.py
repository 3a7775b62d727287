"""Forecasting: window features, the LSTM, baselines, evaluation statistics and the model registry."""
