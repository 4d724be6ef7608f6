# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Variables given on the command line that no role of the collection reads (typos), as plain functions."""

import difflib
import re

# The prefixes of the roles' variables: an extra variable with one of them is meant for a role.
PREFIXES = ("migrate_", "rollback_", "retire_", "tfstate_", "bootstrap_")
# Variables the roles and playbooks read or set that are not in an argument spec (documented in the playbooks'
# comments and docs/fleet-roles.md), and each role's result.
DOCUMENTED_INTERNALS = (
    "tfstate_hosts", "tfstate_serial", "tfstate_backend", "tfstate_workdir", "tfstate_published",
    "tfstate_bootstrap_hosts", "tfstate_locks_hosts", "tfstate_unlock_hosts", "tfstate_root_path",
    "migrate_result", "rollback_result", "retire_result", "bootstrap_result",
)
_NAME = re.compile(r"\b((?:%s)[a-z0-9_]+)\b" % "|".join(PREFIXES))


def names_in_text(text):
    """Every prefixed variable name a text (a playbook, a defaults file) mentions."""
    return set(_NAME.findall(text or ""))


def unknown_variables(given, known, prefixes=PREFIXES):
    """``[(name, closest known name or None)]`` for each given name with a role prefix that no role knows, sorted."""
    known = sorted(set(known))
    found = []
    for name in sorted(set(given)):
        if not name.startswith(prefixes) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        found.append((name, close[0] if close else None))
    return found


def unknown_variable_warnings(given, known):
    """One warning per unknown extra variable, naming the closest known one."""
    warnings = []
    for name, close in unknown_variables(given, known):
        hint = "did you mean %s?" % close if close else "no role of tfstate.s3_backend reads it"
        warnings.append("extra variable %s is not a variable of tfstate.s3_backend (%s); it was ignored" % (name, hint))
    return warnings
