# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs of this collection and their locks: a run's identity, whether a run is live or provably
ended, the maintenance lock's ID and ``Info``, a pending intent, and who holds a root. No Ansible imports."""

import datetime
import os
import re
import socket
import uuid

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time_or_none, utc_text


FREEZE_MARK = "tfstate.s3_backend maintenance lock"
# The Info text of the maintenance locks of releases before run identities (0.1.0).
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
    }


def classify_lock(lock, run_id, now):
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


def classify_intent(pending, run_id, now):
    """What a record's ``pending`` intent means for this run: ``(kind, why)``.

    ``kind``: ``none`` (no intent), ``ours``, ``dead`` (its run is proven over: resume the cut-over),
    ``live`` (another run is cutting the root over now: stop, naming it). An intent without a lease
    (every run writes one) cannot be a live run's.
    """
    if not pending:
        return "none", ""
    if pending.get("run_id") and pending.get("run_id") == run_id:
        return "ours", "this run's own cut-over to %s" % pending.get("target")
    holder = dict(pending, lease_until=parse_time_or_none(pending.get("lease_until")))
    if holder["lease_until"] is None:
        holder["lease_until"] = now - datetime.timedelta(seconds=1)
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


def lock_holder(lock, run_id, now, record=None):
    """``(kind, why)`` of a found lock, naming the run of this collection that holds it when one does.

    classify_lock's kinds, plus ``live_run``: a lock that is not a maintenance lock (terraform's
    own, e.g. a verification plan's ``OperationTypePlan``, ``Who`` user@host) taken while another
    run's live intent (``record``'s ``pending``) says that run is in its cut-over window: that run's.
    """
    kind, why = classify_lock(lock, run_id, now)
    if kind != "held":
        return kind, why
    pending = (record or {}).get("pending")
    intent, intent_why = classify_intent(pending, run_id, now)
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


def freeze_recheck(record_before, record_now, run_id, now):
    """Why this run must not cut the root over although its freeze holds the lock (None: go on).

    Checked after the maintenance lock is taken and before the intent is written, so two runs
    cannot both pass: another run's live intent (it is between its thaw and its record), or a
    record another run wrote since this run's preflight read ``record_before``.
    """
    intent, why = classify_intent((record_now or {}).get("pending"), run_id, now)
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
