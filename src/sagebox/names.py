"""The one rule for resource names, which sagebox also uses as file and URL path parts.

Endpoints, models, jobs, endpoint variants and every resource to come follow SageMaker's rule
for resource names: ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`` (1-63 ASCII letters, digits and
hyphens, starting and ending with a letter or digit). Two kinds keep the rule SageMaker
documents for them, which is just as path-safe:

- feature groups: ``[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}`` in SageMaker; sagebox also asks for a
  leading letter (the offline table must be a SQL name), so
  :data:`FEATURE_GROUP` allows letters and digits joined by single ``-`` or ``_``, 1-64;
- catalog databases and tables: Glue's rule, lower-case letters, digits and ``_`` (1-255),
  which SQL needs unquoted (:data:`CATALOG`, starting with a letter or ``_``).

A name that passes any of these rules cannot hold ``/``, ``.``, ``..``, a NUL, white space or a
non-ASCII character, so ``home / "endpoints" / name`` always stays under ``home``.

Example:
    >>> check_resource_name("endpoint", "reviews-v2")
    'reviews-v2'
    >>> check_resource_name("endpoint", "../../x")
    Traceback (most recent call last):
    sagebox.errors.InputDataError: invalid endpoint name '../../x' (...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sagebox.errors import InputDataError

__all__ = [
    "CATALOG",
    "FEATURE_GROUP",
    "RESOURCE",
    "NameRule",
    "check_resource_name",
    "sanitize_name_prefix",
]


@dataclass(frozen=True)
class NameRule:
    """A pattern a name must match in full, and how to say it to a user.

    Attributes:
        pattern: the regular expression (matched with ``fullmatch``, ASCII only).
        text: the rule in words, for error hints.
        example: a valid name.
        max_length: the longest name allowed.
    """

    pattern: re.Pattern[str]
    text: str
    example: str
    max_length: int

    def matches(self, name: object) -> bool:
        """Whether ``name`` is a string that follows the rule."""
        return (
            isinstance(name, str)
            and 0 < len(name) <= self.max_length
            and self.pattern.fullmatch(name) is not None
        )


#: SageMaker's rule for resource names (endpoints, models, jobs, variants, ...)
RESOURCE = NameRule(
    re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", re.ASCII),
    "1-63 letters, digits and hyphens, starting and ending with a letter or digit "
    "(SageMaker's rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$)",
    "reviews-model-v2",
    63,
)
#: feature group names (SageMaker allows ``_`` there too)
FEATURE_GROUP = NameRule(
    re.compile(r"[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*", re.ASCII),
    "letters and digits joined by - or _, starting with a letter (at most 64 characters)",
    "reviews-features",
    64,
)
#: catalog database and table names (Glue's rule; SQL needs them unquoted)
CATALOG = NameRule(
    re.compile(r"[a-z_][a-z0-9_]{0,254}", re.ASCII),
    "letters, digits and _ (starting with a letter or _)",
    "reviews_raw",
    255,
)


def check_resource_name(kind: str, name: object, rule: NameRule = RESOURCE) -> str:
    """``name`` if it follows ``rule`` (SageMaker's resource-name rule by default).

    Args:
        kind: what is named (``endpoint``, ``model``, ``job``, ...), for the message.
        name: the name to check.
        rule: the rule to apply.

    Raises:
        InputDataError: naming the bad value and the rule.
    """
    if not rule.matches(name):
        raise InputDataError(
            f"invalid {kind} name {name!r}", hint=f"use {rule.text}, e.g. {rule.example}"
        )
    assert isinstance(name, str)
    return name


_NOT_NAME = re.compile(r"[^a-zA-Z0-9]+", re.ASCII)


def sanitize_name_prefix(prefix: str, max_length: int = 42) -> str:
    """``prefix`` made into the start of a valid resource name (for generated names).

    Runs of other characters become one ``-``; the result is cut to ``max_length``.

    Example:
        >>> sanitize_name_prefix("text_classifier")
        'text-classifier'
    """
    cleaned = _NOT_NAME.sub("-", prefix).strip("-")[:max_length].rstrip("-")
    return cleaned or "job"
