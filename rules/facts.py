"""Small helpers that build derived facts with stable ids (used by every stage)."""

from __future__ import annotations

from .base import emit


def support(c, *, axis: str, item: str, cf: int, rule: str, origin: str,
            evidence: str = "", match: str = "", model: str = "") -> None:
    emit(c, {
        "id": f"support:{axis}:{item}:{rule}:{evidence}", "kind": "support", "axis": axis,
        "item": item, "cf": cf, "rule": rule, "origin": origin, "evidence": evidence,
        "match": match, "model": model,
    })


def caution(c, *, name: str, rule: str, item: str = "", evidence: str = "") -> None:
    emit(c, {
        "id": f"caution:{name}:{item}:{evidence}", "kind": "caution", "caution": name,
        "rule": rule, "item": item, "evidence": evidence,
    })


def exclusion(c, *, axis: str, item: str, rule: str, reason: str, value: str = "") -> None:
    emit(c, {
        "id": f"exclusion:{axis}:{item}", "kind": "exclusion", "axis": axis, "item": item,
        "rule": rule, "reason": reason, "value": value,
    })
