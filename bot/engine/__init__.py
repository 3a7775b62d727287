"""The trading engine: one decision step (``engine``), its sizing (``planner``), protective exits
(``exits``, ``indicators``), protection of held shares at the broker (``protection``), the market
view a strategy sees (``market``), and the replay loop of a simulation (``simulation``)."""
