# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""List the state objects (one per workspace) of a backend ``key``. No Ansible imports.

Objects are listed, never read: a state's content is secret.
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import (
    DEFAULT_WORKSPACE,
    DEFAULT_WORKSPACE_KEY_PREFIX,
    workspace_of,
)


def _record(workspace, summary):
    return {
        "workspace": workspace,
        "key": summary["Key"],
        "size": summary.get("Size"),
        "last_modified": summary["LastModified"].isoformat() if summary.get("LastModified") else None,
        "etag": (summary.get("ETag") or "").strip('"') or None,
    }


def list_states(s3, bucket, key, workspace_key_prefix=None):
    """The state objects of every workspace of ``key``: the default first, then by name."""
    prefix = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
    states = []
    default = call(s3, "list_objects_v2", resource="%s/%s" % (bucket, key), Bucket=bucket, Prefix=key, MaxKeys=1)
    for summary in default.get("Contents") or []:
        if summary["Key"] == key:
            states.append(_record(DEFAULT_WORKSPACE, summary))
    others = []
    for page in paginate(s3, "list_objects_v2", resource="%s/%s/" % (bucket, prefix), Bucket=bucket,
                         Prefix=prefix + "/"):
        for summary in page.get("Contents") or []:
            workspace = workspace_of(summary["Key"], key, prefix)
            if workspace and workspace != DEFAULT_WORKSPACE:
                others.append(_record(workspace, summary))
    return states + sorted(others, key=lambda state: state["workspace"])
