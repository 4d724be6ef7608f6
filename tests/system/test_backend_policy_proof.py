"""The generated IAM policy is enough for Terraform and no more, proven with moto's IAM enforcement.

A moto server started with INITIAL_NO_AUTH_ACTION_COUNT checks every request after the first few
against the caller's IAM policies. The first requests create an administrator; everything after,
the administrator's set-up and every terraform run, is authorised through IAM.
"""

import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.iam_policy import backend_policy
from tests.testbed.aws import ALLOW_ALL, keyed_client, user_with_policy
from tests.testbed.terraform import TerraformRoot, kill_process_group, wait_for

BUCKET = "tfstate-policy-proof"
KEY = "team/app/terraform.tfstate"


@pytest.fixture(scope="module")
def accounts(enforcing_server):
    bootstrap = keyed_client(enforcing_server, "iam", ("testing", "testing"))
    admin_keys = user_with_policy(bootstrap, "admin", ALLOW_ALL)
    admin_s3 = keyed_client(enforcing_server, "s3", admin_keys)
    admin_s3.create_bucket(Bucket=BUCKET)
    admin_s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    admin_iam = keyed_client(enforcing_server, "iam", admin_keys)
    admin_dynamodb = keyed_client(enforcing_server, "dynamodb", admin_keys)
    admin_dynamodb.create_table(TableName="legacy-locks", BillingMode="PAY_PER_REQUEST",
                                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                                KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    terraform_keys = user_with_policy(admin_iam, "terraform", backend_policy(BUCKET, [KEY]))
    return {"admin": admin_keys, "terraform": terraform_keys}


def test_admin_really_is_checked(enforcing_server, accounts):
    """The enforcement is on: unknown keys are refused (else the proof below proves nothing)."""
    stranger = keyed_client(enforcing_server, "s3", ("AKIAUNKNOWN000000000", "nope"))
    with pytest.raises(ClientError):
        stranger.list_objects_v2(Bucket=BUCKET)


def test_policy_is_enough_for_terraform_and_no_more(enforcing_server, accounts, tmp_path, terraform_bin):
    admin_s3 = keyed_client(enforcing_server, "s3", accounts["admin"])
    root = TerraformRoot(tmp_path / "root", enforcing_server.url, binary=terraform_bin,
                         access_key=accounts["terraform"][0], secret_key=accounts["terraform"][1])
    root.write_main()
    root.write_backend(bucket=BUCKET, key=KEY, use_lockfile=True)

    root.init()
    root.plan()
    root.apply(serial="1")
    root.apply(serial="2")
    versions = admin_s3.list_object_versions(Bucket=BUCKET, Prefix=KEY)["Versions"]
    assert len([v for v in versions if v["Key"] == KEY]) == 2

    # A killed apply leaves its lock behind; force-unlock with the policy user's rights removes it.
    apply = root.start_apply(sleep_seconds=60)
    lock_key = KEY + ".tflock"

    def lock_body():
        try:
            return json.loads(admin_s3.get_object(Bucket=BUCKET, Key=lock_key)["Body"].read())
        except ClientError:
            return None

    lock = wait_for(lock_body, timeout=60, what="the .tflock of the running apply")
    kill_process_group(apply)
    assert lock_body() is not None, "the killed apply's lock should still be there"
    refused = root.plan(check=False)
    assert refused.returncode != 0 and "Error acquiring the state lock" in refused.stderr
    root.run("force-unlock", "-force", lock["ID"])
    assert lock_body() is None

    terraform_s3 = keyed_client(enforcing_server, "s3", accounts["terraform"])
    with pytest.raises(ClientError) as denied:
        terraform_s3.delete_object(Bucket=BUCKET, Key=KEY)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert admin_s3.head_object(Bucket=BUCKET, Key=KEY)["ContentLength"] > 0

    terraform_dynamodb = keyed_client(enforcing_server, "dynamodb", accounts["terraform"])
    with pytest.raises(ClientError) as denied:
        terraform_dynamodb.get_item(TableName="legacy-locks", Key={"LockID": {"S": "%s/%s" % (BUCKET, KEY)}})
    # moto answers 403 with the bare status as the code; AWS says AccessDeniedException.
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    with pytest.raises(ClientError):
        terraform_s3.get_object(Bucket=BUCKET, Key="other-team/terraform.tfstate")


def test_policy_without_lock_permissions_is_not_enough(enforcing_server, accounts, tmp_path, terraform_bin):
    """The proof can fail: drop the .tflock statement and terraform cannot lock."""
    policy = backend_policy(BUCKET, [KEY])
    policy["Statement"] = [stmt for stmt in policy["Statement"] if stmt["Sid"] != "LockFiles"]
    admin_iam = keyed_client(enforcing_server, "iam", accounts["admin"])
    keys = user_with_policy(admin_iam, "terraform-no-locks", policy)
    root = TerraformRoot(tmp_path / "root", enforcing_server.url, binary=terraform_bin,
                         access_key=keys[0], secret_key=keys[1])
    root.write_main()
    root.write_backend(bucket=BUCKET, key=KEY, use_lockfile=True)
    root.init()
    result = root.apply(serial="3", check=False)
    assert result.returncode != 0
    assert "Error acquiring the state lock" in result.stderr


# --- workspaces: no reach into another root's workspace state --------------------------------------

WS_KEY = "network/terraform.tfstate"
# Another root whose key ends like WS_KEY: its workspace state matches env:/*/network/terraform.tfstate.
OTHER_STATE = "env:/prod/team-b/network/terraform.tfstate"


def _other_root_state(admin_s3):
    admin_s3.put_object(Bucket=BUCKET, Key=OTHER_STATE, Body=b'{"version": 4, "serial": 7}')
    admin_s3.put_object(Bucket=BUCKET, Key=OTHER_STATE + ".tflock", Body=b'{"ID": "team-b-apply"}')


def _refused(call, **kwargs):
    with pytest.raises(ClientError) as denied:
        call(Bucket=BUCKET, **kwargs)
    return denied.value.response["Error"]["Code"]


def _assert_other_root_unreachable(server, keys):
    s3 = keyed_client(server, "s3", keys)
    assert _refused(s3.get_object, Key=OTHER_STATE) == "AccessDenied"
    assert _refused(s3.put_object, Key=OTHER_STATE, Body=b"{}") == "AccessDenied"
    assert _refused(s3.get_object, Key=OTHER_STATE + ".tflock") == "AccessDenied"
    assert _refused(s3.delete_object, Key=OTHER_STATE + ".tflock") == "AccessDenied"


def test_workspace_wildcard_policy_keeps_own_workspaces_and_refuses_other_roots(
        enforcing_server, accounts, tmp_path, terraform_bin):
    admin_s3 = keyed_client(enforcing_server, "s3", accounts["admin"])
    admin_iam = keyed_client(enforcing_server, "iam", accounts["admin"])
    _other_root_state(admin_s3)
    policy = backend_policy(BUCKET, [WS_KEY], workspaces=True, allow_workspace_delete=True)
    keys = user_with_policy(admin_iam, "terraform-ws", policy)

    # The proof can fail: without the deny statement, the wildcard reaches the other root's state.
    unguarded = dict(policy, Statement=[s for s in policy["Statement"] if s["Sid"] != "NoOtherRootsWorkspaces"])
    loose = user_with_policy(admin_iam, "terraform-ws-unguarded", unguarded)
    assert keyed_client(enforcing_server, "s3", loose).get_object(Bucket=BUCKET, Key=OTHER_STATE)["Body"].read()

    _assert_other_root_unreachable(enforcing_server, keys)

    # Terraform itself, as that principal, uses the root's own workspaces.
    root = TerraformRoot(tmp_path / "ws-root", enforcing_server.url, binary=terraform_bin,
                         access_key=keys[0], secret_key=keys[1])
    root.write_main()
    root.write_backend(bucket=BUCKET, key=WS_KEY, use_lockfile=True)
    root.init()
    root.apply(serial="1")
    root.run("workspace", "new", "staging")
    root.apply(serial="2")
    listed = [o["Key"] for o in admin_s3.list_objects_v2(Bucket=BUCKET, Prefix="env:/")["Contents"]]
    assert "env:/staging/" + WS_KEY in listed
    root.run("workspace", "select", "default")
    root.run("workspace", "delete", "-force", "staging")
    listed = [o["Key"] for o in admin_s3.list_objects_v2(Bucket=BUCKET, Prefix="env:/")["Contents"]]
    assert "env:/staging/" + WS_KEY not in listed
    assert OTHER_STATE in listed and admin_s3.get_object(Bucket=BUCKET, Key=OTHER_STATE)["Body"].read() == (
        b'{"version": 4, "serial": 7}')


def test_named_workspace_policy_grants_those_workspaces_only(enforcing_server, accounts):
    admin_s3 = keyed_client(enforcing_server, "s3", accounts["admin"])
    admin_iam = keyed_client(enforcing_server, "iam", accounts["admin"])
    _other_root_state(admin_s3)
    policy = backend_policy(BUCKET, [WS_KEY], workspace_names=["staging", "prod"])
    assert not any("*" in r for s in policy["Statement"] for r in
                   (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
    keys = user_with_policy(admin_iam, "terraform-named", policy)
    s3 = keyed_client(enforcing_server, "s3", keys)
    s3.put_object(Bucket=BUCKET, Key="env:/prod/" + WS_KEY, Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="env:/prod/" + WS_KEY + ".tflock", Body=b"{}", IfNoneMatch="*")
    s3.delete_object(Bucket=BUCKET, Key="env:/prod/" + WS_KEY + ".tflock")
    assert s3.get_object(Bucket=BUCKET, Key="env:/prod/" + WS_KEY)["Body"].read() == b"{}"
    assert _refused(s3.put_object, Key="env:/dev/" + WS_KEY, Body=b"{}") == "AccessDenied"
    _assert_other_root_unreachable(enforcing_server, keys)
