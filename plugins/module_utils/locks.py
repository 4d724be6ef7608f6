# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform state locks in S3 (``.tflock`` objects) and DynamoDB (lock items).

Pure logic, no Ansible imports: functions take boto3 clients and plain values, so the
modules, the migration role and other module_utils can share them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tfstate.s3_backend.plugins.module_utils.aws import AwsError, call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils.state_keys import DIGEST_SUFFIX

# BatchGetItem accepts at most 100 keys per request.
BATCH_GET_LIMIT = 100
# Bounded re-asks for keys DynamoDB left unprocessed (throttling); botocore retries each call too.
UNPROCESSED_ROUNDS = 8


def plain_item(item):
    """A DynamoDB item in the low-level wire format (``{"LockID": {"S": "..."}}``) as plain values."""
    return dict((name, next(iter(typed.values()))) for name, typed in item.items())


def is_digest_item(item):
    """True for a ``<bucket>/<key>-md5`` digest item, False for a lock item."""
    return item.get("LockID", "").endswith(DIGEST_SUFFIX)


def read_lock_items(client, table, lock_ids):
    """Read the items with the given LockIDs (consistent reads).

    Returns ``{LockID: plain item}``; LockIDs without an item are absent from the result.
    Works for lock items and ``-md5`` digest items alike.
    """
    wanted = sorted(set(lock_ids))
    found = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request = {table: {
            "Keys": [{"LockID": {"S": lock_id}} for lock_id in wanted[start:start + BATCH_GET_LIMIT]],
            "ConsistentRead": True,
        }}
        for dummy in range(UNPROCESSED_ROUNDS):
            answer = call(client, "batch_get_item", resource="DynamoDB table %s" % table, RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                item = plain_item(item)
                found[item["LockID"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise AwsError("DynamoDB kept leaving keys unprocessed after %d rounds" % UNPROCESSED_ROUNDS,
                           operation="BatchGetItem", resource="DynamoDB table %s" % table, code="UnprocessedKeys")
    return found


def scan_table(client, table, lock_id_prefix=None):
    """All items of a lock table (lock and digest items), as plain dicts sorted by LockID.

    ``lock_id_prefix`` keeps only LockIDs starting with it, for example ``"<bucket>/"``.
    """
    kwargs = {"TableName": table, "ConsistentRead": True}
    if lock_id_prefix:
        kwargs["FilterExpression"] = "begins_with(LockID, :prefix)"
        kwargs["ExpressionAttributeValues"] = {":prefix": {"S": lock_id_prefix}}
    items = []
    for page in paginate(client, "scan", resource="DynamoDB table %s" % table, **kwargs):
        items.extend(plain_item(item) for item in page.get("Items", []))
    return sorted(items, key=lambda item: item.get("LockID", ""))


def scan_lock_items(client, table, lock_id_prefix=None):
    """The lock items (not the ``-md5`` digest items) of a lock table, sorted by LockID."""
    return [item for item in scan_table(client, table, lock_id_prefix) if not is_digest_item(item)]
