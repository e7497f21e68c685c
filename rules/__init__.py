"""The rule base: declared once as data in ``rules.yaml`` (with the tier table in ``hierarchy.yaml``).

- :mod:`.declare` reads and validates the declarations and says them in words;
- :mod:`.compile` compiles them into one durable-rules ruleset;
- :mod:`.actions` computes what an action asserts (shared by engine and interpreter);
- :mod:`.interpret` evaluates the same declarations in plain Python (why-not, baseline, tests).
"""

from .declare import DeclarationError, Rule, STAGES, load_rules, load_tiers

RULE_LIST: tuple[Rule, ...] = load_rules()
RULES: dict[str, Rule] = {r.id: r for r in RULE_LIST}
TIERS: dict[str, dict[str, int]] = load_tiers()

__all__ = ["DeclarationError", "RULES", "RULE_LIST", "Rule", "STAGES", "TIERS"]
