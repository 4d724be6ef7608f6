# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform's DynamoDB lock table: describe it, list its items by state, create it, retire it safely.

Pure logic, no Ansible imports: functions take boto3 clients and plain values, so the rollback
role (which recreates the table) and the retire role (which deletes it) share them.
A table is retired only when no lock item exists and no digest item shows a client that still
has ``dynamodb_table`` writing a state after the cut-over.
"""


from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError, BotoCoreError, call
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.digests import current_digests
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.finding import dynamodb_item_record
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.records import is_digest_item, scan_table
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import parse_table_key, state_path

try:
    from botocore.waiter import WaiterModel, create_waiter_with_client
except ImportError:  # reported by the module through missing_required_lib
    WaiterModel = create_waiter_with_client = None

# What Terraform's S3 backend needs: a string hash key named LockID.
LOCK_ID_ATTRIBUTE = "LockID"
WAIT_DELAY_SECONDS = 5

# botocore has no waiter for DynamoDB backups; this one polls DescribeBackup the same way.
_BACKUP_WAITER = {
    "version": 2,
    "waiters": {
        "BackupAvailable": {
            "operation": "DescribeBackup",
            "delay": WAIT_DELAY_SECONDS,
            "maxAttempts": 120,
            "acceptors": [
                {"state": "success", "matcher": "path", "expected": "AVAILABLE",
                 "argument": "BackupDescription.BackupDetails.BackupStatus"},
                {"state": "failure", "matcher": "path", "expected": "DELETED",
                 "argument": "BackupDescription.BackupDetails.BackupStatus"},
            ],
        }
    },
}


class TableRefused(Exception):
    """A change refused before anything was written; ``blockers`` says why, one entry per reason."""

    def __init__(self, message, blockers=None):
        super().__init__(message)
        self.blockers = blockers or []


def table_resource(table):
    return "DynamoDB table %s" % table


def _wait(client, waiter, resource, timeout, **kwargs):
    """Run a botocore waiter for about ``timeout`` seconds; AwsError when it gives up."""
    config = {"Delay": WAIT_DELAY_SECONDS, "MaxAttempts": max(1, int(timeout) // WAIT_DELAY_SECONDS)}
    try:
        waiter.wait(WaiterConfig=config, **kwargs)
    except BotoCoreError as exc:  # WaiterError included
        raise AwsError(str(exc), operation="Wait", resource=resource, code=type(exc).__name__)


# ---------------------------------------------------------------------------
# Reading

def describe_table(dynamodb, table):
    """DescribeTable's ``Table``, or None when the table does not exist."""
    answer = call(dynamodb, "describe_table", resource=table_resource(table),
                  ignore_codes=("ResourceNotFoundException",), TableName=table)
    return answer["Table"] if answer else None


def key_schema_problem(description):
    """Why Terraform cannot lock with this table, or None when its key is a string LockID hash key."""
    hash_keys = [k["AttributeName"] for k in description.get("KeySchema", []) if k.get("KeyType") == "HASH"]
    range_keys = [k["AttributeName"] for k in description.get("KeySchema", []) if k.get("KeyType") == "RANGE"]
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    if hash_keys != [LOCK_ID_ATTRIBUTE] or range_keys or types.get(LOCK_ID_ATTRIBUTE) != "S":
        return "its key is %s; Terraform needs a string hash key named LockID and no sort key" % (
            ", ".join("%s (%s, %s)" % (k["AttributeName"], k.get("KeyType"), types.get(k["AttributeName"]))
                      for k in description.get("KeySchema", [])) or "missing")
    return None


