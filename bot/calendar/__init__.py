"""Market time: bar timeframes and New York time (``timeframes``), and the exchange's trading
sessions (``exchange``)."""
