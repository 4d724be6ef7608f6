import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws import iam_policy
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.iam_policy import PolicyError, backend_policy

ARN = "arn:aws:s3:::b/"


def statement(policy, sid):
    found = [s for s in policy["Statement"] if s["Sid"] == sid]
    return found[0] if found else None


def test_no_workspaces_no_wildcard_no_deny():
    policy = backend_policy("b", ["net/terraform.tfstate"])
    assert statement(policy, "ReadWriteState")["Resource"] == [ARN + "net/terraform.tfstate"]
    assert statement(policy, "NoOtherRootsWorkspaces") is None


def test_wildcard_workspaces_come_with_the_cross_root_deny():
    policy = backend_policy("b", ["net/terraform.tfstate"], workspaces=True, workspace_key_prefix="ws")
    assert ARN + "ws/*/net/terraform.tfstate" in statement(policy, "ReadWriteState")["Resource"]
    deny = statement(policy, "NoOtherRootsWorkspaces")
    assert deny["Effect"] == "Deny" and deny["Action"] == ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    assert deny["Resource"] == [ARN + "ws/*/*/net/terraform.tfstate", ARN + "ws/*/*/net/terraform.tfstate.tflock"]


@pytest.mark.parametrize("key, denied", [
    ("env:/staging/net/terraform.tfstate", False),          # own workspace
    ("env:/staging/net/terraform.tfstate.tflock", False),   # its lock
    ("env:/prod/team-b/net/terraform.tfstate", True),       # another root's workspace: the reported hole
    ("env:/prod/team-b/net/terraform.tfstate.tflock", True),
    ("env:/a/b/c/net/terraform.tfstate", True),
])
def test_the_deny_matches_exactly_what_is_not_a_workspace(key, denied):
    policy = backend_policy("b", ["net/terraform.tfstate"], workspaces=True)
    allow = statement(policy, "ReadWriteState")["Resource"] + statement(policy, "LockFiles")["Resource"]
    deny = statement(policy, "NoOtherRootsWorkspaces")["Resource"]
    assert any(iam_policy._iam_match(pattern, ARN + key) for pattern in allow)  # the wildcard alone grants it
    assert any(iam_policy._iam_match(pattern, ARN + key) for pattern in deny) is denied


def test_keys_ending_alike_in_one_policy_are_refused_with_workspaces():
    with pytest.raises(PolicyError) as refused:
        backend_policy("b", ["net/terraform.tfstate", "team-b/net/terraform.tfstate"], workspaces=True)
    assert "team-b/net/terraform.tfstate" in str(refused.value) and "workspace_names" in str(refused.value)
    # Named workspaces need no deny, so the same keys are fine.
    backend_policy("b", ["net/terraform.tfstate", "team-b/net/terraform.tfstate"], workspace_names=["prod"])
    # Keys that do not end alike are fine with the wildcard.
    backend_policy("b", ["net/terraform.tfstate", "app/terraform.tfstate"], workspaces=True)


def test_named_workspaces_are_exact():
    policy = backend_policy("b", ["net/terraform.tfstate"], workspace_names=["default", "prod"],
                            allow_workspace_delete=True)
    assert statement(policy, "ReadWriteState")["Resource"] == [
        ARN + "net/terraform.tfstate", ARN + "env:/prod/net/terraform.tfstate"]
    assert statement(policy, "DeleteWorkspaceState")["Resource"] == [ARN + "env:/prod/net/terraform.tfstate"]
    assert statement(policy, "NoOtherRootsWorkspaces") is None


@pytest.mark.parametrize("kwargs, words", [
    (dict(keys=["net/*.tfstate"]), "wildcard"),
    (dict(keys=["net/terraform.tfstate"], workspace_key_prefix="env?"), "workspace_key_prefix"),
    (dict(keys=["${aws:username}/terraform.tfstate"]), "variable"),
    (dict(keys=["net/terraform.tfstate"], workspace_names=["a/b"]), "not one Terraform allows"),
    (dict(keys=["net/terraform.tfstate"], workspace_names=["*"]), "not one Terraform allows"),
    (dict(keys=["net/terraform.tfstate"], workspaces=True, workspace_names=["a"]), "not both"),
    (dict(keys=[]), "at least one"),
])
def test_bad_input_is_refused_clearly(kwargs, words):
    with pytest.raises(PolicyError) as refused:
        backend_policy("b", **kwargs)
    assert words in str(refused.value)


# ---------------------------------------------------------------------------
# Operator policies


def _allowed(policy):
    """``{(action, resource)}`` the policy allows."""
    pairs = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        pairs.update((action, resource) for action in actions for resource in resources)
    return pairs


