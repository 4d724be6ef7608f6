# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a ``required_version`` constraint admit a Terraform/OpenTofu that supports ``use_lockfile``?

Pure Python, no Ansible imports. Constraint syntax as Terraform reads it: comma-separated
``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``~>`` (pessimistic) or a bare version.
Pre-release suffixes are ignored.
"""

import re

# use_lockfile arrived in 1.10.0 for both; these are the first releases to use (see the shared
# s3-locking facts: 1.10.1 fixes locking on Object Lock buckets, OpenTofu 1.10.2 encrypted buckets).
LOCKFILE_MINIMUM = {"terraform": (1, 10, 1), "opentofu": (1, 10, 2)}

_CONSTRAINT = re.compile(r"^\s*(=|!=|>=|<=|>|<|~>)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?\s*$")


class VersionConstraintError(ValueError):
    pass


def parse_constraints(text):
    """``">= 1.5, < 2.0"`` -> ``[(">=", (1, 5, 0), 2), ("<", (2, 0, 0), 2)]`` (op, version, segments given)."""
    result = []
    for piece in text.split(","):
        m = _CONSTRAINT.match(piece)
        if m is None:
            raise VersionConstraintError("cannot read version constraint %r" % piece.strip())
        op = m.group(1) or "="
        parts = [p for p in m.group(2, 3, 4) if p is not None]
        version = tuple(int(p) for p in parts) + (0,) * (3 - len(parts))
        result.append((op, version, len(parts)))
    return result


def _pessimistic_upper(version, segments):
    if segments <= 1:
        return (version[0] + 1, 0, 0)
    if segments == 2:
        return (version[0] + 1, 0, 0)
    return (version[0], version[1] + 1, 0)


def _satisfies(candidate, constraint):
    op, version, segments = constraint
    if op == "=":
        return candidate == version
    if op == "!=":
        return candidate != version
    if op == ">":
        return candidate > version
    if op == ">=":
        return candidate >= version
    if op == "<":
        return candidate < version
    if op == "<=":
        return candidate <= version
    return version <= candidate < _pessimistic_upper(version, segments)  # ~>


def admits_at_least(constraints, minimum):
    """True when some version >= ``minimum`` satisfies every constraint."""
    # A satisfying range starts at the minimum, at a constraint's version, or just above one.
    candidates = {minimum}
    for _op, version, _segments in constraints:
        candidates.add(version)
        candidates.add((version[0], version[1], version[2] + 1))
    return any(candidate >= minimum and all(_satisfies(candidate, c) for c in constraints)
               for candidate in candidates)


def lockfile_support(required_versions):
    """``{"terraform": bool, "opentofu": bool}`` for a root's required_version strings.

    No constraint admits everything. Raises VersionConstraintError on unreadable text.
    """
    constraints = []
    for text in required_versions:
        constraints.extend(parse_constraints(text))
    return {tool: admits_at_least(constraints, minimum) for tool, minimum in LOCKFILE_MINIMUM.items()}