def table_summary(table, description):
    """The table's settings that matter here, snake_case; ``exists: false`` when there is none."""
    if description is None:
        return {"name": table, "exists": False, "status": None, "arn": None, "billing_mode": None,
                "deletion_protection": None, "key_schema_problem": None}
    billing = (description.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    return {
        "name": table,
        "exists": True,
        "status": description.get("TableStatus"),
        "arn": description.get("TableArn"),
        "billing_mode": billing,
        "deletion_protection": bool(description.get("DeletionProtectionEnabled", False)),
        "key_schema_problem": key_schema_problem(description),
    }


def group_by_state(table, items, now=None):
    """Lock and digest items grouped by state path, plus the LockIDs that are neither.

    Returns ``(states, unrecognised)``: ``states`` is a list sorted by path of
    ``{"state_path", "bucket", "key", "lock": lock record or None, "digest": hex MD5 or None}``.
    """
    now = now or clock.now()
    states = {}
    unrecognised = []
    for item in items:
        parsed = parse_table_key(item.get("LockID", ""))
        if not parsed:
            unrecognised.append(item.get("LockID"))
            continue
        bucket, key, is_digest = parsed
        entry = states.setdefault(state_path(bucket, key), {
            "state_path": state_path(bucket, key), "bucket": bucket, "key": key, "lock": None, "digest": None})
        if is_digest:
            entry["digest"] = item.get("Digest")
        else:
            entry["lock"] = dynamodb_item_record(table, item, now=now)
    return [states[path] for path in sorted(states)], sorted(unrecognised)


def table_info(dynamodb, table, read_items=None, now=None):
    """Summary, item counts and items grouped by state.

    ``read_items``: called (only when the table exists) for the items to report; by default a scan
    of the whole table.
    """
    description = describe_table(dynamodb, table)
    summary = table_summary(table, description)
    if description is None:
        items = []
    else:
        items = read_items() if read_items else scan_table(dynamodb, table)
    states, unrecognised = group_by_state(table, items, now=now)
    summary.update(item_count=len(items),
                   lock_item_count=sum(1 for state in states if state["lock"]),
                   digest_item_count=sum(1 for state in states if state["digest"] is not None))
    return summary, states, unrecognised


# ---------------------------------------------------------------------------
# state: present

def ensure_table(dynamodb, table, deletion_protection=None, check_mode=False, wait_timeout=300):
    """Create the lock table (LockID string hash key, on-demand billing) when missing; manage its
    deletion protection when ``deletion_protection`` is not None. Returns ``(changed, before, after)``
    summaries. A table whose key Terraform cannot use raises TableRefused.
    """
    description = describe_table(dynamodb, table)
    before = table_summary(table, description)
    if description is not None and before["key_schema_problem"]:
        raise TableRefused("table %s exists but %s" % (table, before["key_schema_problem"]))
    after = dict(before)
    if description is None:
        after.update(exists=True, status="ACTIVE", billing_mode="PAY_PER_REQUEST",
                     deletion_protection=bool(deletion_protection))
    elif deletion_protection is not None:
        after["deletion_protection"] = deletion_protection
    if after == before:
        return False, before, before
    if check_mode:
        return True, before, after
    resource = table_resource(table)
    created = True
    if description is None:
        # ResourceInUseException: another client (a parallel rollback of a root that shares the
        # table) created it since the describe; that table is adopted below.
        created = call(dynamodb, "create_table", resource=resource, ignore_codes=("ResourceInUseException",),
                       TableName=table, BillingMode="PAY_PER_REQUEST",
                       AttributeDefinitions=[{"AttributeName": LOCK_ID_ATTRIBUTE, "AttributeType": "S"}],
                       KeySchema=[{"AttributeName": LOCK_ID_ATTRIBUTE, "KeyType": "HASH"}],
                       DeletionProtectionEnabled=bool(deletion_protection)) is not None
    else:
        set_deletion_protection(dynamodb, table, deletion_protection, wait_timeout)
    _wait(dynamodb, dynamodb.get_waiter("table_exists"), resource, wait_timeout, TableName=table)
    after = table_summary(table, describe_table(dynamodb, table))
    if not created and after["key_schema_problem"]:
        raise TableRefused("table %s exists but %s" % (table, after["key_schema_problem"]))
    return created, before, after


def set_deletion_protection(dynamodb, table, enabled, wait_timeout=300):
    resource = table_resource(table)
    _wait(dynamodb, dynamodb.get_waiter("table_exists"), resource, wait_timeout, TableName=table)
    call(dynamodb, "update_table", resource=resource, TableName=table, DeletionProtectionEnabled=enabled)


# ---------------------------------------------------------------------------
# state: absent

def deletion_blockers(s3, table, items, cutover=None):
    """Why the table must not be deleted yet: one dict per lock item, per current digest, or for
    digests that cannot be judged without a cut-over time. Empty when deletion is safe.
    """
    blockers = []
    for item in items:
        if not is_digest_item(item):
            record = dynamodb_item_record(table, item)
            blockers.append({"reason": "lock item", "lock_table_key": item.get("LockID"),
                             "id": record["id"], "who": record["who"], "operation": record["operation"],
                             "created": record["created"]})
    digests = [item for item in items if is_digest_item(item) and item.get("Digest")]
    if digests and cutover is None:
        blockers.append({"reason": "digest items without cutover_time", "count": len(digests),
                         "lock_table_keys": [item["LockID"] for item in digests]})
    elif digests:
        for found in current_digests(s3, digests, cutover):
            blockers.append(dict(found, reason="digest matches a state version written after the cut-over"))
    return blockers


def describe_blockers(table, blockers):
    parts = []
    for blocker in blockers:
        if blocker["reason"] == "lock item":
            parts.append("lock item %s is held (ID %s, %s by %s since %s)" % (
                blocker["lock_table_key"], blocker["id"], blocker["operation"], blocker["who"], blocker["created"]))
        elif blocker["reason"].startswith("digest items without"):
            parts.append("%d digest items exist and no cutover_time was given to judge them (or remove them "
                         "first with digest=absent)" % blocker["count"])
        else:
            parts.append("digest item %s matches %s version %s written %s: a client with dynamodb_table still writes "
                         "this state" % (blocker["digest_table_key"], blocker["state_path"], blocker["version_id"],
                                         blocker["last_modified"]))
    return "table %s not deleted: %s" % (table, "; ".join(parts))


def create_backup(dynamodb, table, backup_name, wait_timeout=600):
    """An on-demand backup, waited for until AVAILABLE (AWS refuses to delete a table while one is made)."""
    resource = table_resource(table)
    details = call(dynamodb, "create_backup", resource=resource, TableName=table, BackupName=backup_name)
    arn = details["BackupDetails"]["BackupArn"]
    waiter = create_waiter_with_client("BackupAvailable", WaiterModel(_BACKUP_WAITER), dynamodb)
    _wait(dynamodb, waiter, "backup %s of %s" % (backup_name, resource), wait_timeout, BackupArn=arn)
    return {"name": backup_name, "arn": arn}


def default_backup_name(table, now=None):
    return "%s-before-delete-%s" % (table, clock.compact_text(now or clock.now()))


def ensure_table_absent(s3, dynamodb, table, cutover=None, backup=False, backup_name=None,
                        lift_deletion_protection=False, check_mode=False, wait_timeout=600):
    """Delete the lock table when it is provably unused.

    Refuses (TableRefused, nothing changed) while a lock item exists, while a digest matches a state
    version written after ``cutover``, when digests exist and no ``cutover`` is given, and when
    deletion protection is on and ``lift_deletion_protection`` is false. Returns
    ``(changed, before, after, backup)``; ``backup`` is ``{"name", "arn"}`` or None.
    """
    description = describe_table(dynamodb, table)
    before = table_summary(table, description)
    if description is None:
        return False, before, before, None
    blockers = deletion_blockers(s3, table, scan_table(dynamodb, table), cutover)
    if blockers:
        raise TableRefused(describe_blockers(table, blockers), blockers)
    if before["deletion_protection"] and not lift_deletion_protection:
        raise TableRefused("table %s not deleted: deletion protection is on; set lift_deletion_protection: true "
                           "to turn it off first" % table, [{"reason": "deletion protection"}])
    after = table_summary(table, None)
    backup_name = backup_name or default_backup_name(table)
    if check_mode:
        return True, before, after, {"name": backup_name, "arn": None} if backup else None
    made = create_backup(dynamodb, table, backup_name, wait_timeout) if backup else None
    # A client may have taken a lock while the checks and the backup ran: look once more.
    last_look = [item for item in scan_table(dynamodb, table) if not is_digest_item(item)]
    if last_look:
        blockers = deletion_blockers(s3, table, last_look)
        raise TableRefused(describe_blockers(table, blockers), blockers)
    if before["deletion_protection"]:
        set_deletion_protection(dynamodb, table, False, wait_timeout)
    resource = table_resource(table)
    _wait(dynamodb, dynamodb.get_waiter("table_exists"), resource, wait_timeout, TableName=table)
    call(dynamodb, "delete_table", resource=resource, TableName=table)
    _wait(dynamodb, dynamodb.get_waiter("table_not_exists"), resource, wait_timeout, TableName=table)
    return True, before, after, made
