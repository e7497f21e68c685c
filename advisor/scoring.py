"""Certainty-factor arithmetic (MYCIN) with the working written out for explanations."""

from __future__ import annotations

LEVEL_ORDER = ("clinical-completed", "clinical-registered", "in-vivo", "in-vitro", "review-inference")


def combine_same(values: list[float]) -> tuple[float, list[str]]:
    """Combine CFs of one sign in the order given; return the result and each step as text."""
    if not values:
        return 0.0, []
    acc, steps = values[0], []
    for v in values[1:]:
        if v >= 0:
            new = acc + v * (1 - acc)
            steps.append(f"{acc:.3f} + {v:.3f} x (1 - {acc:.3f}) = {new:.3f}")
        else:
            new = acc + v * (1 + acc)
            steps.append(f"{acc:.3f} + ({v:.3f}) x (1 + ({acc:.3f})) = {new:.3f}")
        acc = new
    return acc, steps


def combine(cfs: list[float]) -> tuple[float, list[str]]:
    """MYCIN combination, order-independent: positives (largest first), negatives, then mixed."""
    pos = sorted((x for x in cfs if x > 0), reverse=True)
    neg = sorted(x for x in cfs if x < 0)
    p, ps = combine_same(pos)
    n, ns = combine_same(neg)
    steps = ps + ns
    if pos and neg:
        denom = 1 - min(abs(p), abs(n))
        total = (p + n) / denom if denom else 0.0
        steps.append(f"({p:.3f} + ({n:.3f})) / (1 - min({abs(p):.3f}, {abs(n):.3f})) = {total:.3f}")
    else:
        total = p if pos else n
    return total, steps


def words(cf: float) -> str:
    """MYCIN's words for a certainty factor (as in Norvig's PAIP)."""
    if cf > 0.8:
        return "strongly suggestive"
    if cf > 0.5:
        return "suggestive"
    if cf > 0:
        return "weakly suggestive"
    if cf == 0:
        return "no net evidence"
    if cf >= -0.5:
        return "weakly against"
    return "evidence against"


def strongest(levels) -> str | None:
    present = set(levels)
    return next((lv for lv in LEVEL_ORDER if lv in present), None)
