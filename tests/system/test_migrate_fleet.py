"""The migrate playbook over a fleet of real Terraform roots in two buckets and two accounts (profiles).

Every healthy root is created and applied with DynamoDB locking by real terraform first; one root
has its state locked, one a malformed backend file. Effects are checked through the S3 and
DynamoDB APIs and through terraform runs, never through the role's own report alone.
"""

import json
import os

import boto3
import pytest
import yaml
from botocore.config import Config

from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.terraform import TerraformRoot, kill_process_group, wait_for

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
TABLE = "terraform-locks"
PROFILES = {"account-a": ("AKIAACCOUNTA00000000", "secret-a"), "account-b": ("AKIAACCOUNTB00000000", "secret-b")}


class Fleet:
    """Six roots over two buckets; helpers to look at them from outside the collection."""

    def __init__(self, base, server, terraform_bin):
        self.base = base
        self.server = server
        self.terraform_bin = terraform_bin
        self.buckets = {"account-a": "fleet-a-%s" % os.path.basename(base)[-8:].lower().replace("_", "-"),
                        "account-b": "fleet-b-%s" % os.path.basename(base)[-8:].lower().replace("_", "-")}
        self.credentials = os.path.join(base, "credentials")
        with open(self.credentials, "w") as handle:
            for profile, (key, secret) in PROFILES.items():
                handle.write("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (profile, key, secret))
        self.roots = {}

    def client(self, service, profile="account-a"):
        key, secret = PROFILES[profile]
        return boto3.client(service, endpoint_url=self.server.url, region_name="us-east-1", aws_access_key_id=key,
                            aws_secret_access_key=secret, config=Config(s3={"addressing_style": "path"}))

    def root(self, name, profile):
        key, secret = PROFILES[profile]
        root = TerraformRoot(os.path.join(self.base, "roots", name), self.server.url, binary=self.terraform_bin,
                             access_key=key, secret_key=secret)
        root.write_main()
        self.roots[name] = (root, profile)
        return root

    def state_versions(self):
        counts = {}
        for profile, bucket in self.buckets.items():
            s3 = self.client("s3", profile)
            for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
                if version["Key"].endswith(".tfstate"):
                    counts[(bucket, version["Key"])] = counts.get((bucket, version["Key"]), 0) + 1
        return counts

    def table_items(self):
        items = self.client("dynamodb").scan(TableName=TABLE)["Items"]
        return sorted(json.dumps(item, sort_keys=True) for item in items)

    def inventory(self, hosts):
        groups = {}
        for name, extra in hosts.items():
            _root, profile = self.roots[name]
            group = groups.setdefault(profile.replace("-", "_"), {"hosts": {}, "vars": {"tfstate_aws_profile": profile}})
            group["hosts"][name] = dict({"tfstate_root": self.roots[name][0].path}, **extra)
        path = os.path.join(self.base, "inventory.yml")
        with open(path, "w") as handle:
            yaml.safe_dump({"all": {"children": groups, "vars": {
                "tfstate_aws_endpoint_url": self.server.url,
                "tfstate_terraform_bin": self.terraform_bin,
                "migrate_report_dir": os.path.join(self.base, "reports"),
                "migrate_enable_versioning": True,
                "migrate_target": "lockfile",
            }}}, handle)
        return path

    def env(self):
        return {"AWS_SHARED_CREDENTIALS_FILE": self.credentials, "AWS_CONFIG_FILE": os.devnull}


@pytest.fixture()
def fleet(tmp_path, moto_server, terraform_bin):
    fleet = Fleet(str(tmp_path), moto_server, terraform_bin)
    for profile, bucket in fleet.buckets.items():
        s3 = fleet.client("s3", profile)
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    dynamodb = fleet.client("dynamodb")
    if TABLE not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    bucket_a, bucket_b = fleet.buckets["account-a"], fleet.buckets["account-b"]

    plain = fleet.root("plain", "account-a")
    plain.write_backend(bucket=bucket_a, key="plain/terraform.tfstate", dynamodb_table=TABLE)

    partial = fleet.root("partial", "account-a")
    partial.write("backend.tf", '# settings in prod.tfbackend\nterraform {\n  backend "s3" {}\n}\n')
    partial.write("prod.tfbackend", 'bucket         = "%s"\nkey            = "partial/terraform.tfstate"\n'
                                    'region         = "us-east-1"\ndynamodb_table = "%s" # locks\n' % (bucket_a, TABLE))

    workspaces = fleet.root("workspaces", "account-b")
    workspaces.write_backend(bucket=bucket_b, key="ws/terraform.tfstate", dynamodb_table=TABLE)

    json_form = fleet.root("json", "account-b")
    json_form.write("backend.tf.json", json.dumps({"terraform": {"backend": {"s3": {
        "bucket": bucket_b, "key": "json/terraform.tfstate", "region": "us-east-1", "dynamodb_table": TABLE}}}},
        indent=2) + "\n")

    locked = fleet.root("locked", "account-b")
    locked.write_backend(bucket=bucket_b, key="locked/terraform.tfstate", dynamodb_table=TABLE)

    malformed = fleet.root("malformed", "account-a")
    malformed.write("backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "%s"\n    key = "bad/terraform.tfstate\n'
                                  '    dynamodb_table = "%s"\n  }\n' % (bucket_a, TABLE))

    for root in (plain, workspaces, json_form, locked):
        root.init()
        root.apply(serial="1")
    partial.init("-backend-config=prod.tfbackend")
    partial.apply(serial="1")
    workspaces.run("workspace", "new", "staging")
    workspaces.apply(serial="staging-1")
    workspaces.run("workspace", "select", "default")

    # A killed apply leaves its DynamoDB lock item behind: that root must stop.
    slow = locked.start_apply(sleep_seconds=60, serial="2")
    # Match this fleet's bucket: the table is shared with earlier tests on the same moto server, and
    # another fleet's leftover lock item must not count as this one's.
    lock_id = "%s/locked/terraform.tfstate" % bucket_b
    wait_for(lambda: any(lock_id in item and '"Info"' in item for item in fleet.table_items()),
             timeout=60, what="the locked root's DynamoDB lock item")
    kill_process_group(slow)
    return fleet


HOSTS = {
    "plain": {},
    "partial": {"tfstate_init_args": ["-backend-config=prod.tfbackend"]},
    "workspaces": {},
    "json": {},
    "locked": {},
    "malformed": {},
}


def _read_all(fleet):
    contents = {}
    for name, (root, _profile) in fleet.roots.items():
        for entry in sorted(os.listdir(root.path)):
            full = os.path.join(root.path, entry)
            if os.path.isfile(full) and not entry.startswith(".") and not entry.endswith(".backup"):
                with open(full, "rb") as handle:
                    contents[(name, entry)] = handle.read()
    return contents


def test_migrate_fleet_to_lockfile(fleet):
    inventory = fleet.inventory(HOSTS)
    versions_before = fleet.state_versions()
    files_before = _read_all(fleet)

    checked = run_playbook(PLAYBOOK, inventory=inventory, check=True, diff=True, env=fleet.env())
    assert "use_lockfile" in checked.stdout, checked.stdout[-3000:]
    assert _read_all(fleet) == files_before, "check mode changed a file"

    result = run_playbook(PLAYBOOK, inventory=inventory, env=fleet.env())
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the two problem roots must fail the run"

    report_path = os.path.join(fleet.base, "reports", "migrate-report.json")
    assert os.path.exists(report_path), output[-6000:]
    report = json.load(open(report_path))
    by_host = dict((entry["host"], entry) for entry in report["results"])
    healthy = ["plain", "partial", "workspaces", "json"]
    assert sorted(by_host) == sorted(HOSTS), output[-3000:]
    for name in healthy:
        assert by_host[name]["status"] == "migrated", (name, by_host[name], output[-4000:])
    assert by_host["locked"]["status"] == "stopped"
    assert "a lock is held on" in by_host["locked"]["reason"]
    assert by_host["malformed"]["status"] == "stopped"
    assert "malformed/backend.tf" in by_host["malformed"]["reason"]

    # The problem roots are untouched.
    files_after = _read_all(fleet)
    for key, content in files_before.items():
        if key[0] in ("locked", "malformed"):
            assert files_after[key] == content, key

    # Healthy roots: lockfile only, and only the lock lines changed.
    plain_tf = open(os.path.join(fleet.roots["plain"][0].path, "backend.tf")).read()
    assert "use_lockfile = true" in plain_tf and "dynamodb_table" not in plain_tf
    partial_config = open(os.path.join(fleet.roots["partial"][0].path, "prod.tfbackend")).read()
    assert "use_lockfile" in partial_config and "dynamodb_table" not in partial_config
    assert files_after[("partial", "backend.tf")] == files_before[("partial", "backend.tf")]

    # No state object version was written by the collection.
    assert fleet.state_versions() == versions_before

    # Plans work; DynamoDB is no longer touched by any healthy root.
    items_after_migration = fleet.table_items()
    assert not any("-md5" in item and "plain/terraform.tfstate" in item for item in items_after_migration)
    for name in healthy:
        root, _profile = fleet.roots[name]
        root.plan()
        root.apply(serial="after-migration")
    assert fleet.table_items() == items_after_migration

    # A second run changes nothing for the migrated roots, and --limit still writes the report.
    os.remove(report_path)
    again = run_playbook(PLAYBOOK, inventory=inventory, env=fleet.env(), args=["--limit", ",".join(healthy)])
    assert again.returncode == 0, again.stdout[-4000:]
    limited = json.load(open(report_path))["results"]
    assert sorted(entry["host"] for entry in limited) == sorted(healthy), limited
    assert all(entry["status"] == "unchanged" for entry in limited), limited
    for name in healthy:
        assert "%s" % name in again.stdout
    recap = [line for line in again.stdout.splitlines() if line.split(":")[0].strip() in healthy]
    assert recap and all("changed=0" in line for line in recap), recap

    # A concurrent apply is refused through the .tflock object.
    plain, profile = fleet.roots["plain"]
    s3 = fleet.client("s3", profile)
    slow = plain.start_apply(sleep_seconds=30, serial="concurrent")
    try:
        wait_for(lambda: "Contents" in s3.list_objects_v2(Bucket=fleet.buckets[profile],
                                                          Prefix="plain/terraform.tfstate.tflock"),
                 timeout=60, what="the .tflock of the running apply")
        second = plain.apply(serial="second", check=False)
        assert second.returncode != 0 and "Error acquiring the state lock" in second.stderr
        assert "PutObject" in second.stderr
    finally:
        kill_process_group(slow)


def _git(*args, cwd=None):
    import subprocess
    result = subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True, text=True, check=False,
                            env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
                                     GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid"))
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout.strip()


def test_migrate_fleet_of_remote_repositories(fleet):
    """The fleet's roots live in (bare) remote repositories: each healthy one gets a pushed branch."""
    import shutil

    repos = os.path.join(fleet.base, "repos")
    hosts = {}
    default_tips = {}
    for name, extra in HOSTS.items():
        root, _profile = fleet.roots[name]
        bare = os.path.join(repos, name + ".git")
        seed = os.path.join(repos, name + "-seed")
        _git("init", "--bare", "--initial-branch=main", bare)
        _git("clone", bare, seed)
        os.makedirs(os.path.join(seed, "infra"))
        for entry in os.listdir(root.path):
            full = os.path.join(root.path, entry)
            if os.path.isfile(full) and not entry.startswith("."):
                shutil.copy(full, os.path.join(seed, "infra", entry))
        with open(os.path.join(seed, "README.md"), "w") as handle:
            handle.write("team repository\n")
        _git("add", "-A", cwd=seed)
        _git("commit", "-m", "seed", cwd=seed)
        _git("push", "origin", "HEAD:main", cwd=seed)
        default_tips[name] = _git("rev-parse", "main", cwd=bare)
        hosts[name] = dict(extra, tfstate_repo_url=bare, tfstate_repo_subdir="infra")

    inventory = fleet.inventory(dict((name, {}) for name in HOSTS))
    with open(inventory) as handle:
        data = yaml.safe_load(handle)
    for group in data["all"]["children"].values():
        for name in group["hosts"]:
            group["hosts"][name] = hosts[name]
    data["all"]["vars"]["tfstate_workdir"] = os.path.join(fleet.base, "work")
    with open(inventory, "w") as handle:
        yaml.safe_dump(data, handle)

    result = run_playbook(PLAYBOOK, inventory=inventory, env=fleet.env())
    report = json.load(open(os.path.join(fleet.base, "reports", "migrate-report.json")))
    by_host = dict((entry["host"], entry) for entry in report["results"])
    healthy = ["plain", "partial", "workspaces", "json"]
    for name in healthy:
        assert by_host[name]["status"] == "migrated", (name, by_host[name], result.stdout[-4000:])
        bare = os.path.join(repos, name + ".git")
        branch = by_host[name]["branch"]
        assert branch, by_host[name]
        changed = _git("diff", "--name-only", "main", branch, cwd=bare).splitlines()
        assert changed == [os.path.relpath(path, os.path.join(fleet.base, "work", name))
                           for path in by_host[name]["files_changed"]], (name, changed)
        assert all(path.startswith("infra/") for path in changed)
        assert _git("rev-parse", "main", cwd=bare) == default_tips[name]
    assert by_host["locked"]["status"] == "stopped", (by_host["locked"], result.stdout[-4000:])
    assert by_host["malformed"]["status"] == "stopped", (by_host["malformed"], result.stdout[-4000:])
    for name in ("locked", "malformed"):
        bare = os.path.join(repos, name + ".git")
        assert _git("branch", "--list", cwd=bare) == "* main", (name, by_host[name], result.stdout[-6000:])
        assert _git("rev-parse", "main", cwd=bare) == default_tips[name]
