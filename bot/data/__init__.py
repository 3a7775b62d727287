"""Bar feeds: every source of bars implements ``bot.data.base.BarFeed``."""
