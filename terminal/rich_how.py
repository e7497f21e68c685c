"""How, in the terminal: the chain of rule firings as a Rich tree, and a step-through (one firing
per Enter) for teaching. The parts come from :mod:`msc_ev.views.how`; this module only draws them.
"""

from __future__ import annotations

from ..advisor.consult import DISCLAIMER, Advice
from ..advisor.kb import Knowledge
from ..views.how import _derived_tree, _firing_lines, _head_tree, _tail_tree  # noqa: F401


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)


def Tree(label, **kw):  # noqa: N802  (Rich imported only to draw)
    from rich.tree import Tree as _Tree

    return _Tree(label, **kw)


def _tree(label: str, parts):
    t = Tree(escape(label), guide_style="dim")
    for head, kids in parts:
        node = t.add(f"[bold]{escape(head)}[/bold]")
        for k in kids:
            node.add(escape(k))
    return t


def explain_tree(kb: Knowledge, adv: Advice):
    firings = [_firing_lines(s) for s in adv.trace]
    t = Tree(f"[bold]How the advice for {escape(adv.resolution.name)} was reached[/bold]", guide_style="dim")
    for head, kids in _head_tree(kb, adv):
        node = t.add(f"[bold]{escape(head)}[/bold]")
        for k in kids:
            node.add(escape(k))
    fnode = t.add(f"[bold]Rule firings, in order ({len(firings)})[/bold]")
    for label, kids in firings:
        n = fnode.add(escape(label))
        for k in kids:
            n.add(escape(k))
    for head, kids in _tail_tree(kb, adv):
        node = t.add(f"[bold]{escape(head)}[/bold]")
        for k in kids:
            node.add(escape(k))
    return t


def print_explain(kb: Knowledge, adv: Advice, console) -> None:
    console.print(explain_tree(kb, adv))
    console.print(f"[dim]Note: {escape(DISCLAIMER)}[/dim]")


def step_explain(kb: Knowledge, adv: Advice, console, read=input) -> int:
    """Walk through the firings one at a time. ``read(prompt)``: '' or anything = next, 'q' = quit;
    EOFError = stop pausing and show the rest. Returns the number of firings shown."""
    console.print(_tree(f"How the advice for {adv.resolution.name} was reached", _head_tree(kb, adv)))
    n = len(adv.trace)
    console.print(f"[bold]Forward chaining: {n} rule firings.[/bold] Enter: next firing, q: quit.")
    pausing = True
    for i, step in enumerate(adv.trace, 1):
        label, kids = _firing_lines(step)
        console.print(_tree(label, [(k, []) for k in kids]))
        if pausing and i < n:
            try:
                answer = read(f"[{i}/{n}] Enter: next, q: quit > ")
            except EOFError:
                pausing = False
                continue
            if answer.strip().lower() in ("q", "quit", "exit"):
                console.print(f"Stopped after firing {i} of {n}.")
                console.print(f"[dim]Note: {escape(DISCLAIMER)}[/dim]")
                return i
    console.print(_tree("Result", _tail_tree(kb, adv)))
    console.print(f"[dim]Note: {escape(DISCLAIMER)}[/dim]")
    return n
__all__ = ["explain_tree", "print_explain", "step_explain"]
