"""The operator policies (iam_policy.operator_policy) are enough for each job and each action in them is needed,
proven with moto's IAM enforcement and real terraform on provider-less roots.

Each job runs as an IAM user holding exactly the job's policy (the collection's calls and the terraform it
runs use the same credentials), then as a user holding it minus one action: the job stops before anything
changes, with a reason that names the action.

moto checks the Resource of S3 requests, but for DynamoDB it authorises every request against the resource
``*``, so the table statements are given to moto with ``Resource: "*"`` (see moto_view()): the proof covers
their actions, and the table ARNs are covered by the unit tests.
"""

import copy
import json
import os

import pytest
import yaml

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.iam_policy import operator_policy
from tests.testbed.aws import ALLOW_ALL, keyed_client, user_with_policy
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.terraform import TerraformRoot

BUCKET = "tfstate-operator-proof"
TABLE = "operator-proof-locks"


def moto_view(policy):
    """The policy as moto can check it: DynamoDB statements on ``*`` (moto authorises DynamoDB against ``*``)."""
    policy = copy.deepcopy(policy)
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if all(action.startswith("dynamodb:") for action in actions):
            statement["Resource"] = "*"
    return policy


def without(policy, action):
    """The policy minus one action (from every statement that has it)."""
    policy = copy.deepcopy(policy)
    found = False
    for statement in policy["Statement"]:
        if action in statement["Action"]:
            statement["Action"] = [name for name in statement["Action"] if name != action]
            found = True
    assert found, action
    policy["Statement"] = [statement for statement in policy["Statement"] if statement["Action"]]
    return policy


@pytest.fixture(scope="module")
def admin(enforcing_server):
    keys = user_with_policy(keyed_client(enforcing_server, "iam", ("testing", "testing")), "admin", ALLOW_ALL)
    s3 = keyed_client(enforcing_server, "s3", keys)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    keyed_client(enforcing_server, "dynamodb", keys).create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    return keys


def _operator(enforcing_server, admin, name, policy):
    return user_with_policy(keyed_client(enforcing_server, "iam", admin), name, moto_view(policy))


def _roots(tmp_path, server, admin, terraform_bin, names):
    roots = {}
    for name in names:
        root = TerraformRoot(tmp_path / name, server.url, binary=terraform_bin, access_key=admin[0],
                             secret_key=admin[1])
        root.write_main()
        root.write_backend(bucket=BUCKET, key="%s/terraform.tfstate" % name, dynamodb_table=TABLE)
        root.init()
        root.apply(serial="1")
        roots[name] = root
    return roots


