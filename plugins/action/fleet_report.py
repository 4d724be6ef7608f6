# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.fleet_report: run report, preview and fleet view (docs in plugins/modules)."""

import fcntl
import glob
import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.yaml import yaml_load
from ansible.utils.vars import load_extra_vars

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import reports
from ansible_collections.tfstate.s3_backend.plugins.module_utils import role_variables
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.contract import PHASE_KEY
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.runs import run_identity
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import PhaseFailed, RootAction

# The collection's root: the roles' argument specs and defaults, the playbooks (what the roles read).
COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def known_variables(collection=COLLECTION):
    """Every variable of the collection's roles: argument specs, defaults, playbooks, documented internals."""
    known = set(role_variables.DOCUMENTED_INTERNALS)
    paths = glob.glob(os.path.join(collection, "roles", "*", "meta", "argument_specs.yml"))
    for path in paths:
        with open(path) as handle:
            specs = (yaml_load(handle) or {}).get("argument_specs") or {}
        for entry in specs.values():
            known.update((entry or {}).get("options") or {})
    for path in (glob.glob(os.path.join(collection, "roles", "*", "defaults", "main.yml"))
                 + glob.glob(os.path.join(collection, "playbooks", "*.yml"))):
        with open(path) as handle:
            known.update(role_variables.names_in_text(handle.read()))
    return known


def extra_variable_warnings(loader):
    """Warnings for the run's extra variables (-e, and only those) with a role prefix that no role reads."""
    try:
        given = load_extra_vars(loader)
    except (AnsibleError, OSError, ValueError):
        return []  # ansible-playbook parsed them once already; a second read that fails only loses the warning
    return role_variables.unknown_variable_warnings(given, known_variables())


# Task fields of a registered result that are not part of a report row.
# ``connection`` (root_result's: how the root's calls connected) is used to read its bucket, never reported.
# ``phase_name`` (contract.PHASE_KEY) names the task's phase (root_result), not where the root stopped (``phase``).
_TASK_FIELDS = ("changed", "failed", "msg", "skipped", "skip_reason", "false_condition", "diff", "connection",
                PHASE_KEY)


def report_row(result):
    """A result as a report row; a result without ``host`` (retire's, per table) is named by its ``root``."""
    row = {name: value for name, value in result.items()
           if not name.startswith("_ansible") and name not in _TASK_FIELDS}
    row.setdefault("host", row.get("root"))
    return row


class ActionModule(RootAction):
    PHASE = "report"
    ARGUMENT_SPEC = dict(
        results=dict(type="list", elements="dict", required=True),
        name=dict(type="str", default="migrate"),
        report_dir=dict(type="path", required=True),
        fleet=dict(type="bool", default=True),
    )

    def phase(self, args, task_vars):
        try:
            return self._report(args)
        except OSError as exc:
            raise PhaseFailed("cannot write the %s report in %s: %s" % (args["name"], args["report_dir"], exc))

    def _report(self, args):
        rows = [row for row in (report_row(result) for result in args["results"]) if row.get("host")]
        connections = {}
        for result in args["results"]:
            if result.get("bucket") and result.get("connection"):
                connections.setdefault(result["bucket"], result["connection"])
        directory = args["report_dir"]
        os.makedirs(directory, exist_ok=True)
        run = run_identity()
        generated = clock.utc_text(clock.now())
        name = args["name"]
        written = []
        # One lock per directory: serial batches, job slices and separate runs sharing it merge in turn.
        with open(os.path.join(directory, ".%s-report.lock" % name), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            kind = "preview" if self.check_mode else "run"
            stem = "%s-%s%s" % (name, "preview-" if self.check_mode else "", clock.compact_text(clock.parse_time(run["started"])))
            previous = reports.read_json(os.path.join(directory, stem + ".json"))
            document = reports.run_document(name, rows, run, generated, self.check_mode, previous)
            fleet = None
            warnings = []
            if not self.check_mode and args["fleet"]:
                view, unread = self._ledger_view(args, document["results"], connections)
                warnings += ["fleet view: the ledger of bucket %s could not be read: %s" % item
                             for item in sorted(unread.items())]
                previous_fleet = reports.read_json(os.path.join(directory, reports.FLEET_STEM + ".json"))
                fleet = reports.fleet_document(name, view, document["results"], unread, previous_fleet, generated)
                document["fleet"] = reports.fleet_section(fleet)
                written += reports.write_document(directory, reports.FLEET_STEM, fleet)
            written += reports.write_document(directory, stem, document)
            written += reports.write_document(directory, "%s-%s" % (name, "preview" if self.check_mode else "report"),
                                              document)
        if previous is None:
            # Once per run (the first batch): extra variables meant for a role that no role reads.
            warnings += extra_variable_warnings(self._loader)
        stats = reports.artifacts(name, document, written, self.check_mode)
        result = dict(changed=False, kind=kind, files=written, counts=document["counts"],
                      blockers=document["blockers"], fleet_counts=fleet["counts"] if fleet else None,
                      # What the role prints last: counts, the roots that need a person, next steps, report files.
                      summary=reports.summary_lines(document, [path for path in written if stem not in path], warnings,
                                                    fleet["counts"] if fleet else None),
                      # Replaced, not added up: a later serial batch reports the whole run so far.
                      ansible_stats={"data": stats, "per_host": False, "aggregate": False})
        if warnings:
            result["warnings"] = warnings
        return result

    def _ledger_view(self, args, rows, connections):
        """``(view, unread)``: ledger.fleet_view of the ledgers of every bucket this run's rows name, and
        ``{bucket: why}`` for those that could not be read.

        A bucket is read as the first of its roots connected (its backend's identity, see root_preflight's
        ``backend_identity``), else with the task's options.
        """
        entries, problems, unread = [], [], {}
        regions = {}
        for row in rows:
            if row.get("bucket"):
                regions.setdefault(row["bucket"], row.get("region"))
        for bucket, region in sorted(regions.items()):
            try:
                s3 = self.connection(dict(args, migration={"identity": connections.get(bucket)}), region).client("s3")
                found, bad = ledger_store.read_ledger(s3, bucket)
            except (AwsError, PhaseFailed) as exc:
                unread[bucket] = str(exc)
                continue
            entries += found
            problems += bad
        return ledger.fleet_view(entries, problems), unread
