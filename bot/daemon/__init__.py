"""The daemon (``python -m bot run``): APScheduler jobs around the engine shared with simulations.

| module | job |
|---|---|
| ``runner`` | start-up (lock, journal, run resumed or new), signals, clean shutdown |
| ``assemble`` | the parts each mode plugs in (bars, broker venue, strategy, forecaster, news) |
| ``schedule`` | the APScheduler jobs, their triggers and failure handling |
| ``trader`` | one trading step: new bars -> fills -> decision -> equity, halts, watchdog |
| ``bars`` | the bars window the strategy sees; paced replay and live Alpaca bar sources |
| ``venue`` | the broker side of a step: SimBroker fills (dry run) or Alpaca order polling (paper) |
| ``sessions`` | trading sessions (holidays, early closes) from the broker's or the exchange calendar |
| ``lock`` | one daemon per journal |
"""
