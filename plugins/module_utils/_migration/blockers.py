# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a root can be migrated (or rolled back), and how: the preflight's blockers, Terragrunt
roots, the rollback table and the action a root needs. No Ansible imports."""

import os
import shlex

from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.vocabulary import (
    ACTION_INIT,
    ACTION_NONE,
    ACTION_REWRITE,
    ACTION_VERIFY,
    DUAL,
    DYNAMODB,
    LOCKFILE,
    TERRAGRUNT_FORMS,
    UNLOCKED,
)


# ---------------------------------------------------------------------------
# Preflight: what stops a root before anything changes, and what the root needs.

def unloadable_file_blockers(problems, terraform=None):
    """The reasons a root cannot go on because terraform cannot load one of its files (empty: it can).

    ``problems``: terraform_files.load_problems() output, ``{file, line, offset, reason}`` each.
    Checked before any AWS call, freeze or rewrite: ``terraform init`` would fail on such a file
    after the cut-over began.
    """
    binary = (terraform or {}).get("binary") or "terraform"
    reasons = []
    for problem in problems:
        place = problem["file"] if problem.get("line") is None else "%s:%s" % (problem["file"], problem["line"])
        where = "" if problem.get("offset") is None else " at byte %s" % problem["offset"]
        reasons.append("%s: %s%s; %s init cannot load it: save it as UTF-8 (or remove it), nothing was changed"
                       % (place, problem["reason"], where, binary))
    return reasons


def preflight_blockers(backend, terraform, target, bucket, enable_versioning):
    """The reasons to leave the root untouched (empty: go on). Each names the file, bucket or binary.

    ``bucket``: ``{"exists": bool, "versioning": "Enabled" | "Suspended" | None}`` as read from S3.
    A rollback (target dynamodb) needs no versioning: DynamoDB locking does not rely on it.
    """
    reasons = file_blockers(backend, terraform, target)
    name = backend["settings"]["bucket"]
    if not bucket.get("exists"):
        reasons.append("state bucket %s does not exist (or is not visible to these credentials)" % name)
    elif bucket.get("versioning") != "Enabled" and not enable_versioning and target != DYNAMODB:
        reasons.append("versioning is not enabled on state bucket %s; enable it or set migrate_enable_versioning=true"
                       % name)
    return reasons


def location_region(constraint):
    """The region of a GetBucketLocation ``LocationConstraint``: none (or empty) is us-east-1, ``EU`` eu-west-1."""
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def region_blockers(backend, region, bucket):
    """The reason to stop a root whose backend names another region than its bucket's (empty: the same).

    ``region``: the region terraform and the collection use for the backend; ``bucket``: read_bucket's
    view, its ``region`` from GetBucketLocation (None when not read). Against AWS such a backend is
    already broken (S3 answers with a redirect terraform does not follow), so nothing may change.
    """
    if not bucket.get("exists") or not bucket.get("region") or not region or bucket["region"] == region:
        return []
    return ["state bucket %s is in region %s, but the backend at %s:%s names region %s; terraform cannot use this "
            "backend: set region = \"%s\" in it (nothing was changed)"
            % (backend["settings"]["bucket"], bucket["region"], backend["file"], backend["line"], region,
               bucket["region"])]


def file_blockers(backend, terraform, target):
    """The reasons found in the root's files and binary alone (no AWS read): see preflight_blockers."""
    reasons = []
    if (terraform or {}).get("product") == "terraform" and backend["file"].endswith((".tofu", ".tofu.json")):
        reasons.append("%s:%s: the backend is in an OpenTofu file, which terraform never reads; run this root with "
                       "OpenTofu (tfstate_terraform_bin: tofu)" % (backend["file"], backend["line"]))
    if target == DYNAMODB:
        # Going back to DynamoDB locking needs no use_lockfile support (rollback_blockers refuses a lock mode none).
        return reasons
    if terraform and not terraform.get("supports_use_lockfile"):
        reasons.append("%s %s does not support use_lockfile (Terraform >= 1.10.1, OpenTofu >= 1.10.2 do)"
                       % (terraform.get("binary"), terraform.get("version")))
    admits = (backend.get("admits_use_lockfile") or {}).get((terraform or {}).get("product"))
    if admits is False:
        reasons.append("%s: required_version \"%s\" admits no %s version with use_lockfile; raise it first"
                       % (backend["file"], backend.get("required_version"), terraform.get("product")))
    if backend["lock_mode"] == UNLOCKED:
        reasons.append("%s:%s: the backend does not lock (lock mode none: no dynamodb_table, use_lockfile not true); "
                       "a migration never turns locking on where there was none: leave this root out of the run, or "
                       "set use_lockfile = true in its backend yourself if it should lock" % (backend["file"], backend["line"]))
    elif target == DUAL and backend["lock_mode"] not in (DYNAMODB, DUAL):
        reasons.append("%s:%s: lock mode is %s; dual keeps a dynamodb_table, so use migrate_target=lockfile"
                       % (backend["file"], backend["line"], backend["lock_mode"]))
    return reasons


# ---------------------------------------------------------------------------
# Terragrunt roots: migrated like a plain root when a terragrunt binary is given, else reported.

def is_terragrunt(backend):
    return (backend or {}).get("form") in TERRAGRUNT_FORMS


