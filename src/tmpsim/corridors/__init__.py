"""Multi-destination corridors: the sending market run over many destinations, with its outputs.

``config`` loads and checks a corridors configuration and its dated border rules, ``simulate``
runs it month by month keeping stocks abroad, ``tables`` turns the months into tidy tables,
``fit`` fits the destination constants to 2019 stocks, ``cli`` is ``tmpsim corridors``.
"""
