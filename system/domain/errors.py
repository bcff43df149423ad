"""Typed domain errors. Each names the rule (requirement ID) and field involved.

The HTTP layer maps these to status codes in one handler; the CLI maps them to
exit status 2. Messages are written for the person who sent the input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which field, which rule, and why."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} ({self.rule})"


class DomainError(Exception):
    """Base of every error the system raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str, *, rule: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field


class InvalidInput(DomainError):
    """The input breaks one or more rules; ``problems`` lists every one found."""

    code = "invalid_input"

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("InvalidInput needs at least one problem")
        self.problems = tuple(problems)
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}", rule=first.rule, field=first.field)


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it exists."""

    code = "not_found"


class PermissionDenied(DomainError):
    """The caller's role or agency does not allow this action."""

    code = "permission_denied"


class RuleViolation(DomainError):
    """A valid input that a business rule forbids in the current state."""

    code = "rule_violation"


class Conflict(DomainError):
    """The action conflicts with the object's current state (e.g. answered twice)."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A lifecycle step that is not allowed from the object's current status."""

    code = "invalid_transition"


def invalid(field: str, rule: str, message: str) -> InvalidInput:
    """Shorthand for an :class:`InvalidInput` with a single problem."""
    return InvalidInput([Problem(field, rule, message)])
