"""News: RSS and Alpaca headlines, finance-tuned VADER sentiment, sentiment features for bars."""
