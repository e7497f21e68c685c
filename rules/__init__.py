"""The rule base: one durable_rules ruleset, defined once at import.

The stage modules are imported inside the ``with ruleset(...)`` block so their ``@when_all``
rules attach to it. The definition is then removed from durable's global registry; the advisor
registers it on a private host of its own (see :mod:`advisor.engine`).
"""

from durable.lang import _rulesets, c, m, ruleset, when_all

from .base import RULES, RULESET, STAGES, RuleMeta

with ruleset(RULESET):
    from . import cautions, classify, evidence, heuristics  # noqa: F401  (rules register on import)

    @when_all(+m.kind, m.__never__ == 1)
    def _sink(c):  # pragma: no cover - never fires; makes every fact "handled"
        pass

DEFINITION = dict([_rulesets.pop(RULESET).define()])

__all__ = ["RULES", "RULESET", "STAGES", "RuleMeta", "DEFINITION"]
