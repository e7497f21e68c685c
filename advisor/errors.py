"""Typed errors. The CLI turns each into one line on stderr and the exit code it carries."""

from __future__ import annotations

from dataclasses import dataclass


def _quoted(text) -> str:
    """The user's text as a message quotes it: ``repr`` (control characters escaped), at most
    ``MAX_ECHO`` characters (advisor.limits imports this module, hence the late import)."""
    from .echo import MAX_ECHO, shown

    return shown(text, MAX_ECHO)


class AdvisorError(Exception):
    """Base class: ``exit_code`` follows docs/design.md, "Output contract" (1 unanswerable, 2 usage/KB)."""

    exit_code = 2

    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class SchemaProblem:
    path: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.field}: {self.message}"


class KnowledgeError(AdvisorError):
    """The knowledge base could not be loaded or failed validation."""

    exit_code = 2

    def __init__(self, problems: list[SchemaProblem]):
        self.problems = problems
        super().__init__(self.message())

    def message(self) -> str:
        n = len(self.problems)
        head = f"knowledge base invalid: {n} error{'s' if n != 1 else ''}"
        return "\n".join([head, *(str(p) for p in self.problems)])


class UsageError(AdvisorError):
    """Bad arguments that the CLI parser could not catch (unknown ids, bad values)."""

    exit_code = 2


class OutputError(UsageError):
    """A target that is refused or cannot be written, or a standard output that fails (exit 2)."""


class UnknownDisease(AdvisorError):
    exit_code = 1

    def __init__(self, text: str, suggestions: list[str]):
        self.text = text
        self.suggestions = suggestions
        super().__init__(self.message())

    def message(self) -> str:
        msg = f"unknown disease: {_quoted(self.text)}"
        if self.suggestions:
            msg += "; did you mean: " + ", ".join(self.suggestions) + "?"
        else:
            msg += "; try 'msc-ev kb search TEXT' to browse the diseases"
        return msg


class AmbiguousDisease(AdvisorError):
    exit_code = 1

    def __init__(self, text: str, candidates: list[tuple[str, str]], note: str = ""):
        self.text = text
        self.candidates = candidates
        self.note = note
        super().__init__(self.message())

    def message(self) -> str:
        opts = "; ".join(f"{i} ({n})" for i, n in self.candidates)
        msg = f"ambiguous disease: {_quoted(self.text)} could mean: {opts}. Ask again with the full name or id"
        if self.note:
            msg += f" ({self.note})"
        return msg


class UnknownItem(AdvisorError):
    """An id given to why / why-not / kb show / cite that the knowledge base does not hold."""

    exit_code = 1

    def __init__(self, what: str, text: str, suggestions: list[str]):
        self.what = what
        self.text = text
        self.suggestions = suggestions
        super().__init__(self.message())

    def message(self) -> str:
        msg = f"unknown {self.what}: {_quoted(self.text)}"
        if self.suggestions:
            msg += "; did you mean: " + ", ".join(self.suggestions) + "?"
        return msg


class EngineError(AdvisorError):
    """The rule engine failed in a way the advisor could not recover from."""

    exit_code = 2