def terragrunt_unsupported(backend, terragrunt_bin):
    """Why the role cannot migrate a Terragrunt root (the reason, starting ``terragrunt:``), or None when it can.

    It can with a terragrunt binary, when the form is one current Terragrunt reads and the settings
    the maintenance lock needs (bucket, key, region, table, workspace prefix) are literal values.
    """
    place = "%s:%s" % (backend["file"], backend["line"])
    if backend["form"] == "terragrunt_tfvars":
        return ("terragrunt: %s is the terragrunt = { remote_state } form of Terragrunt before 0.19 (terraform.tfvars, "
                "HCL 1), which current terragrunt no longer reads" % place)
    if not terragrunt_bin:
        return ("terragrunt: %s is a Terragrunt %s; this run has no terragrunt binary (tfstate_terragrunt_bin) to "
                "re-initialise and prove it" % (place, "remote_state" if backend["form"] == "terragrunt"
                                                else "generate block"))
    needed = ("bucket", "key", "region", "dynamodb_table", "workspace_key_prefix")
    computed = [name for name in needed if name in (backend.get("unresolved_settings") or [])]
    if computed:
        return ("terragrunt: %s: %s %s computed by terragrunt (%s); the maintenance lock needs literal values"
                % (place, ", ".join(computed), "is" if len(computed) == 1 else "are",
                   "; ".join("%s = %s" % (name, backend["settings"].get(name)) for name in computed)))
    return None


def reinit_command(root, binary, init_args=()):
    """The shell command that re-initialises a root by hand: ``cd <root> && <binary> init -reconfigure [args]``."""
    argv = [os.path.basename(binary or "terraform"), "init", "-reconfigure"] + list(init_args or [])
    return "cd %s && %s" % (shlex.quote(root), " ".join(shlex.quote(arg) for arg in argv))


def lock_table_of(backend, record=None):
    """The DynamoDB table a root's clients may still lock with: the configuration's, the last init's, the record's."""
    settings = backend.get("settings") or {}
    initialised = backend.get("initialised") or {}
    pending = (record or {}).get("pending") or {}
    return (settings.get("dynamodb_table") or initialised.get("dynamodb_table")
            or pending.get("dynamodb_table") or (record or {}).get("dynamodb_table") or None)


def rollback_table(backend, record=None, explicit=None):
    """The DynamoDB table a rollback goes back to: the one asked for, else the files', the last init's, the record's."""
    return explicit or lock_table_of(backend, record)


def rollback_blockers(backend, table, explicit=None, record=None, table_summary=None):
    """Why a root cannot be rolled back to DynamoDB locking (empty: it can). Each reason names the file or table.

    ``table``: rollback_table(); ``explicit``: the table the run was given (rollback_table); ``record``: the
    migration record (None when missing); ``table_summary``: lock_table.table_summary() of ``table`` (None when
    not read yet).
    """
    place = "%s:%s" % (backend["file"], backend["line"])
    settings = backend.get("settings") or {}
    if backend["lock_mode"] not in (LOCKFILE, DUAL, DYNAMODB):
        return ["%s: the backend sets neither use_lockfile nor dynamodb_table; there is no locking to roll back" % place]
    if not table:
        return ["no DynamoDB table to roll back to for %s: set rollback_table (neither the files, the last terraform "
                "init nor the migration record %s name one)" % (
                    backend["root"], "(which does not exist)" if record is None else "s3://%s/%s.tfstate-s3-backend.json"
                    % (settings.get("bucket"), settings.get("key")))]
    reasons = []
    named = settings.get("dynamodb_table")
    if explicit and named and named != explicit:
        reasons.append("%s: the backend's dynamodb_table is %s, but rollback_table is %s" % (place, named, explicit))
    problem = (table_summary or {}).get("key_schema_problem")
    if problem:
        reasons.append("DynamoDB table %s: %s" % (table, problem))
    return reasons


def choose_action(backend, target, record, interrupted):
    """What the root needs: ``(action, why)``.

    ``record`` is the migration record read from S3 (None when missing); ``interrupted`` lists
    what shows that an earlier run stopped midway (a maintenance lock it left, a missing record).
    """
    files_mode = backend["lock_mode"]
    init_mode = backend.get("initialised_lock_mode")
    if files_mode != target:
        return ACTION_REWRITE, "the backend configuration locks with %s" % files_mode
    if init_mode != target:
        return ACTION_INIT, "the files say %s but the last terraform init used %s" % (target, init_mode or "nothing")
    if interrupted:
        return ACTION_VERIFY, "an earlier run was interrupted: %s" % "; ".join(interrupted)
    return ACTION_NONE, "the files, the last terraform init and the migration record say %s" % target


def interruption_evidence(backend, target, record, stale_freezes, intent_why=None):
    """What shows an earlier run stopped between its cut-over and its record.

    ``intent_why``: classify_intent's reason for the record's ``pending`` intent (proven dead).
    """
    evidence = ["%s left by an interrupted run" % why for why in stale_freezes]
    pending = (record or {}).get("pending")
    if pending:
        evidence.append(intent_why or "a cut-over to %s by run %s (started %s) did not finish" % (
            pending.get("target"), pending.get("run_id"), pending.get("started")))
    if backend["lock_mode"] == target:
        # A root that always locked with DynamoDB has no record, and needs none.
        if record is None and target != DYNAMODB:
            evidence.append("no migration record next to the state")
        elif record is not None and record.get("mode") != target:
            evidence.append("the migration record says %s" % record.get("mode"))
    return evidence
