"""msc-ev advisor: rank MSC sources, routes and engineering options for EV therapy of a disease.

A research and teaching aid, not medical advice. Library first; ``cli.py`` is a thin layer.

    >>> from msc_ev import advisor
    >>> kb = advisor.load_kb()
    >>> advice = advisor.consult(kb, "perinatal brain injury")
    >>> advice.recs["sources"][0].id
    'uc-msc'

Importing this package is cheap: each public name is imported from its module on first use
(PEP 562), so ``advisor.load_kb`` from the compile cache needs neither PyYAML nor durable-rules,
and nothing on the library path (load, resolve, consult, ``as_json``) imports Rich or Typer.
"""

from __future__ import annotations

import importlib
import sys
import types

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs more than this module
__version__ = "0.1.0"

# public name -> (module, attribute in it)
_LAZY = {
    "DISCLAIMER": ("consult", "DISCLAIMER"),
    "Advice": ("consult", "Advice"),
    "Constraints": ("consult", "Constraints"),
    "consult": ("consult", "consult"),
    "AdvisorError": ("errors", "AdvisorError"),
    "AmbiguousDisease": ("errors", "AmbiguousDisease"),
    "EngineError": ("errors", "EngineError"),
    "KnowledgeError": ("errors", "KnowledgeError"),
    "UnknownDisease": ("errors", "UnknownDisease"),
    "UnknownItem": ("errors", "UnknownItem"),
    "UsageError": ("errors", "UsageError"),
    "Knowledge": ("kb", "Knowledge"),
    "load_kb": ("kbcache", "load_kb"),
    "load_cached": ("kbcache", "load_cached"),
    "Resolution": ("resolve", "Resolution"),
    "resolve": ("resolve", "resolve"),
}

__all__ = sorted([*_LAZY, "__version__"])

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .consult import DISCLAIMER, Advice, Constraints, consult
    from .errors import (AdvisorError, AmbiguousDisease, EngineError, KnowledgeError, UnknownDisease,
                         UnknownItem, UsageError)
    from .kb import Knowledge
    from .kbcache import load_cached, load_kb
    from .resolve import Resolution, resolve


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is not None:
        value = getattr(importlib.import_module(f"{__name__}.{target[0]}"), target[1])
        globals()[name] = value  # later look-ups skip this function
        return value
    # a submodule not imported yet (e.g. ``advisor.kb.SHIPPED`` or ``advisor.stability``)
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY})


# ``consult`` and ``resolve`` name both a function and the module defining it. Importing a
# submodule sets it as an attribute of this package, which would hide the function the first time
# any module runs ``from .consult import ...``; the package keeps the function instead, as the
# eager ``from .consult import consult`` of old did.
_SHADOWED = {name for name, (module, _) in _LAZY.items() if name == module}


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, _LAZY[name][1])
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
