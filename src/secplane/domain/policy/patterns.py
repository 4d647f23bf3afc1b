"""Wildcard patterns (``*`` any run, ``?`` one character) as regular expressions that cannot blow up.

Used for Action, Resource, principals and ``StringLike``. Only ``*`` and ``?`` are special; every other
character (``[``, ``]``, ``.``, ``\\`` ...) is literal, unlike ``fnmatch``.

A naive translation (``*`` → ``.*``) backtracks polynomially in the number of stars (``a*a*a*a*b`` on a
long run of ``a`` takes seconds), and policies are user input evaluated on every call. The text between
two stars is a fixed-length pattern, so committing to its leftmost occurrence is always safe (a later
one only leaves less room for the rest): every middle segment becomes an atomic ``(?>.*?seg)``, which
keeps a match linear in the subject's length per segment.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

WILDCARDS = frozenset("*?")


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _segment(text: str) -> str:
    return "".join("." if ch == "?" else re.escape(ch) for ch in text)


def glob_regex(pattern: str) -> str:
    """The regex source (for ``fullmatch``, with ``re.DOTALL``) of one wildcard pattern."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return _segment(pattern)
    head, *middle, tail = parts
    body = "".join(f"(?>.*?{_segment(seg)})" for seg in middle if seg)
    return f"{_segment(head)}{body}.*{_segment(tail)}"


def compile_globs(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of ``patterns`` (use ``fullmatch``)."""
    return _compiled(tuple(sorted(set(patterns))))


@functools.lru_cache(maxsize=8192)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """Cached beyond ``re``'s own 512 entries: the same system policies compile for every principal, and
    regex compilation is most of the cost of compiling a principal's policies."""
    return re.compile("|".join(f"(?:{glob_regex(p)})" for p in patterns), re.DOTALL)


def matcher(patterns: Iterable[str]) -> Callable[[str], object] | None:
    """A cheap membership test for a subject against ``patterns``; ``None`` means "matches anything".

    Returns a bound method (no Python frame of our own on the hot path): ``frozenset.__contains__`` for
    literal patterns, ``Pattern.fullmatch`` as soon as one has a wildcard.
    """
    patterns = tuple(patterns)
    if "*" in patterns:
        return None
    if not any(has_wildcard(p) for p in patterns):
        return frozenset(patterns).__contains__
    return compile_globs(patterns).fullmatch
