# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_preflight: read a root and decide what it needs (docs in plugins/modules)."""

import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import blockers as decide_blockers
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import outcome
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import vocabulary as decide
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError, call
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.contract import Migration
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import new_lock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.holding import (
    LockTarget,
    probe_conditional_writes,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.finding import find_locks
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_table import (
    TableRefused,
    describe_table,
    ensure_table,
    table_summary,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.migration_record import read_record
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import state_key
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import (
    RootError,
    read_root,
    terraform_facts,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_objects import list_states
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.terraform_files import (
    load_problems,
    loaded_files,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import (
    binary_version,
    first_error,
    init_argv,
    plan_argv,
    run,
    runner,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.ledger import DEFAULT_DUAL_GRACE
from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_git import (
    GitError,
    checkout_remote,
    git_binary,
    run_here,
)
from ansible_collections.tfstate.s3_backend.plugins.action.root_rewrite import ActionModule as Rewrite
from ansible_collections.tfstate.s3_backend.plugins.action.root_stage import ActionModule as Stage
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import PhaseFailed, RootAction

# migrate_target=auto: the stage root_stage chooses from the ledger, then the preflight for it.
AUTO = "auto"

# A lock held longer than this (seconds) is named stale in the next step (unlock.yml's usual stale_after).
STALE_AFTER = 3600


def terraform_version(binary, env):
    """``<binary> version`` output (remembered per binary file: terraform_cli.binary_version)."""
    rc, out, err = binary_version(binary, env)
    if rc != 0:
        raise PhaseFailed("%s version failed (rc=%s): %s" % (binary, rc, first_error(err or out)))
    return out


def terragrunt_version(binary, env):
    """The first line of ``<terragrunt> --version``: the binary runs, before anything changes."""
    rc, out, err = binary_version(binary, env, ("--version",))
    if rc != 0:
        raise PhaseFailed("%s --version failed (rc=%s): %s (tfstate_terragrunt_bin)"
                          % (binary, rc, first_error(err or out)))
    return {"binary": binary, "version": ((out or err).strip().splitlines() or [""])[0]}


def read_bucket(s3, name):
    """``{"exists", "versioning", "region"}`` of the state bucket (GetBucketVersioning, GetBucketLocation)."""
    versioning = call(s3, "get_bucket_versioning", resource=name, ignore_codes=("NoSuchBucket",), Bucket=name)
    if versioning is None:
        return {"exists": False, "versioning": None, "region": None}
    location = call(s3, "get_bucket_location", resource="bucket %s" % name, Bucket=name)
    return {"exists": True, "versioning": versioning.get("Status"),
            "region": decide_blockers.location_region(location.get("LocationConstraint"))}


def bucket_cause(backend, bucket, identity, enable_versioning):
    """The ``cause`` and ``cause_detail`` of a preflight stop on the bucket (missing, or versioning off); {} for another."""
    settings = backend["settings"]
    if bucket.get("exists"):
        if bucket.get("versioning") != "Enabled" and not enable_versioning:
            return {"cause": decide.CAUSE_VERSIONING, "cause_detail": {"bucket": settings["bucket"]}}
        return {}
    places = ["%s:%s" % (backend["file"], backend["line"])] + list(backend.get("partial_config_files") or [])
    return {"cause": decide.CAUSE_BUCKET_MISSING, "cause_detail": {
        "bucket": settings["bucket"], "place": " or ".join(places), "principal": (identity or {}).get("principal"),
        "init_bucket": (backend.get("initialised") or {}).get("bucket")}}


def held_detail(locks, now):
    """Who holds the first lock, and whether it is older than an hour (what unlock.yml calls stale by default)."""
    lock = locks[0]
    age = lock.get("age_seconds")
    holder = "%s (lock ID %s, %s)" % (lock.get("who") or "?", lock.get("id") or "?", lock.get("operation") or "?")
    return {"holder": holder, "stale": age is not None and age > STALE_AFTER}


def backend_view(backend):
    """The part of root.read_root's backend a later phase and the report need: the resolved root that
    travels in the contract (later phases re-read only the files that changed, root.backend_now)."""
    keep = ("root", "file", "line", "form", "config_files", "partial_config_files", "settings", "lock_mode",
            "initialised_lock_mode", "initialised", "required_version", "working_dir", "unresolved_settings",
            "lock_sources", "init_lock_settings")
    return {name: backend.get(name) for name in keep}


def check_loadable(root, terraform, backend, unreadable):
    """Stop the root on a file terraform init cannot load, before anything else is read or changed.

    Such a file is the first thing to name, also when it is why the backend could not be read
    (``unreadable``: the RootError resolve_root raised, else None).
    """
    product = terraform["product"] if terraform else "terraform"
    blockers = decide_blockers.unloadable_file_blockers(load_problems(loaded_files(root, product)), terraform)
    if blockers:
        raise PhaseFailed("; ".join(blockers))
    if unreadable is not None:
        raise PhaseFailed(str(unreadable))
    blockers = decide_blockers.unloadable_file_blockers(load_problems(backend["partial_config_files"]), terraform)
    if blockers:
        raise PhaseFailed("; ".join(blockers))


def read_backend(root, init_args, host):
    """``(backend, None)`` of the root's files and last init (root.read_root), or ``(None, RootError)``
    when they cannot be read (check_loadable names a file terraform cannot load first); a missing root stops."""
    path = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(path):
        raise PhaseFailed("the root's directory %s does not exist" % path, cause=decide.CAUSE_ROOT_MISSING,
                          cause_detail={"root": path, "host": host})
    try:
        return read_root(root, init_args, terragrunt=True), None
    except RootError as exc:
        return None, exc


def decide_from_files(backend, migration, args, unsupported):
    """The action of a root decided from its files alone, with no AWS read (else ``action`` stays None).

    A root past the target is ``ahead`` (a stage-1 rerun after stage 2 leaves it as it is); a Terragrunt root the
    role cannot re-initialise is ``unsupported`` (``none`` when its files and last init already say the target).
    """
    ahead = outcome.ahead_of(backend, args["target"])
    if ahead is not None:
        migration.update(action=decide.ACTION_AHEAD, why=ahead, workspaces=[],
                         reinit=backend["initialised_lock_mode"] != decide.LOCKFILE)
        return
    if unsupported is None:
        return
    blockers = decide_blockers.file_blockers(backend, None, args["target"])
    if blockers:
        raise PhaseFailed("; ".join(blockers))
    action, why = decide_blockers.choose_action(backend, args["target"], None, [])
    if action != decide.ACTION_NONE:
        action, why = decide.ACTION_UNSUPPORTED, unsupported
    migration.update(action=action, why=why, unsupported=decide.TERRAGRUNT, workspaces=[],
                     reinit_command=decide_blockers.reinit_command(backend["root"], "terragrunt", args["init_args"]))


class ActionModule(RootAction):
    PHASE = "preflight"
    RESOLVES_IDENTITY = True
    ARGUMENT_SPEC = dict(
        root=dict(type="path"),
        root_name=dict(type="str"),
        # A remote root: this host's clone of the repository (the tfstate role's checkout, root_checkout's options).
        repo_url=dict(type="str", no_log=True),
        repo_version=dict(type="str"),
        repo_subdir=dict(type="str"),
        workdir=dict(type="path", default="~/.cache/tfstate-s3-backend/work"),
        git_branch=dict(type="str", default="tfstate/s3-native-locking"),
        init_args=dict(type="list", elements="str", default=[]),
        terraform_bin=dict(type="str", default="terraform"),
        terragrunt_bin=dict(type="str"),
        target=dict(type="str", choices=[decide.DUAL, decide.LOCKFILE, decide.DYNAMODB, AUTO], default=decide.DUAL),
        dual_grace=dict(type="str", default=DEFAULT_DUAL_GRACE),
        dynamodb_table=dict(type="str"),
        enable_versioning=dict(type="bool", default=False),
        probe=dict(type="bool", default=True),
        baseline_plan=dict(type="bool", default=False),
        freeze_lease=dict(type="int", default=3600),
        terraform_timeout=dict(type="int", default=900),
    )

    def phase(self, args, task_vars):
        """Check the root out, choose its stage (``auto``), then read it; an unsupported root's rewrite is shown."""
        checkout = self._checkout(args, task_vars.get("inventory_hostname"))
        args = dict(args, root=checkout["root_path"], root_name=args["root_name"] or checkout["repo_url"])
        # The one parse of the root's backend files in this run: the stage, the preflight and (through the
        # contract's backend) every later phase use it.
        resolved = read_backend(args["root"], args["init_args"], task_vars.get("inventory_hostname"))
        stage = {}
        if args["target"] == AUTO:
            stage = self.compose(Stage, dict(self.aws_options(args), root=args["root"], root_name=args["root_name"],
                                             init_args=args["init_args"], dual_grace=args["dual_grace"],
                                             backend_identity=args["backend_identity"]), task_vars, resolved=resolved)
            if stage.get("failed"):
                raise PhaseFailed(stage["msg"], **dict((key, stage[key]) for key in ("cause", "cause_detail")
                                                       if key in stage))
            if stage["target"] is None:
                # The root stays at its stage: root_stage measured its row; nothing else is read.
                return dict(changed=stage["changed"], stage=stage, target="", checkout=checkout, msg=stage["msg"])
            args = dict(args, target=stage["target"])
        result = self._read(args, task_vars, resolved)
        result.update(stage=stage, target=args["target"], checkout=checkout)
        if result["migration"]["action"] == decide.ACTION_UNSUPPORTED:
            # Shown, never written: the report carries the diff a person applies.
            result["rewrite"] = self.compose(Rewrite, dict(migration=result["migration"]), task_vars, check_mode=True)
        return result

    @staticmethod
    def _checkout(args, host):
        """``{root_path, clone, repo_url, commit, branch, changed}``: the local root as given, or this host's clone
        of the repository brought to its version (root_git.checkout_remote, as the tfstate role's checkout)."""
        if args["repo_url"]:
            try:
                found = checkout_remote(run_here, host, args["repo_url"], args["repo_version"], args["repo_subdir"],
                                        args["workdir"], args["git_branch"], binary=git_binary())
            except GitError as exc:
                raise PhaseFailed(str(exc), phase="checkout")
            return dict(root_path=found["root_path"], clone=found["clone"], repo_url=redact_url(args["repo_url"]),
                        commit=found["commit"], branch=found["branch"], changed=found["changed"])
        if not args["root"]:
            raise PhaseFailed("%s: give the root's directory (root, tfstate_root) or its repository (repo_url, "
                              "tfstate_repo_url)" % host, phase="checkout")
        return dict(root_path=args["root"], clone=None, repo_url=None, commit=None, branch=None, changed=False)

    def _read(self, args, task_vars, resolved):
        """Read the root's bucket and locks; decide what it needs and prepare the bucket and table."""
        started = clock.now()
        identity = runs.run_identity()
        env = self.terraform_env(args)
        backend, migration = self._read_root(args, task_vars.get("inventory_hostname"), identity, started, env,
                                             resolved)
        if migration.action is not None:
            # A root past the target, or a Terragrunt root the role cannot re-initialise: decided from its files
            # alone, no AWS read.
            return dict(changed=False, migration=migration.to_dict(),
                        msg="%s: %s (%s)" % (migration.host, migration.action, migration.why))
        settings = backend["settings"]
        # A failure here keeps the reason alone: root_result reads the root's bucket and key back from its files.
        connection, migration.identity = self.root_connection(args, backend, identity["run_id"])
        s3 = connection.client("s3")
        bucket = read_bucket(s3, settings["bucket"])
        blockers = decide_blockers.preflight_blockers(backend, migration.terraform, args["target"], bucket,
                                                      args["enable_versioning"])
        blockers += decide_blockers.region_blockers(backend, migration.region or connection.region, bucket)
        if blockers:
            # The reason alone (not the `migration` read so far): a failed task prints its whole result.
            cause = bucket_cause(backend, bucket, migration.identity, args["enable_versioning"])
            raise PhaseFailed("; ".join(blockers), **cause)
        migration.account = migration.identity["account"]
        self._read_state_side(connection, s3, backend, migration, identity, started, args)
        action = migration.action
        changed = False
        if action != decide.ACTION_NONE and not self.check_mode:
            if args["baseline_plan"] and action == decide.ACTION_REWRITE:
                migration.baseline_rc = self._baseline(migration, args, env)
            changed = self._prepare(connection, s3, bucket, settings, migration, args)
        return dict(changed=changed, migration=migration.to_dict(),
                    msg="%s: %s (%s)" % (migration.host, action, migration.why))

    @staticmethod
    def _read_root(args, host, identity, started, env, resolved):
        """The root's backend (``resolved``: read_backend's) and binary; the start of the ``migration`` result.

        ``action`` is None (decided later, from S3) except for a Terragrunt root the role cannot
        re-initialise: ``unsupported``, or ``none`` when its files and last init already say the target.
        """
        root = os.path.abspath(os.path.expanduser(args["root"]))
        backend, unreadable = resolved
        unsupported = None
        if backend is not None and decide_blockers.is_terragrunt(backend):
            unsupported = decide_blockers.terragrunt_unsupported(backend, args["terragrunt_bin"])
        terraform = None
        if unsupported is None:
            try:
                terraform = terraform_facts(terraform_version(args["terraform_bin"], env), args["terraform_bin"])
            except RootError as exc:
                raise PhaseFailed(str(exc))
            terraform["binary"] = args["terraform_bin"]
        check_loadable(root, terraform, backend, unreadable)
        migration = Migration(
            host=host,
            root=backend["root"],
            # What reports and records call the root: its repository URL (without credentials) or its path.
            root_name=redact_url(args["root_name"] or backend["root"]),
            target=args["target"],
            backend=backend_view(backend),
            terraform=terraform,
            region=backend["settings"].get("region") or args.get("region"),
            run_id=identity["run_id"],
            job_id=identity["job_id"],
            controller=identity["controller"],
            started=clock.utc_text(started),
            lock_mode_before=backend["lock_mode"],
            initialised_lock_mode_before=backend["initialised_lock_mode"],
            # The binary that re-initialises and plans a Terragrunt root the role migrates; None for any other.
            terragrunt_bin=args["terragrunt_bin"] if decide_blockers.is_terragrunt(backend) and unsupported is None else None,
        )
        if decide_blockers.is_terragrunt(backend) and unsupported is None:
            migration.terragrunt = terragrunt_version(args["terragrunt_bin"], env)
        decide_from_files(backend, migration, args, unsupported)
        return backend, migration

    def _read_state_side(self, connection, s3, backend, migration, identity, started, args):
        """Record, workspaces and locks in both stores; stops on a lock held by anyone else; decides the action."""
        settings = backend["settings"]
        lease = args["freeze_lease"]
        record = read_record(s3, settings["bucket"], settings["key"])
        if migration.target == decide.DYNAMODB:
            table = self._rollback_table(connection, backend, record, args["dynamodb_table"], migration)
        else:
            table = decide_blockers.lock_table_of(backend, record)
        states = list_states(s3, settings["bucket"], settings["key"], settings.get("workspace_key_prefix"))
        workspaces = [state["workspace"] for state in states] or ["default"]
        locks, table_exists = self._find_locks(connection, settings, table, migration.region, workspaces)
        stale, held = self._judge(identity["run_id"], started, record, locks)
        if held:
            holders = [lock for _why, lock in held if lock is not None]
            detail = (held_detail(holders, started) if holders
                      else {"holder": runs.describe_run(record["pending"]), "stale": False})
            raise PhaseFailed("; ".join(why for why, _lock in held), cause=decide.CAUSE_LOCK_HELD, cause_detail=detail)
        intent_why = runs.classify_intent((record or {}).get("pending"), identity["run_id"], started)[1]
        interrupted = decide_blockers.interruption_evidence(backend, migration.target, record,
                                                            sorted(set(entry["why"] for entry in stale)), intent_why)
        action, why = decide_blockers.choose_action(backend, migration.target, record, interrupted)
        migration.update(
            workspaces=workspaces,
            dynamodb_table=table,
            freeze_table=table if table_exists else None,
            record_before=record,
            stale_freezes=stale,
            interrupted=interrupted,
            action=action,
            why=why,
            freeze={"lock_id": runs.freeze_lock_id(identity["run_id"], migration.host),
                    "info": runs.freeze_info(identity, started, lease)},
            intent=runs.new_intent(identity, started, lease, migration.target, table),
        )

    @staticmethod
    def _judge(run_id, now, record, locks):
        """``(stale, held)``: the leftover maintenance locks the freeze may release, and why the root must stop
        (``(why, lock)`` pairs; the lock is None for a live intent).

        Another run's live intent stops the root (named, with the locks it holds), like its live
        maintenance lock; an intent proven dead is resumed (interruption_evidence).
        """
        intent, intent_why = runs.classify_intent((record or {}).get("pending"), run_id, now)
        stale, held = [], [(intent_why, None)] if intent == "live" else []
        for lock in locks:
            kind, why = runs.lock_holder(lock, run_id, now, record)
            if kind in ("stale_freeze", "ours"):
                stale.append({"workspace": lock.get("workspace") or "default", "store": lock["store"],
                              "id": lock["id"], "why": why,
                              "run_id": (runs.parse_freeze_info(lock.get("info")) or {}).get("run_id")})
            elif intent == "live" and runs.lock_run(lock, now, record) == record["pending"].get("run_id"):
                held.append(("its lock: %s" % runs.describe_lock(lock), lock))
            else:
                held.append((why, lock))
        return stale, held

    @staticmethod
    def _rollback_table(connection, backend, record, explicit, migration):
        """The table a rollback goes back to, with its blockers checked (its key schema read when it exists)."""
        table = decide_blockers.rollback_table(backend, record, explicit)
        blockers = decide_blockers.rollback_blockers(backend, table, explicit, record)
        if not blockers:
            summary = table_summary(table, describe_table(connection.client("dynamodb"), table))
            migration.table_existed = summary["exists"]
            blockers = decide_blockers.rollback_blockers(backend, table, explicit, record, summary)
        if blockers:
            raise PhaseFailed("; ".join(blockers))
        return table

    def _prepare(self, connection, s3, bucket, settings, migration, args):
        """The rights the later phases need, proven; then versioning on (when allowed), the only change here.

        A rollback (target dynamodb) creates its missing table here - the proof of CreateTable, and where the
        maintenance lock's DynamoDB item goes - and proves it can read every workspace's state (the digests).
        """
        if migration.target == decide.DYNAMODB:
            return self._prepare_rollback(connection, s3, settings, migration)
        # The table first: its probe leaves nothing behind when a right is missing (the S3 probe leaves versions).
        if migration.freeze_table:
            self._probe_table(connection.client("dynamodb"), migration.freeze_table, settings)
        if args["probe"] and migration.action in (decide.ACTION_REWRITE, decide.ACTION_INIT):
            self._probe(s3, settings, migration.freeze["lock_id"])
        if bucket["versioning"] == "Enabled":
            return False
        call(s3, "put_bucket_versioning", resource=settings["bucket"], Bucket=settings["bucket"],
             VersioningConfiguration={"Status": "Enabled"})
        return True

    def _prepare_rollback(self, connection, s3, settings, migration):
        dynamodb = connection.client("dynamodb")
        table = migration.dynamodb_table
        changed = False
        if not migration.freeze_table:
            try:
                changed = ensure_table(dynamodb, table)[0]
            except TableRefused as exc:
                raise PhaseFailed(str(exc))
            migration.update(freeze_table=table, table_created=changed)
        self._probe_table(dynamodb, table, settings)
        for workspace in migration.workspaces:
            key = state_key(settings["key"], workspace, settings.get("workspace_key_prefix"))
            # One byte of each state proves s3:GetObject: the digest phase reads every state's bytes.
            call(s3, "get_object", resource="%s/%s" % (settings["bucket"], key),
                 ignore_codes=("NoSuchKey", "404", "InvalidRange"), Bucket=settings["bucket"], Key=key, Range="bytes=0-0")
        return changed

    @staticmethod
    def _find_locks(connection, settings, table, region, workspaces):
        """The locks on the root's states in both stores, and whether the table exists."""
        request = {"bucket": settings["bucket"], "key": settings["key"],
                   "workspace_key_prefix": settings.get("workspace_key_prefix"), "workspaces": workspaces,
                   "dynamodb_table": table, "region": region}
        try:
            return find_locks(connection.client, [request]), bool(table)
        except AwsError as exc:
            if not table or exc.code != "ResourceNotFoundException":
                raise
        # The table named by the record or the last init is gone (retired): S3 alone holds locks.
        request["dynamodb_table"] = None
        return find_locks(connection.client, [request]), False

    @staticmethod
    def _probe(s3, settings, tag):
        target = LockTarget(settings["bucket"], settings["key"], encrypt=settings.get("encrypt"),
                            kms_key_id=settings.get("kms_key_id"))
        lock = new_lock(target.path, "probe", info="Conditional-write probe of tfstate.s3_backend.migrate")
        if not probe_conditional_writes(s3, target, lock, tag):
            raise PhaseFailed("Bucket %s accepted a second PutObject with If-None-Match: * on one key: it does not "
                              "honour conditional writes, so use_lockfile cannot lock there." % settings["bucket"])

    @staticmethod
    def _probe_table(dynamodb, table, settings):
        """Prove PutItem and DeleteItem on the lock table before anything changes (the thaw needs DeleteItem)."""
        probe_id = "%s/%s.tfstate-s3-backend-probe" % (settings["bucket"], settings["key"])
        resource = "DynamoDB table %s item %s" % (table, probe_id)
        try:
            # DeleteItem of the absent probe item first: a no-op that proves the right without leaving an item behind.
            call(dynamodb, "delete_item", resource=resource, TableName=table, Key={"LockID": {"S": probe_id}})
            call(dynamodb, "put_item", resource=resource, TableName=table,
                 Item={"LockID": {"S": probe_id}, "Info": {"S": "Permission probe of tfstate.s3_backend.migrate"}})
            call(dynamodb, "delete_item", resource=resource, TableName=table, Key={"LockID": {"S": probe_id}})
        except AwsError as exc:
            raise PhaseFailed("the lock table %s cannot be used for the maintenance lock (nothing was changed): %s"
                              % (table, exc))

    @staticmethod
    def _baseline(migration, args, env):
        """``terraform plan -detailed-exitcode`` with the current backend: 0 no changes, 2 changes."""
        endpoint = args.get("endpoint_url")
        binary, extra = runner(migration.to_dict())
        env = dict(env, **extra)
        rc, out, err = run(init_argv(binary, args["init_args"], endpoint), migration.root, env,
                           args["terraform_timeout"])
        if rc != 0:
            raise PhaseFailed("terraform init with the current backend failed: %s" % first_error(err or out))
        rc, out, err = run(plan_argv(binary, "60s", detailed=True), migration.root,
                           dict(env, TF_WORKSPACE="default"), args["terraform_timeout"])
        if rc not in (0, 2):
            raise PhaseFailed("the baseline terraform plan failed: %s" % first_error(err or out))
        return rc
