"""``shopbot bench turns``: whole turns of the full stack against a plain ``rasa init`` bot.

* :mod:`shopbot.turnbench.load`: the load tool (simulated shoppers over the REST channel).
* :mod:`shopbot.turnbench.plain`: the plain ``rasa init`` bot, trained once and cached.
* :mod:`shopbot.turnbench.bench`: starts both bots and runs the load levels on each.
* :mod:`shopbot.turnbench.report`: the table, the ratios and goals, JSON and the chart.
"""
