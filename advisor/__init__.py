"""msc-ev advisor: rank MSC sources, routes and engineering options for EV therapy of a disease.

A research and teaching aid, not medical advice. Library first; ``cli.py`` is a thin layer.

    >>> import advisor
    >>> kb = advisor.load_kb()
    >>> advice = advisor.consult(kb, "perinatal brain injury")
    >>> advice.recs["sources"][0].id
    'uc-msc'
"""

from .consult import DISCLAIMER, Advice, Constraints, consult
from .errors import (AdvisorError, AmbiguousDisease, EngineError, KnowledgeError, UnknownDisease,
                     UnknownItem, UsageError)
from .kb import Knowledge, load as load_kb, load_cached
from .resolve import Resolution, resolve

__version__ = "0.1.0"

__all__ = [
    "Advice", "AdvisorError", "AmbiguousDisease", "Constraints", "DISCLAIMER", "EngineError",
    "Knowledge", "KnowledgeError", "Resolution", "UnknownDisease", "UnknownItem", "UsageError",
    "consult", "load_cached", "load_kb", "resolve", "__version__",
]
