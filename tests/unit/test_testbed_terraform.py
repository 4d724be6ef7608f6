"""The test bed releases only the lock a terraform command took itself (an AWS SDK resend under load)."""

import datetime
import subprocess

from tests.testbed.terraform import self_held_lock

REFUSED = """
Error: Error acquiring the state lock

Error message: operation error DynamoDB: PutItem, https response error StatusCode: 400,
ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        ffe35c58-92be-0c47-57e3-07ce90dba612
  Path:      tfstate-test-b8caaaa7fcae/app/terraform.tfstate
  Operation: %s
  Who:       root@vm
  Version:   1.11.4
  Created:   2026-11-27 16:07:54.266765539 +0000 UTC
  Info:      %s

"""


def at(microsecond):
    return datetime.datetime(2026, 11, 27, 16, 7, 54, microsecond, tzinfo=datetime.timezone.utc)


def refused(operation="OperationTypeApply", info=""):
    return subprocess.CompletedProcess([], 1, "", REFUSED % (operation, info))


def test_the_lock_this_command_took_is_its_own():
    assert self_held_lock(("apply",), refused(), at(100000)) == "ffe35c58-92be-0c47-57e3-07ce90dba612"


def test_any_other_lock_stands():
    assert self_held_lock(("apply",), refused(), at(300000)) is None, "created before this command started"
    assert self_held_lock(("plan",), refused(), at(100000)) is None, "another command's operation"
    assert self_held_lock(("apply",), refused(info="maintenance"), at(100000)) is None, "a lock with Info"
    assert self_held_lock(("init",), refused(), at(100000)) is None
    assert self_held_lock(("apply",), subprocess.CompletedProcess([], 0, "", ""), at(100000)) is None
