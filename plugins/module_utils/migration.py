# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of one root's migration, as plain functions (no Ansible, no AWS calls).

The migrate role runs a root through phases (preflight, freeze, rewrite, re-init, verify,
record, thaw, result); each phase's action plugin gathers facts and asks these functions what
to do and what to call the outcome. Everything a result says is measured by the caller (files,
``.terraform``, S3, DynamoDB, terraform) and passed in here; nothing is taken from the request.
"""

import datetime
import os
import re
import shlex
import socket
import uuid

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time_or_none, utc_text

# Lock modes, as backend_discovery names them.
LOCKFILE = "lockfile"
DUAL = "dual"
DYNAMODB = "dynamodb"
UNLOCKED = "none"   # a backend that does not lock: left alone in every mode

# What a root needs, from the preflight:
ACTION_NONE = "none"        # files, last init and record already say the target: nothing to do
ACTION_VERIFY = "verify"    # files and init are done, but a run was interrupted: prove and record again
ACTION_INIT = "init"        # files are done, the last terraform init is not
ACTION_REWRITE = "rewrite"  # the backend configuration still has another lock mode
ACTION_UNSUPPORTED = "unsupported"  # the role cannot re-initialise the root (Terragrunt without a binary)
ACTION_AHEAD = "ahead"      # the files are already past the target (lockfile-only when the target is dual)

# Root statuses. A check-mode run never says a root was migrated: it says what would happen.
MIGRATED = "migrated"
RESUMED = "resumed"
UNCHANGED = "unchanged"
STOPPED = "stopped"
FAILED = "failed"
WOULD_MIGRATE = "would_migrate"
WOULD_RESUME = "would_resume"
WOULD_STOP = "would_stop"
WOULD_FAIL = "would_fail"
# A root moved back to DynamoDB locking (target dynamodb, the rollback role).
ROLLED_BACK = "rolled_back"
WOULD_ROLL_BACK = "would_roll_back"
# Nothing was (or would be) changed because the role cannot re-initialise the root: the same in check mode.
UNSUPPORTED = "unsupported"
# The root is past the target (a stage-1 rerun after stage 2): nothing was (or would be) changed; not a problem.
AHEAD = "ahead"
PROBLEM_STATUSES = (STOPPED, FAILED, WOULD_STOP, WOULD_FAIL, UNSUPPORTED)
# Why a root is unsupported (the result's ``unsupported`` field).
TERRAGRUNT = "terragrunt"
TERRAGRUNT_FORMS = ("terragrunt", "terragrunt_generate", "terragrunt_tfvars")
# Phases after which a failure leaves the root's files and locks as they were (a freeze that
# meets a lock is released again by the thaw).
READ_ONLY_PHASES = ("checkout", "preflight", "freeze")
# Why a root stopped, decided where the failure is found (a failed phase's ``cause``); next_step reads it.
CAUSE_ROOT_MISSING = "root_missing"
CAUSE_CREDENTIALS = "credentials"
CAUSE_BUCKET_MISSING = "bucket_missing"
CAUSE_LOCK_HELD = "lock_held"
CAUSE_VERSIONING = "versioning"
# AWS error codes that mean the credentials are missing, unknown, expired or refused.
CREDENTIAL_ERRORS = ("NoCredentials", "NoCredentialsError", "PartialCredentials", "ProfileNotFound",
                     "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "ExpiredToken",
                     "ExpiredTokenException", "InvalidAccessKeyId", "AuthFailure", "TokenRefreshRequired",
                     "CredentialRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError")

FREEZE_MARK = "tfstate.s3_backend maintenance lock"
# The Info text of the maintenance locks of releases before run identities (0.1.0).
LEGACY_FREEZE_INFO = "Backend migration to S3 native locking by tfstate.s3_backend.migrate"
_FREEZE_FIELDS = re.compile(r"(\w+)=(\S+)")


# ---------------------------------------------------------------------------
# Run identity and the maintenance lock that freezes a root's states while its backend changes.

def _process_start(pid):
    """The start time of process ``pid`` in clock ticks since boot (Linux), else None."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def _boot_time():
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                if line.startswith("btime "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def run_identity(controller_pid=None, environ=None):
    """One ID and start time per ansible-playbook run, the same in every worker process of that run.

    Workers are forked from the playbook process, so its PID and start time identify the run
    (and, on the same controller, tell whether it still lives); an AWX job ID is added when there
    is one, so a report names the job.
    """
    environ = os.environ if environ is None else environ
    pid = controller_pid or os.getppid()
    controller = socket.gethostname()
    ticks = _process_start(pid)
    boot = _boot_time()
    # The playbook process's start; the collection's clock when it is simulated (TFSTATE_NOW) or unknown.
    started = clock.now(environ)
    if ticks is not None and boot is not None and clock.simulated(environ) is None:
        started = datetime.datetime.fromtimestamp(boot + int(ticks) / os.sysconf("SC_CLK_TCK"),
                                                  datetime.timezone.utc)
    job = environ.get("JOB_ID") or environ.get("AWX_JOB_ID") or environ.get("TOWER_JOB_ID") or ""
    run_id = "%s-%s-%s" % (controller, pid, ticks or "0")
    if job:
        run_id = "awx-job-%s-%s" % (job, run_id)
    return {"run_id": run_id, "controller": controller, "pid": pid, "pid_start": ticks or "0",
            "job_id": job or None, "started": utc_text(started)}


def run_is_dead(controller, pid, pid_start):
    """Whether the run that holds a maintenance lock has provably ended: same controller, process gone."""
    if not controller or controller != socket.gethostname() or not pid:
        return False
    try:
        return _process_start(int(pid)) != pid_start
    except ValueError:
        return False


def judge_run(holder, now):
    """Whether the run that left a maintenance lock or a pending intent still works on the root: ``(live, why)``.

    ``holder``: ``{controller, pid, pid_start, lease_until}`` (``lease_until`` an aware datetime or None).
    On this controller the process decides (running: live, even past its lease; gone: ended); on
    another controller only the lease can prove a run over. Only a run proven over is ``live=False``.
    """
    controller = holder.get("controller")
    if controller and controller == socket.gethostname() and holder.get("pid"):
        if run_is_dead(controller, holder.get("pid"), holder.get("pid_start")):
            return False, "its process on %s has ended" % controller
        return True, "its process on %s is running" % controller
    lease = holder.get("lease_until")
    if lease is not None and now > lease:
        return False, "its lease ended %s" % utc_text(lease)
    return True, "lease until %s" % (utc_text(lease) if lease is not None else "unknown")


def describe_run(holder):
    """How a message names a run of this collection: ``run ID (controller C, job J, started S)``."""
    started = holder.get("started")
    if isinstance(started, datetime.datetime):
        started = utc_text(started)
    return "run %s (controller %s, job %s, started %s)" % (
        holder.get("run_id") or "?", holder.get("controller") or "?", holder.get("job_id") or "none", started or "?")


def freeze_lock_id(run_id, host):
    """The maintenance lock's ID for ``host`` in this run: stable, so a retried freeze is idempotent."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "tfstate-s3-backend:%s:%s" % (run_id, host)))


def freeze_info(identity, started, lease_seconds):
    """The Info text of a maintenance lock: which run holds it and until when it may be presumed live."""
    lease_until = started + datetime.timedelta(seconds=int(lease_seconds))
    text = "%s run=%s controller=%s pid=%s pid_start=%s started=%s lease_until=%s" % (
        FREEZE_MARK, identity["run_id"], identity["controller"], identity["pid"], identity["pid_start"],
        utc_text(started), utc_text(lease_until))
    if identity.get("job_id"):
        text += " job=%s" % identity["job_id"]
    return text


def parse_freeze_info(info):
    """``{run_id, controller, pid, pid_start, job_id, started, lease_until}`` of a maintenance lock's Info, or None."""
    if not info:
        return None
    if info == LEGACY_FREEZE_INFO:
        return {"run_id": None, "controller": None, "started": None, "lease_until": None, "legacy": True}
    if not info.startswith(FREEZE_MARK + " "):
        return None
    fields = dict(_FREEZE_FIELDS.findall(info[len(FREEZE_MARK):]))
    return {
        "run_id": fields.get("run"),
        "controller": fields.get("controller"),
        "pid": fields.get("pid"),
        "pid_start": fields.get("pid_start"),
        "job_id": fields.get("job"),
        "started": parse_time_or_none(fields.get("started")),
        "lease_until": parse_time_or_none(fields.get("lease_until")),
        "legacy": False,
    }


def classify_lock(lock, run_id, now, legacy_lease_seconds=3600):
    """What a found lock means for this run: ``(kind, why)``.

    ``kind``: ``ours`` (this run's maintenance lock), ``stale_freeze`` (a maintenance lock of a
    run proven over by judge_run: may be released), ``live_freeze`` (another run is
    migrating this root now), ``held`` (anyone else: terraform, a person).
    """
    freeze = parse_freeze_info(lock.get("info"))
    if freeze is None:
        return "held", "a lock is held on %s" % describe_lock(lock)
    if freeze["run_id"] and freeze["run_id"] == run_id:
        return "ours", "this run's own maintenance lock"
    if freeze["legacy"]:
        age = lock.get("age_seconds")
        if age is not None and age > legacy_lease_seconds:
            return "stale_freeze", "a maintenance lock of an earlier release, %ss old" % age
        return "live_freeze", ("another migration may be running on this root: %s (a maintenance lock of an "
                               "earlier release, not older than %ss)" % (describe_lock(lock), legacy_lease_seconds))
    live, how = judge_run(freeze, now)
    if not live:
        return "stale_freeze", "the maintenance lock of run %s: %s" % (freeze["run_id"], how)
    return "live_freeze", "another migration run is working on this root: %s; %s (%s)" % (
        describe_run(freeze), how, describe_lock(lock))


# ---------------------------------------------------------------------------
# The pending intent: what a run says in the migration record between its freeze and its record.

def new_intent(identity, started, lease_seconds, target, dynamodb_table):
    """The ``pending`` entry of the migration record a run writes once its freeze holds the root.

    It carries what judge_run needs (controller, process, lease), so another run can tell a live
    cut-over (stop, naming it) from an interrupted one (resume it).
    """
    return {"target": target, "run_id": identity["run_id"], "job_id": identity.get("job_id"),
            "controller": identity["controller"], "pid": identity["pid"], "pid_start": identity["pid_start"],
            "started": utc_text(started),
            "lease_until": utc_text(started + datetime.timedelta(seconds=int(lease_seconds))),
            "dynamodb_table": dynamodb_table}


def classify_intent(pending, run_id, now, legacy_lease_seconds=3600):
    """What a record's ``pending`` intent means for this run: ``(kind, why)``.

    ``kind``: ``none`` (no intent), ``ours``, ``dead`` (its run is proven over: resume the cut-over),
    ``live`` (another run is cutting the root over now: stop, naming it). An intent of an earlier
    release (no controller nor lease) is judged by its start and ``legacy_lease_seconds``.
    """
    if not pending:
        return "none", ""
    if pending.get("run_id") and pending.get("run_id") == run_id:
        return "ours", "this run's own cut-over to %s" % pending.get("target")
    holder = dict(pending, lease_until=parse_time_or_none(pending.get("lease_until")))
    started = parse_time_or_none(pending.get("started"))
    if holder["lease_until"] is None and not pending.get("controller"):
        # Nothing to judge but its start (none: it cannot be a live run's).
        holder["lease_until"] = (started + datetime.timedelta(seconds=int(legacy_lease_seconds)) if started
                                 else now - datetime.timedelta(seconds=1))
    live, how = judge_run(holder, now)
    if live:
        return "live", "another migration run is cutting this root over to %s: %s; %s" % (
            pending.get("target"), describe_run(pending), how)
    return "dead", "a cut-over to %s by %s did not finish: %s" % (pending.get("target"), describe_run(pending), how)


def lock_in_window(lock, pending, now):
    """Whether a lock was taken while ``pending``'s run was in its cut-over window (its start to its lease)."""
    started = parse_time_or_none((pending or {}).get("started"))
    age = lock.get("age_seconds")
    if started is None or age is None:
        return started is not None  # a lock of unknown age during a live intent: the run's, as far as can be told
    taken = now - datetime.timedelta(seconds=int(age))
    lease = parse_time_or_none(pending.get("lease_until"))
    # A few seconds of slack: the run's start is its playbook's, a lock's time a client's clock.
    return taken >= started - datetime.timedelta(seconds=5) and (lease is None or taken <= lease)


def lock_holder(lock, run_id, now, record=None, legacy_lease_seconds=3600):
    """``(kind, why)`` of a found lock, naming the run of this collection that holds it when one does.

    classify_lock's kinds, plus ``live_run``: a lock that is not a maintenance lock (terraform's
    own, e.g. a verification plan's ``OperationTypePlan``, ``Who`` user@host) taken while another
    run's live intent (``record``'s ``pending``) says that run is in its cut-over window: that run's.
    """
    kind, why = classify_lock(lock, run_id, now, legacy_lease_seconds)
    if kind != "held":
        return kind, why
    pending = (record or {}).get("pending")
    intent, intent_why = classify_intent(pending, run_id, now, legacy_lease_seconds)
    if intent == "live" and lock_in_window(lock, pending, now):
        return "live_run", "%s; the lock is its (%s)" % (intent_why, describe_lock(lock))
    return kind, why


def lock_run(lock, now, record=None):
    """The ID of the run of this collection a lock belongs to (its maintenance lock's, or the live intent's in
    whose window it was taken: see lock_holder), else None."""
    freeze = parse_freeze_info(lock.get("info"))
    if freeze is not None:
        return freeze.get("run_id")
    pending = (record or {}).get("pending") or {}
    return pending.get("run_id") if lock_holder(lock, None, now, record)[0] == "live_run" else None


def freeze_recheck(record_before, record_now, run_id, now, legacy_lease_seconds=3600):
    """Why this run must not cut the root over although its freeze holds the lock (None: go on).

    Checked after the maintenance lock is taken and before the intent is written, so two runs
    cannot both pass: another run's live intent (it is between its thaw and its record), or a
    record another run wrote since this run's preflight read ``record_before``.
    """
    intent, why = classify_intent((record_now or {}).get("pending"), run_id, now, legacy_lease_seconds)
    if intent == "live":
        return why
    if (record_now or None) == (record_before or None):
        return None
    if (record_now or {}).get("run_id") == run_id or intent == "ours":
        return None
    writer = record_now or {}
    return ("another migration run changed this root since this run's preflight: %s recorded lock mode %s at %s; "
            "nothing was changed, rerun to see where the root stands" % (
                describe_run({"run_id": writer.get("run_id"), "job_id": writer.get("job_id"),
                              "started": writer.get("recorded_time"), "controller": None}),
                writer.get("mode"), writer.get("recorded_time") or writer.get("cutover_time")))


def describe_lock(lock):
    """One phrase naming a lock: where, which store, who, ID, operation, since when."""
    place = lock.get("state_path") or lock.get("lock_key") or lock.get("table_key") or "?"
    where = ("DynamoDB table %s" % lock.get("table")) if lock.get("store") == "dynamodb" else "S3"
    return "%s (%s) by %s, ID %s, operation %s, since %s" % (
        place, where, lock.get("who") or "?", lock.get("id") or "?", lock.get("operation") or "?",
        lock.get("created") or "?")


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


# ---------------------------------------------------------------------------
# The outcome, measured.

def root_status(action, failed_phase, check_mode, verified, target=None, left=None, resumed=False):
    """The root's status from what happened: the phase that failed (None: none did) and the proof.

    A root moved to ``target`` dynamodb (a rollback) is ``rolled_back`` (``would_roll_back``), not migrated.
    ``left``: what the run left behind, measured (what_was_left); given, a failure is ``failed``
    when it left anything and ``stopped`` only when nothing changed, whichever phase failed (check
    mode, which changes nothing, still judges by the phase). ``resumed``: the run took over an
    interrupted run's cut-over (resumption).
    """
    if action == ACTION_UNSUPPORTED and failed_phase is None:
        return UNSUPPORTED
    if action == ACTION_AHEAD and failed_phase is None:
        return AHEAD
    if failed_phase is not None:
        # An unsupported root's only later task is the check-mode rewrite that shows its diff: nothing was written.
        stopped = failed_phase in READ_ONLY_PHASES or action == ACTION_UNSUPPORTED
        if check_mode:
            return WOULD_STOP if stopped else WOULD_FAIL
        if left is not None:
            stopped = not left_anything(left)
        return STOPPED if stopped else FAILED
    if action == ACTION_NONE:
        return UNCHANGED
    resumed = resumed or action == ACTION_VERIFY
    if check_mode:
        if resumed:
            return WOULD_RESUME
        return WOULD_ROLL_BACK if target == DYNAMODB else WOULD_MIGRATE
    if not verified:
        return FAILED
    if resumed:
        return RESUMED
    return ROLLED_BACK if target == DYNAMODB else MIGRATED


# The phases of a cut-over in the order they run, by the name of the result each registers in the role.
CUTOVER_PHASES = (("freeze", "freeze"), ("digests", "digests"), ("object_lock", "object_lock"), ("rewrite", "rewrite"),
                  ("reinit", "reinit"), ("verify", "locked"), ("thaw", "thaw"), ("verify", "planned"), ("publish", "publish"),
                  ("record", "record"))


def first_failure(results):
    """``(phase, message)`` of the first phase that failed, from ``{name: registered result}`` of
    CUTOVER_PHASES; ``(None, None)`` when none did. The thaw runs after any failure (``always``):
    a failing thaw is the first failure only when nothing failed before it."""
    for phase, name in CUTOVER_PHASES:
        result = results.get(name) or {}
        if result.get("failed"):
            return phase, (result.get("msg") or "failed").strip()
    return None, None


def thaw_failure(results, failed_phase):
    """The release of the maintenance lock's error when it failed after another phase failed, else None."""
    thaw = results.get("thaw") or {}
    if thaw.get("failed") and failed_phase not in (None, "thaw"):
        return (thaw.get("msg") or "failed").strip()
    return None


def lock_still_held(frozen, thaw):
    """Whether this run's maintenance lock may still be held: the freeze ran and no thaw succeeded
    (a freeze that failed midway may have taken part of it; a failed release proves nothing)."""
    frozen, thaw = frozen or {}, thaw or {}
    if not frozen or frozen.get("skipped") or frozen.get("check_mode"):
        return False
    if frozen.get("failed") and "frozen" in frozen and not frozen["frozen"]:
        return bool(thaw.get("failed"))  # refused before it took anything: held only if the release failed too
    return not thaw or bool(thaw.get("failed")) or bool(thaw.get("skipped"))


def what_was_left(migration, files_mode, init_mode, files, lock_held, rewrite_ran=True, reinit_ran=True):
    """What a run left of a cut-over, measured: backend files on another lock mode than before
    (``files``: the paths the rewrite wrote), a last terraform init on another one, the lock.

    ``rewrite_ran``/``reinit_ran``: whether this run's rewrite and re-init started. Without them a
    change is another run's (an overlapping run that cut the root over), not something this run left.
    """
    rewritten = rewrite_ran and bool(files_mode) and files_mode != migration.get("lock_mode_before")
    reinitialised = reinit_ran and bool(files_mode) and init_mode != migration.get("initialised_lock_mode_before")
    return {
        "files_rewritten": (list(files) or ["%s (%s)" % (migration.get("backend", {}).get("file"), files_mode)])
        if rewritten else [],
        "last_init": init_mode if reinitialised else None,
        "lock_held": (migration.get("freeze") or {}).get("lock_id") if lock_held else None,
    }


def left_anything(left):
    return bool(left and (left.get("files_rewritten") or left.get("last_init") or left.get("lock_held")))


def describe_left(left, workspaces=()):
    """One phrase of what was left (empty when nothing)."""
    parts = []
    if left.get("files_rewritten"):
        parts.append("the backend files rewritten (%s)" % ", ".join(left["files_rewritten"]))
    if left.get("last_init"):
        parts.append("the last terraform init on %s" % left["last_init"])
    if left.get("lock_held"):
        held_on = ", ".join(workspaces) or "the states"
        parts.append("the maintenance lock %s still held on %s" % (left["lock_held"], held_on))
    return "; ".join(parts)


def failed_next_step(left):
    """The next step of a root a failed cut-over left half-done (left_anything)."""
    step = "rerun: it resumes from the intent it recorded"
    if left.get("lock_held"):
        step += (" and releases maintenance lock %s (proven stale once this run has ended); until then terraform "
                 "cannot lock this root" % left["lock_held"])
    return step


def resumption(run_id, stale_freezes, record_before, released=()):
    """What this run took over from an interrupted one: ``{run_id, lock_ids, why}``, or None.

    ``stale_freezes``: the preflight's proven-stale maintenance locks (``{id, run_id, why}``);
    ``record_before``: the migration record (a ``pending`` intent names the run that started a
    cut-over); ``released``: the lock records the freeze released (their ``id``), when it ran.
    """
    others = [entry for entry in stale_freezes or [] if not entry.get("run_id") or entry.get("run_id") != run_id]
    pending = (record_before or {}).get("pending") or {}
    if pending.get("run_id") == run_id:
        pending = {}
    if not others and not pending:
        return None
    runs = set(entry.get("run_id") or "?" for entry in others)
    if pending.get("run_id"):
        runs.add(pending["run_id"])
    runs = sorted(runs)
    released_ids = set(record.get("id") for record in released or [])
    lock_ids = sorted(set(entry["id"] for entry in others if not released_ids or entry["id"] in released_ids))
    intent = None
    if pending:
        intent = "a cut-over to %s by run %s, started %s" % (
            pending.get("target"), pending.get("run_id"), pending.get("started"))
    return {"run_id": ", ".join(runs), "lock_ids": lock_ids,
            "why": "; ".join(sorted(set(entry.get("why") for entry in others if entry.get("why")))), "intent": intent}


def resumed_reason(resumed, preview=False):
    """The reason of a root that took over an interrupted run's cut-over (resumption); ``preview``: check mode."""
    text = "%s the cut-over of interrupted run %s" % ("would resume" if preview else "resumed", resumed["run_id"])
    if resumed["lock_ids"]:
        text += "; %s its maintenance lock %s" % ("would release" if preview else "released",
                                                  ", ".join(resumed["lock_ids"]))
        if resumed["why"]:
            text += " (proven stale: %s)" % resumed["why"]
    if resumed.get("intent"):
        text += "; the migration record held its intent: %s" % resumed["intent"]
    return text


def ahead_of(backend, target):
    """Why a root is already past ``target`` (its files lock with the S3 lockfile only while the target is dual), or None.

    Such a root is not stopped: a stage-1 rerun after stage 2 (or to pick up a new root) leaves it as it is.
    """
    if target == DUAL and backend.get("lock_mode") == LOCKFILE:
        init = backend.get("initialised_lock_mode")
        return ("%s:%s: the backend already locks with the S3 lockfile only (past migrate_target=dual)%s"
                % (backend["file"], backend["line"], "" if init == LOCKFILE
                   else "; the last terraform init used %s" % (init or "nothing")))
    return None


def skipped_dual(lock_mode_before, target, status):
    """Whether the root went (or would go) from DynamoDB straight to lockfile, without the dual stage."""
    return (lock_mode_before == DYNAMODB and target == LOCKFILE
            and status in (MIGRATED, RESUMED, WOULD_MIGRATE, WOULD_RESUME))


def lock_mode_would_be(status, target, measured):
    """The lock mode a check-mode row shows as "after": the target for a root that would migrate, else the measured one."""
    if status in (WOULD_MIGRATE, WOULD_RESUME, WOULD_ROLL_BACK):
        return target
    return measured


def fails_root(status, fail_on_stopped, fail_on_unsupported=False):
    """Whether the root's host must fail at the end of the role: a failure always, a stop or an unsupported root when asked.

    An unsupported root (Terragrunt without a binary) is not an error of the run: it is reported with
    its next step, and fails only with ``fail_on_unsupported``.
    """
    if status in (FAILED, WOULD_FAIL):
        return True
    if status == UNSUPPORTED:
        return bool(fail_on_unsupported)
    return status in (STOPPED, WOULD_STOP) and bool(fail_on_stopped)


def lock_mode_after(files_mode, initialised_mode):
    """The lock mode a root has, from the files and terraform's initialised backend, both read back."""
    if files_mode == initialised_mode:
        return files_mode
    return "%s (files) / %s (last terraform init)" % (files_mode, initialised_mode or "none")


def aws_cause(code):
    """The cause of a failed AWS call for next_step: ``credentials`` for a missing, unknown or refused credential."""
    return CAUSE_CREDENTIALS if code in CREDENTIAL_ERRORS else None


def cause_step(cause, detail=None):
    """The next step of a stop whose cause was decided where it was found (see the ``CAUSE_*`` names), or None.

    ``detail``: what the finder knew (next_step also reads ``auto`` and ``grace``: a migrate_target=auto run):
    ``root`` and ``host`` (root_missing); ``profile`` (credentials: the
    profile used, when one was); ``bucket``, ``place`` (file:line naming it) and ``init_bucket`` (the bucket
    of the last terraform init) for bucket_missing; ``holder`` and ``stale`` for lock_held.
    """
    detail = detail or {}
    if cause == CAUSE_ROOT_MISSING:
        return ("the root's directory %s does not exist on the controller: fix tfstate_root (or tfstate_repo_url) of "
                "host %s in the inventory, then rerun" % (detail.get("root") or "?", detail.get("host") or "?"))
    if cause == CAUSE_CREDENTIALS:
        used = " (this run used profile %s)" % detail["profile"] if detail.get("profile") else ""
        return ("give this root working AWS credentials%s: set tfstate_aws_profile (or AWS_PROFILE), or AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment, check they are not expired, "
                "then rerun" % used)
    if cause == CAUSE_BUCKET_MISSING:
        place = detail.get("place") or "the backend configuration"
        init_bucket = detail.get("init_bucket")
        if init_bucket and init_bucket != detail.get("bucket"):
            return ("%s names bucket %s but the last terraform init used bucket %s: fix the bucket name there (or "
                    "terraform init again if the move is meant), then rerun" % (place, detail.get("bucket"), init_bucket))
        return ("check the bucket name at %s, the region, and that these credentials can see the bucket "
                "(tfstate_aws_profile / AWS_PROFILE), then rerun" % place)
    if cause == CAUSE_LOCK_HELD:
        holder = detail.get("holder") or "the lock holder"
        if detail.get("stale"):
            return ("the lock of %s looks stale: once you know that run has ended, release it with playbooks/unlock.yml "
                    "(unlock_lock_id), then rerun" % holder)
        return "wait for %s to finish and release the lock, then rerun" % holder
    if cause == CAUSE_VERSIONING:
        return "enable versioning on the bucket or set migrate_enable_versioning=true, then rerun"
    return None


def next_step(status, reason, target, phase=None, command=None, cause=None, detail=None):
    """What a person should do about a root, in one sentence (empty when nothing).

    ``command``: for an unsupported root, the re-init command to run by hand (reinit_command).
    ``cause``/``detail``: why a stopped or failed root did, as decided where it was found (cause_step);
    without a cause, the reason's words pick the step.
    """
    text = reason or ""
    if status == UNSUPPORTED:
        by_hand = ("apply the report's diff to the Terragrunt file (when it shows one), then run `%s` and a plan"
                   % (command or "terragrunt init -reconfigure"))
        if "no terragrunt binary" in text:
            return "set tfstate_terragrunt_bin and rerun, or by hand: %s" % by_hand
        return "by hand: %s" % by_hand
    if status == AHEAD:
        return ("nothing to do: the root is already past migrate_target=%s (lockfile only); run migrate_target=lockfile "
                "to re-initialise it" % target) if detail and detail.get("reinit") else ""
    scheduled = bool((detail or {}).get("auto"))
    if status in (UNCHANGED, MIGRATED, RESUMED, ROLLED_BACK):
        if target == DYNAMODB:
            return ""
        if target == DUAL and scheduled:
            return ("nothing: a later run of migrate_target=auto moves it to lockfile once the dual grace (%s) is over "
                    "and no DynamoDB-only client shows" % ((detail or {}).get("grace") or "migrate_dual_grace"))
        if target == DUAL:
            return ("run again with migrate_target=lockfile once every pipeline of this root uses the dual "
                    "configuration")
        return ""
    if status in (WOULD_MIGRATE, WOULD_RESUME, WOULD_ROLL_BACK):
        if scheduled:
            return "the next run of migrate_target=auto applies it (or run without --check now)"
        return "run without --check to apply"
    step = cause_step(cause, detail)
    if step:
        return step
    return _step_from_reason(status, text)


def _step_from_reason(status, text):
    """next_step for a stop without a cause code: the reason's words."""
    if "no DynamoDB table to roll back to" in text:
        return "set rollback_table to the table the root's clients locked with, then rerun"
    if "Terraform needs a string hash key" in text or "rollback_table is" in text:
        return "name a table with a string LockID hash key that the backend agrees with in rollback_table, then rerun"
    if "lock is held" in text or "another migration" in text:
        return "wait for the lock holder to finish (or, once proven stale, release it with playbooks/unlock.yml), then rerun"
    if "versioning" in text:
        return "enable versioning on the bucket or set migrate_enable_versioning=true, then rerun"
    if "does not exist" in text and "bucket" in text:
        return "check the bucket name, region and credentials of this root"
    if "required_version" in text or "does not support use_lockfile" in text:
        return "upgrade Terraform (>= 1.10.1) or OpenTofu (>= 1.10.2) and the root's required_version"
    if "init cannot load it" in text:
        return "save the named file as UTF-8 (or remove it from the root), then rerun"
    if "cannot be parsed" in text or "not literal" in text or "templated" in text:
        return "fix or render the named file, then rerun"
    if status in (FAILED, WOULD_FAIL):
        return "read the reason; the root's maintenance lock was released; fix and rerun (a rerun resumes)"
    return "fix the reason above, then rerun"
