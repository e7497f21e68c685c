"""The three axes of a recommendation, named once.

The output's lists and the catalogues use the plural (``sources``); facts, rules and constraints use
the singular (``source``). Every module maps between them through these tables.
"""

AXES = ("sources", "routes", "engineering")
AXIS_OF = {"source": "sources", "route": "routes", "engineering": "engineering"}  # singular -> plural
ITEM_AXIS = {plural: singular for singular, plural in AXIS_OF.items()}  # plural -> singular
AXIS_WORD = {"sources": "source", "routes": "route", "engineering": "engineering option"}  # in sentences