def _run(tmp_path, server, terraform_bin, keys, roots, playbook="migrate.yml", **extra):
    os.makedirs(str(tmp_path), exist_ok=True)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "hosts": dict((name, {"tfstate_root": root.path}) for name, root in roots.items()),
        "vars": dict({"tfstate_aws_endpoint_url": server.url, "tfstate_terraform_bin": terraform_bin,
                      "tfstate_report_dir": str(tmp_path / "reports"),
                      "tfstate_backup_dir": str(tmp_path / "backups"),
                      "migrate_target": "lockfile"}, **extra)}}))
    env = {"AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1], "AWS_REGION": "us-east-1"}
    result = run_playbook(os.path.join(ROOT, "playbooks", playbook), inventory=str(inventory), env=env)
    report = tmp_path / "reports" / ("%s-report.json" % playbook[:-4])
    if not report.exists():
        return result, {}
    with open(str(report)) as handle:
        rows = dict((row.get("host"), row) for row in json.load(handle)["results"])
    return result, rows


def _snapshot(server, admin, roots):
    """What a job may change: the backend files, every object version in the bucket, every item in the table."""
    s3 = keyed_client(server, "s3", admin)
    versions = s3.list_object_versions(Bucket=BUCKET)
    objects = sorted((item["Key"], item["VersionId"]) for item in versions.get("Versions", []) +
                     versions.get("DeleteMarkers", []))
    items = sorted(json.dumps(item, sort_keys=True)
                   for item in keyed_client(server, "dynamodb", admin).scan(TableName=TABLE)["Items"])
    files = dict((name, open(os.path.join(root.path, "backend.tf"), "rb").read()) for name, root in roots.items())
    return {"objects": objects, "items": items, "files": files}


def test_migrate_runs_with_exactly_its_policy_and_stops_first_without_dynamodb_delete_item(
        enforcing_server, admin, tmp_path, terraform_bin):
    policy = operator_policy("migrate", [BUCKET], [TABLE])

    # Without dynamodb:DeleteItem (the thaw and the digest clean-up need it): the preflight stops, nothing changed.
    denied_keys = _operator(enforcing_server, admin, "migrate-no-deleteitem", without(policy, "dynamodb:DeleteItem"))
    roots = _roots(tmp_path / "denied", enforcing_server, admin, terraform_bin, ["denied"])
    before = _snapshot(enforcing_server, admin, roots)
    result, rows = _run(tmp_path / "denied", enforcing_server, terraform_bin, denied_keys, roots)
    assert result.returncode == 2, result.stdout[-4000:]
    row = rows["denied"]
    assert row["status"] == "stopped" and row["phase"] == "preflight", row
    assert "dynamodb:DeleteItem" in row["reason"] and "DeleteItem" in row["reason"], row["reason"]
    assert _snapshot(enforcing_server, admin, roots) == before

    # With exactly the policy: every root migrates (lock proofs, plan, record, digests removed).
    keys = _operator(enforcing_server, admin, "migrate", policy)
    roots = _roots(tmp_path / "allowed", enforcing_server, admin, terraform_bin, ["app", "net"])
    result, rows = _run(tmp_path / "allowed", enforcing_server, terraform_bin, keys, roots)
    assert result.returncode == 0, result.stdout[-6000:]
    assert sorted((name, row["status"]) for name, row in rows.items()) == [("app", "migrated"), ("net", "migrated")]
    s3 = keyed_client(enforcing_server, "s3", admin)
    for name in ("app", "net"):
        record = json.loads(s3.get_object(Bucket=BUCKET, Key="%s/terraform.tfstate.tfstate-s3-backend.json" % name)
                            ["Body"].read())
        assert record["mode"] == "lockfile", record


def _old_locks(server, admin, name):
    """A stale lock (3 hours old) on state <name>/terraform.tfstate in both stores, as a killed apply leaves it."""
    from tests.system.test_locks_playbooks import put_old_lock

    key = "%s/terraform.tfstate" % name
    lock_id = put_old_lock(keyed_client(server, "s3", admin), BUCKET, key, hours=3)
    body = keyed_client(server, "s3", admin).get_object(Bucket=BUCKET, Key=key + ".tflock")["Body"].read().decode()
    keyed_client(server, "dynamodb", admin).put_item(TableName=TABLE, Item={
        "LockID": {"S": "%s/%s" % (BUCKET, key)}, "Info": {"S": body}})
    return lock_id


def _lock_job(server, keys, playbook, extra_vars):
    from tests.system.test_locks_playbooks import custom_stats

    extra_vars = dict(extra_vars, tfstate_aws_endpoint_url=server.url, tfstate_aws_region="us-east-1")
    result = run_playbook(os.path.join(ROOT, "playbooks", playbook), extra_vars, env={
        "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1], "ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    return result, (custom_stats(result) if result.returncode == 0 else None)


def test_locks_and_unlock_run_with_exactly_their_policies_and_name_a_missing_action(enforcing_server, admin):
    lock_id = _old_locks(enforcing_server, admin, "stale")
    report_vars = {"locks_buckets": [BUCKET], "locks_tables": [TABLE]}

    locks = operator_policy("locks", [BUCKET], [TABLE])
    result, stats = _lock_job(enforcing_server, _operator(enforcing_server, admin, "locks", locks), "locks.yml",
                              report_vars)
    assert result.returncode == 0, result.stdout[-4000:]
    found = sorted((lock["store"], lock["id"]) for lock in stats["tfstate_locks"]["locks"])
    assert found == [("dynamodb", lock_id), ("s3", lock_id)], stats
    result, _stats = _lock_job(enforcing_server, _operator(enforcing_server, admin, "locks-no-scan",
                                                           without(locks, "dynamodb:Scan")), "locks.yml", report_vars)
    assert result.returncode != 0 and "dynamodb:Scan" in result.stdout, result.stdout[-4000:]

    state = {"bucket": BUCKET, "key": "stale/terraform.tfstate", "dynamodb_table": TABLE}
    unlock_vars = {"unlock_states": [state], "unlock_stale_after": 3600}
    before = _snapshot(enforcing_server, admin, {})
    unlock = operator_policy("unlock", [BUCKET], [TABLE])
    for missing in ("s3:DeleteObject", "dynamodb:DeleteItem"):
        result, _stats = _lock_job(enforcing_server, _operator(enforcing_server, admin, "unlock-no-" + missing[-10:],
                                                               without(unlock, missing)), "unlock.yml", unlock_vars)
        assert result.returncode != 0 and missing in result.stdout, (missing, result.stdout[-4000:])
        assert _snapshot(enforcing_server, admin, {}) == before, missing
    result, stats = _lock_job(enforcing_server, _operator(enforcing_server, admin, "unlock", unlock), "unlock.yml",
                              unlock_vars)
    assert result.returncode == 0, result.stdout[-4000:]
    assert sorted(lock["store"] for lock in stats["tfstate_unlock"]["released"]) == ["dynamodb", "s3"], stats
    s3 = keyed_client(enforcing_server, "s3", admin)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="stale/terraform.tfstate.tflock").get("KeyCount") == 0
    assert "Item" not in keyed_client(enforcing_server, "dynamodb", admin).get_item(
        TableName=TABLE, Key={"LockID": {"S": "%s/stale/terraform.tfstate" % BUCKET}})


def _trapped_root(tmp_path, server, admin, terraform_bin, name):
    """A root applied with DynamoDB locking, then cut over to use_lockfile and applied again (stale digest),
    with the migration record the migrate role leaves."""
    root = TerraformRoot(tmp_path / name, server.url, binary=terraform_bin, access_key=admin[0], secret_key=admin[1])
    root.write_main()
    key = "%s/terraform.tfstate" % name
    root.write_backend(bucket=BUCKET, key=key, dynamodb_table=TABLE)
    root.init()
    root.apply(serial="1")
    root.write_backend(bucket=BUCKET, key=key, use_lockfile=True)
    root.init(reconfigure=True)
    root.apply(serial="2")
    keyed_client(server, "s3", admin).put_object(Bucket=BUCKET, Key=key + ".tfstate-s3-backend.json", Body=json.dumps({
        "mode": "lockfile", "dynamodb_table": TABLE, "cutover_time": "2026-01-01T00:00:00Z", "root": name,
        "collection_version": "0.1.0"}).encode())
    return root


def test_rollback_runs_with_exactly_its_policy(enforcing_server, admin, tmp_path, terraform_bin):
    policy = operator_policy("rollback", [BUCKET], [TABLE])

    denied_root = _trapped_root(tmp_path / "denied", enforcing_server, admin, terraform_bin, "rb-denied")
    before = _snapshot(enforcing_server, admin, {"rb-denied": denied_root})
    keys = _operator(enforcing_server, admin, "rollback-no-putitem", without(policy, "dynamodb:PutItem"))
    result, rows = _run(tmp_path / "denied", enforcing_server, terraform_bin, keys, {"rb-denied": denied_root},
                        playbook="rollback.yml")
    assert result.returncode == 2, result.stdout[-4000:]
    row = rows["rb-denied"]
    # Proven in the rollback's preflight (the migrate phases with target dynamodb): it stops before any lock, digest,
    # file or record changes, naming the action.
    assert row["status"] == "stopped" and row["phase"] == "preflight", row
    assert "dynamodb:PutItem" in row["reason"], row["reason"]
    assert _snapshot(enforcing_server, admin, {"rb-denied": denied_root}) == before

    root = _trapped_root(tmp_path / "allowed", enforcing_server, admin, terraform_bin, "rb-app")
    keys = _operator(enforcing_server, admin, "rollback", policy)
    result, rows = _run(tmp_path / "allowed", enforcing_server, terraform_bin, keys, {"rb-app": root},
                        playbook="rollback.yml")
    assert result.returncode == 0, result.stdout[-6000:]
    assert rows["rb-app"]["status"] == "rolled_back", rows
    # terraform (as the administrator) plans with DynamoDB locking again: the digest was repaired.
    assert "dynamodb_table" in open(os.path.join(root.path, "backend.tf")).read()
    root.plan()


def test_retire_runs_with_exactly_its_policy_and_stops_first_without_create_backup(
        enforcing_server, admin, tmp_path, terraform_bin):
    from tests.system.test_retire import a_cutover_moment, write_migration_record

    s3 = keyed_client(enforcing_server, "s3", admin)
    dynamodb = keyed_client(enforcing_server, "dynamodb", admin)
    table = "retire-proof-locks"
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    root = TerraformRoot(tmp_path / "rt-net", enforcing_server.url, binary=terraform_bin, access_key=admin[0],
                         secret_key=admin[1])
    root.write_main()
    key = "rt-net/terraform.tfstate"
    root.write_backend(bucket=BUCKET, key=key, dynamodb_table=table)
    root.init()
    root.apply(serial="1")
    cutover = a_cutover_moment()
    root.write_backend(bucket=BUCKET, key=key, use_lockfile=True)
    root.init(reconfigure=True)
    root.apply(serial="2")
    write_migration_record(s3, BUCKET, key, "lockfile", table, cutover)
    policy = operator_policy("retire", [BUCKET], [table])
    retire_vars = {"retire_table": table, "retire_grace_period_days": 0, "retire_fail_on_refused": True}

    keys = _operator(enforcing_server, admin, "retire-no-backup", without(policy, "dynamodb:CreateBackup"))
    result, rows = _run(tmp_path / "denied", enforcing_server, terraform_bin, keys, {"rt-net": root},
                        playbook="retire.yml", **retire_vars)
    assert result.returncode != 0 and "dynamodb:CreateBackup" in result.stdout, result.stdout[-4000:]
    assert table in dynamodb.list_tables()["TableNames"]
    assert dynamodb.list_backups(TableName=table)["BackupSummaries"] == []

    keys = _operator(enforcing_server, admin, "retire", policy)
    result, rows = _run(tmp_path / "allowed", enforcing_server, terraform_bin, keys, {"rt-net": root},
                        playbook="retire.yml", **retire_vars)
    assert result.returncode == 0, result.stdout[-6000:]
    assert len(rows) == 1, rows
    row = list(rows.values())[0]
    assert row["status"] == "retired", row
    assert table not in dynamodb.list_tables()["TableNames"]
    assert len(dynamodb.list_backups(TableName=table)["BackupSummaries"]) == 1


def test_bootstrap_runs_with_exactly_its_policy_and_fails_naming_a_missing_action(
        enforcing_server, admin, tmp_path, terraform_bin):
    """The bootstrap role (state_bucket, then terraform init and plan through the new backend) as a user holding
    exactly the bootstrap policy of the bucket; then, for another bucket, the policy minus one action. Without the
    TLS-only bucket policy: this server speaks HTTP (test_bootstrap_role proves the policy over TLS)."""
    from tests.testbed.terraform import MAIN_TF

    def bootstrap(keys, bucket, name):
        root = tmp_path / name
        root.mkdir()
        (root / "main.tf").write_text(MAIN_TF)
        extra = {"tfstate_aws_endpoint_url": enforcing_server.url, "bootstrap_bucket_name": bucket,
                 "bootstrap_roots": [{"path": str(root)}], "bootstrap_policy_file": str(tmp_path / ("%s.json" % name)),
                 "bootstrap_verify": True, "bootstrap_terraform_bin": terraform_bin,
                 # This server speaks HTTP, which a TLS-only bucket policy refuses (test_bootstrap_role has TLS).
                 "bootstrap_require_tls": False}
        env = {"AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1], "AWS_REGION": "us-east-1"}
        return run_playbook(os.path.join(ROOT, "playbooks", "bootstrap.yml"), extra, env=env), root

    s3 = keyed_client(enforcing_server, "s3", admin)
    keys = _operator(enforcing_server, admin, "bootstrap", operator_policy("bootstrap", ["tfstate-bootstrap-proof"]))
    done, root = bootstrap(keys, "tfstate-bootstrap-proof", "allowed")
    assert done.returncode == 0, done.stdout[-4000:]
    # Read back as the administrator: the bucket is hardened, terraform initialised through it.
    assert s3.get_bucket_versioning(Bucket="tfstate-bootstrap-proof")["Status"] == "Enabled"
    assert s3.get_bucket_encryption(Bucket="tfstate-bootstrap-proof")["ServerSideEncryptionConfiguration"]["Rules"]
    assert all(s3.get_public_access_block(Bucket="tfstate-bootstrap-proof")["PublicAccessBlockConfiguration"].values())
    assert os.path.isdir(os.path.join(str(root), ".terraform")) and "use_lockfile" in open(
        os.path.join(str(root), "backend.tf")).read()

    # moto authorises PutBucketEncryption and PutPublicAccessBlock as s3:CreateBucket; versioning it checks by name.
    policy = without(operator_policy("bootstrap", ["tfstate-bootstrap-denied"]), "s3:PutBucketVersioning")
    denied_keys = _operator(enforcing_server, admin, "bootstrap-no-versioning", policy)
    refused, _root = bootstrap(denied_keys, "tfstate-bootstrap-denied", "denied")
    assert refused.returncode != 0
    assert "s3:PutBucketVersioning" in refused.stdout, refused.stdout[-4000:]
