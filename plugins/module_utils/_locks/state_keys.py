# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where Terraform's S3 backend keeps a state, its lock object and its DynamoDB items.

Pure functions, no Ansible or boto3 imports. See docs/s3-locking-facts in the shared docs:
state key ``key`` for the default workspace, ``<prefix>/<workspace>/<key>`` otherwise;
lock object ``<state key>.tflock``; DynamoDB lock item ``<bucket>/<state key>``; digest item
``<bucket>/<state key>-md5``.
"""

DEFAULT_WORKSPACE = "default"
DEFAULT_WORKSPACE_KEY_PREFIX = "env:"
LOCK_SUFFIX = ".tflock"
DIGEST_SUFFIX = "-md5"
# Where the collection's ledger lives in a state bucket (_fleet/ledger.py): never a workspace, never read by terraform.
LEDGER_PREFIX = "tfstate-s3-backend-ledger/"


def state_key(key, workspace=None, workspace_key_prefix=None):
    """The S3 key of a workspace's state object."""
    if not workspace or workspace == DEFAULT_WORKSPACE:
        return key
    prefix = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
    return "%s/%s/%s" % (prefix, workspace, key)


def lock_key(state_object_key):
    """The S3 key of the ``.tflock`` object that locks a state object."""
    return state_object_key + LOCK_SUFFIX


def state_key_of_lock(lock_object_key):
    """The state key a ``.tflock`` key locks, or None when it is not a lock key."""
    if lock_object_key.endswith(LOCK_SUFFIX) and len(lock_object_key) > len(LOCK_SUFFIX):
        return lock_object_key[:-len(LOCK_SUFFIX)]
    return None


def s3_uri(bucket, key):
    """``s3://<bucket>/<key>``: how messages and errors name an S3 object."""
    return "s3://%s/%s" % (bucket, key)


def state_path(bucket, state_object_key):
    """``<bucket>/<state key>``: the lock's ``Path`` and the DynamoDB lock item's LockID."""
    return "%s/%s" % (bucket, state_object_key)


def lock_table_key(bucket, state_object_key):
    """The DynamoDB LockID of a state's lock item (not to be confused with a lock's ID, ``lock_id``)."""
    return state_path(bucket, state_object_key)


def digest_table_key(bucket, state_object_key):
    """The DynamoDB LockID of a state's digest item."""
    return state_path(bucket, state_object_key) + DIGEST_SUFFIX


def parse_table_key(value):
    """Split a DynamoDB LockID into ``(bucket, state key, is_digest)``; None when malformed."""
    is_digest = value.endswith(DIGEST_SUFFIX)
    path = value[:-len(DIGEST_SUFFIX)] if is_digest else value
    bucket, sep, key = path.partition("/")
    if not sep or not bucket or not key:
        return None
    return bucket, key, is_digest


def workspace_of(state_object_key, key, workspace_key_prefix=None):
    """The workspace a state key belongs to for a backend ``key``; None when it is not one of its."""
    if state_object_key == key:
        return DEFAULT_WORKSPACE
    prefix = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
    head = prefix + "/"
    tail = "/" + key
    if state_object_key.startswith(head) and state_object_key.endswith(tail):
        workspace = state_object_key[len(head):-len(tail)]
        if workspace and "/" not in workspace:
            return workspace
    return None