def test_migrate_operator_policy_is_scoped_to_buckets_locks_records_and_tables():
    policy = iam_policy.operator_policy("migrate", ["state-a", "state-b"], ["locks"], region="eu-west-1", account="123456789012")
    allowed = _allowed(policy)
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/locks"
    assert ("s3:ListBucket", "arn:aws:s3:::state-b") in allowed
    assert ("s3:GetObject", "arn:aws:s3:::state-a/*") in allowed
    assert ("s3:DeleteObject", "arn:aws:s3:::state-a/*.tflock") in allowed
    assert ("s3:PutObject", "arn:aws:s3:::state-a/*.tfstate-s3-backend.json") in allowed
    assert ("dynamodb:DeleteItem", table) in allowed
    assert ("s3:PutObject", "arn:aws:s3:::state-a/tfstate-s3-backend-ledger/*.json") in allowed
    # Never a write or delete of a state object, never a table change, no versioning change unless asked.
    for action, resource in allowed:
        if action in ("s3:PutObject", "s3:DeleteObject"):
            assert resource.endswith((".tflock", ".tfstate-s3-backend.json")) or (
                action == "s3:PutObject" and resource.endswith("/tfstate-s3-backend-ledger/*.json")), (action, resource)
    assert not any(action in ("dynamodb:DeleteTable", "dynamodb:CreateTable", "s3:PutBucketVersioning")
                   for action, _resource in allowed)
    assert ("s3:PutBucketVersioning", "arn:aws:s3:::state-a") in _allowed(
        iam_policy.operator_policy("migrate", ["state-a"], ["locks"], enable_versioning=True))


def test_each_job_gets_its_own_actions():
    def actions(job, **kwargs):
        return set(action for action, _resource in _allowed(iam_policy.operator_policy(job, ["b"], ["t"], **kwargs)))

    assert "dynamodb:DeleteTable" in actions("retire") and "dynamodb:CreateBackup" in actions("retire")
    assert "dynamodb:DeleteTable" not in actions("rollback") | actions("migrate") | actions("unlock")
    assert "dynamodb:CreateTable" in actions("rollback", create_table=True)
    assert "dynamodb:CreateTable" not in actions("rollback")
    assert actions("locks") == {"s3:ListBucket", "s3:GetObject", "dynamodb:Scan", "dynamodb:GetItem",
                                "dynamodb:BatchGetItem"}
    assert actions("unlock") - actions("locks") == {"s3:DeleteObject", "dynamodb:DeleteItem"}
    # Without tables, no DynamoDB statement at all.
    assert not any(a.startswith("dynamodb:") for a, _r in _allowed(iam_policy.operator_policy("migrate", ["b"])))


def test_operator_policy_refuses_what_it_cannot_scope():
    with pytest.raises(iam_policy.PolicyError, match="unknown job"):
        iam_policy.operator_policy("destroy", ["b"])
    with pytest.raises(iam_policy.PolicyError, match="at least one state bucket"):
        iam_policy.operator_policy("migrate", [])
    with pytest.raises(iam_policy.PolicyError, match="wildcard"):
        iam_policy.operator_policy("migrate", ["state-*"])
    assert iam_policy.table_arn("t", "cn-north-1") == "arn:aws-cn:dynamodb:cn-north-1:*:table/t"


def test_the_docs_table_lists_each_jobs_actions_as_built():
    import os
    import re

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "docs", "operator-policies.md")) as handle:
        text = handle.read()
    for job in iam_policy.OPERATOR_JOBS:
        [row] = re.findall(r"^\| `%s` \| ([^\n]*) \|$" % job, text, re.MULTILINE)[:1]
        cells = [cell.strip() for cell in row.split(" | ")]
        actions = iam_policy.operator_actions(job)
        scopes = ("bucket", "objects", "locks", "records", "ledger", "tables")
        assert cells == [", ".join(actions[scope]) or "-" for scope in scopes], job


def test_the_operator_policy_module_returns_the_function_s_policy():
    from ansible_collections.tfstate.s3_backend.plugins.modules import operator_policy as module
    from tests.testbed.collection import run_module

    result = run_module(module, {"job": "unlock", "buckets": ["b"], "lock_tables": ["t"], "account": "1"})
    assert result["changed"] is False
    assert result["policy"] == iam_policy.operator_policy("unlock", ["b"], ["t"], account="1")
    failed = run_module(module, {"job": "unlock", "buckets": ["b*"]})
    assert failed["failed"] and "Cannot scope the unlock operator policy" in failed["msg"]
