"""Fleets beyond one controller (issue 11): job slices add up through the ledger, auto moves one stage a run.

Real terraform roots (provider-less) against the moto server. What the collection did is checked
through the S3 and DynamoDB APIs, the backend files and terraform, never through its report alone.
"""

import concurrent.futures
import datetime
import json
import os
import subprocess
import sys
import uuid

import boto3
import yaml
from botocore.config import Config

from tests.testbed.collection import ROOT, ansible_env, run_playbook
from tests.testbed.moto_server import MotoServer
from tests.testbed.terraform import TerraformRoot

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store

MIGRATE = os.path.join(ROOT, "playbooks", "migrate.yml")
RETIRE = os.path.join(ROOT, "playbooks", "retire.yml")
FLEET = os.path.join(ROOT, "playbooks", "fleet.yml")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class Fleet:
    """Roots over buckets and tables, all with a tag of their own on the shared moto server."""

    def __init__(self, base, server, terraform_bin, layout):
        self.base = str(base)
        self.server = server
        self.terraform_bin = terraform_bin
        self.tag = uuid.uuid4().hex[:8]
        self.roots = {}
        self.layout = layout  # {host: (bucket name, table name)}
        self.s3 = self.client("s3")
        self.dynamodb = self.client("dynamodb")
        for bucket in sorted(set(self.bucket(name) for name, _table in layout.values())):
            self.s3.create_bucket(Bucket=bucket)
            self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        for table in sorted(set(self.table(name) for _bucket, name in layout.values())):
            self.dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                       AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                                       KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
        for host, (bucket, table) in sorted(layout.items()):
            root = TerraformRoot(os.path.join(self.base, "roots", host), server.url, binary=terraform_bin)
            root.write_main()
            root.write_backend(bucket=self.bucket(bucket), key="%s/terraform.tfstate" % host,
                               dynamodb_table=self.table(table))
            self.roots[host] = root
        # terraform init and apply with DynamoDB locking, three roots at a time.
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda root: (root.init(), root.apply(serial="1")), self.roots.values()))

    def bucket(self, name):
        return "%s-%s" % (name, self.tag)

    def table(self, name):
        return "%s-%s" % (name, self.tag)

    def client(self, service):
        return boto3.client(service, endpoint_url=self.server.url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(s3={"addressing_style": "path"}))

    def inventory(self, name="inventory.yml", **variables):
        path = os.path.join(self.base, name)
        hosts = dict((host, {"tfstate_root": root.path}) for host, root in self.roots.items())
        with open(path, "w") as handle:
            yaml.safe_dump({"all": {"hosts": hosts, "vars": dict({
                "tfstate_aws_endpoint_url": self.server.url,
                "tfstate_aws_region": "us-east-1",
                "tfstate_terraform_bin": self.terraform_bin,
                "migrate_enable_versioning": True,
                "migrate_backup_dir": "",
                "retire_report_dir": os.path.join(self.base, "retire-reports"),
            }, **variables)}}, handle)
        return path

    def buckets(self):
        return sorted(set(self.bucket(name) for name, _table in self.layout.values()))

    def ledger_stages(self):
        """``{host: stage}`` read straight from S3, not through the collection."""
        stages = {}
        for bucket in self.buckets():
            for item in self.s3.list_objects_v2(Bucket=bucket, Prefix=ledger.LEDGER_PREFIX).get("Contents", []):
                body = json.loads(self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                if body["stage"] in ledger.STAGES:
                    known = stages.get(body["host"])
                    if known is None or body["time"] > known[1]:
                        stages[body["host"]] = (body["stage"], body["time"])
        return dict((host, stage) for host, (stage, _time) in stages.items())

    def backend_text(self, host):
        with open(os.path.join(self.roots[host].path, "backend.tf")) as handle:
            return handle.read()

    def table_exists(self, name):
        return self.table(name) in self.dynamodb.list_tables()["TableNames"]

    def fleet_view(self, report_dir, now=None):
        env = dict(CREDENTIALS, **({"TFSTATE_NOW": now} if now else {}))
        proc = run_playbook(FLEET, {"fleet_buckets": self.buckets(), "tfstate_aws_endpoint_url": self.server.url,
                                    "tfstate_aws_region": "us-east-1", "tfstate_report_dir": report_dir}, env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        with open(os.path.join(report_dir, "fleet-ledger.json")) as handle:
            return json.load(handle)

    def normalised(self, document):
        """A fleet document without run IDs and times, and without this fleet's tag and directory."""
        text = json.dumps(ledger.comparable(document), sort_keys=True)
        return json.loads(text.replace(self.tag, "TAG").replace(self.base, "BASE"))


def start_playbook(playbook, inventory, extra_vars, env, limit=None):
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-i", inventory,
           "-e", json.dumps(extra_vars), "-f", "3"]
    if limit:
        cmd += ["--limit", limit]
    return subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


# Nine roots over two tables and two buckets; AWX slices round-robin: 1 4 7 / 2 5 8 / 3 6 9.
LAYOUT = dict(("r%d" % number, ("bkt-x" if number % 2 else "bkt-y", "tbl-a" if number <= 5 else "tbl-b"))
              for number in range(1, 10))
SLICES = [["r1", "r4", "r7"], ["r2", "r5", "r8"], ["r3", "r6", "r9"]]


def test_three_slices_add_up_to_the_unsliced_fleet_and_retire_in_a_slice_sees_the_others(
        tmp_path, moto_server, terraform_bin):
    sliced = Fleet(tmp_path / "sliced", moto_server, terraform_bin, LAYOUT)
    whole = Fleet(tmp_path / "whole", moto_server, terraform_bin, LAYOUT)
    settings = {"migrate_verify": False}

    # Three slices in parallel processes, each with its own report directory (as AWX job slices).
    inventory = sliced.inventory()
    running = [start_playbook(MIGRATE, inventory,
                              dict(settings, migrate_report_dir=os.path.join(sliced.base, "slice%d" % number)),
                              CREDENTIALS, limit=",".join(hosts)) for number, hosts in enumerate(SLICES)]
    outputs = [proc.communicate(timeout=600)[0] for proc in running]
    for proc, output in zip(running, outputs):
        assert proc.returncode == 0, output[-4000:]
    unsliced = run_playbook(MIGRATE, dict(settings, migrate_report_dir=os.path.join(whole.base, "reports")),
                            inventory=whole.inventory(), env=CREDENTIALS, args=["-f", "3"])
    assert unsliced.returncode == 0, unsliced.stdout[-4000:]

    # Through S3 and the files: every root of both fleets is dual, and the ledger says so.
    for fleet in (sliced, whole):
        assert fleet.ledger_stages() == dict((host, "dual") for host in LAYOUT)
        for host in LAYOUT:
            text = fleet.backend_text(host)
            assert "use_lockfile" in text and fleet.table(LAYOUT[host][1]) in text

    sliced_view = sliced.fleet_view(os.path.join(sliced.base, "fleet"))
    whole_view = whole.fleet_view(os.path.join(whole.base, "fleet"))
    assert sliced_view["fleet"]["stages"] == {"dual": 9}
    assert sliced.normalised(sliced_view) == whole.normalised(whole_view)
    assert sorted(row["host"] for row in sliced_view["fleet"]["roots"]) == sorted(LAYOUT)

    # Slice 1 goes on to lockfile; its retire run (its hosts only, grace over) must still keep tbl-a,
    # because r2, r3 and r5 in the other slices are in dual with it.
    first = ",".join(SLICES[0])
    moved = run_playbook(MIGRATE, dict(settings, migrate_target="lockfile",
                                       migrate_report_dir=os.path.join(sliced.base, "slice0")),
                         inventory=inventory, env=CREDENTIALS, args=["--limit", first])
    assert moved.returncode == 0, moved.stdout[-4000:]
    assert all("dynamodb_table" not in sliced.backend_text(host) for host in SLICES[0])
    retired = run_playbook(RETIRE, {"retire_table": sliced.table("tbl-a"), "retire_grace_period_days": 0},
                           inventory=inventory, env=CREDENTIALS, args=["--limit", first + ",localhost"])
    assert retired.returncode == 2 and "refused localhost: " in retired.stdout, retired.stdout[-4000:]  # it fails
    with open(os.path.join(sliced.base, "retire-reports", "retire-report.json")) as handle:
        result = json.load(handle)["results"][0]
    assert result["status"] == "refused", result
    assert sliced.table_exists("tbl-a")
    blockers = "\n".join(result["blockers"])
    # This controller can read the other slices' directories the ledger names: their backend files speak.
    for host in ("r2", "r3", "r5"):
        path = sliced.roots[host].path
        wanted = ("root %s (%s), state s3://%s/%s/terraform.tfstate still names the table in its backend (%s:2, "
                  "lock mode dual; known from the ledger)" % (host, path, sliced.bucket(LAYOUT[host][0]), host,
                                                              os.path.join(path, "backend.tf")))
        assert wanted in blockers, blockers
    assert "was not examined" not in blockers and "root r1 " not in blockers and "root r4 " not in blockers, blockers

    # Where the directory is not here (another controller's checkout), the ledger's stage alone names the root.
    os.rename(sliced.roots["r2"].path, sliced.roots["r2"].path + "-elsewhere")
    retired = run_playbook(RETIRE, {"retire_table": sliced.table("tbl-a"), "retire_grace_period_days": 0},
                           inventory=inventory, env=CREDENTIALS, args=["--limit", first + ",localhost"])
    assert retired.returncode == 2 and "refused localhost: " in retired.stdout, retired.stdout[-4000:]  # it fails
    with open(os.path.join(sliced.base, "retire-reports", "retire-report.json")) as handle:
        result = json.load(handle)["results"][0]
    assert result["status"] == "refused" and sliced.table_exists("tbl-a")
    assert "root r2 (%s), state s3://%s/r2/terraform.tfstate is in stage dual with the table since " % (
        sliced.roots["r2"].path, sliced.bucket("bkt-y")) in "\n".join(result["blockers"]), result["blockers"]


def test_auto_moves_each_root_one_stage_a_run_and_holds_a_root_with_an_old_client(tmp_path, moto_server,
                                                                                  terraform_bin):
    layout = {"app": ("bkt", "tbl-a"), "net": ("bkt", "tbl-a"), "legacy": ("bkt", "tbl-b")}
    fleet = Fleet(tmp_path, moto_server, terraform_bin, layout)
    inventory = fleet.inventory(migrate_target="auto", migrate_report_dir=os.path.join(fleet.base, "reports"))
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def run(days):
        env = dict(CREDENTIALS, TFSTATE_NOW=clock.utc_text(start + datetime.timedelta(days=days)))
        proc = run_playbook(MIGRATE, inventory=inventory, env=env)
        assert proc.returncode == 0, proc.stdout[-5000:]
        with open(os.path.join(fleet.base, "reports", "migrate-report.json")) as handle:
            return dict((row["host"], row) for row in json.load(handle)["results"])

    # Run 1: dynamodb -> dual for every root.
    rows = run(0)
    assert dict((host, row["status"]) for host, row in rows.items()) == dict.fromkeys(layout, "migrated")
    assert fleet.ledger_stages() == dict.fromkeys(layout, "dual")
    assert all("use_lockfile" in fleet.backend_text(host) and "dynamodb_table" in fleet.backend_text(host)
               for host in layout)

    # A client of "legacy" that still has only dynamodb_table holds a lock: an item, no .tflock.
    lock_id = "%s/legacy/terraform.tfstate" % fleet.bucket("bkt")
    info = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Info": "", "Who": "old-ci@runner-7",
            "Version": "1.11.4", "Created": clock.utc_text(start), "Path": lock_id}
    fleet.dynamodb.put_item(TableName=fleet.table("tbl-b"),
                            Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(info)}})

    # Run 2, eight days in: app and net go lockfile; legacy stays in dual, its lock named.
    rows = run(8)
    assert rows["app"]["status"] == "migrated" and rows["net"]["status"] == "migrated", rows
    assert rows["legacy"]["status"] == "held"
    assert lock_id in rows["legacy"]["reason"] and "old-ci@runner-7" in rows["legacy"]["reason"]
    assert fleet.ledger_stages() == {"app": "lockfile", "net": "lockfile", "legacy": "dual"}
    for host in ("app", "net"):
        assert "dynamodb_table" not in fleet.backend_text(host)
        fleet.roots[host].init(reconfigure=True)
        fleet.roots[host].plan()
    assert "dynamodb_table" in fleet.backend_text("legacy")

    # Run 3, sixteen days in: nothing moves; the fleet view says tbl-a may go, and the retire job removes it.
    rows = run(16)
    assert rows["app"]["status"] == "done" and rows["legacy"]["status"] == "held"
    now = clock.utc_text(start + datetime.timedelta(days=16))
    view = fleet.fleet_view(os.path.join(fleet.base, "fleet"), now=now)
    assert view["retirable_tables"] == {fleet.table("tbl-a"): view["retirable_tables"][fleet.table("tbl-a")]}
    assert [row["host"] for row in view["fleet"]["held_back"]] == ["legacy"]
    env = dict(CREDENTIALS, TFSTATE_NOW=now)
    for table in view["retirable_tables"]:
        proc = run_playbook(RETIRE, {"retire_table": table}, inventory=inventory, env=env)
        assert proc.returncode == 0, proc.stdout[-4000:]
    assert not fleet.table_exists("tbl-a")
    proc = run_playbook(RETIRE, {"retire_table": fleet.table("tbl-b")}, inventory=inventory, env=env)
    assert proc.returncode == 2, proc.stdout[-4000:]
    with open(os.path.join(fleet.base, "retire-reports", "retire-report.json")) as handle:
        result = json.load(handle)["results"][0]
    assert result["status"] == "refused" and fleet.table_exists("tbl-b")
    assert "legacy" in result["reason"]


def test_the_fleet_summary_reads_the_ledger_and_nothing_else(tmp_path):
    """fleet.yml against a moto server of its own: its request log shows GETs of the ledger only."""
    log = tmp_path / "moto.log"
    server = MotoServer.start(log_path=str(log))
    try:
        s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="state")
        s3.put_object(Bucket="state", Key="app/terraform.tfstate", Body=b"{}")
        start = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
        for stage, host, days in (("dual", "app", 0), ("lockfile", "app", 8), ("dual", "net", 1),
                                  ("held", "net", 9)):
            ledger_store.write_entry(s3, ledger.new_entry(stage, start + datetime.timedelta(days=days), "state",
                                                          "%s/terraform.tfstate" % host, table="locks", host=host,
                                                          account="123456789012", evidence=["lock L"] * (stage == "held"),
                                                          environ={}))
        before = log.read_text().count("\n")
        report_dir = str(tmp_path / "fleet")
        proc = run_playbook(FLEET, {"fleet_buckets": ["state"], "tfstate_aws_endpoint_url": server.url,
                                    "tfstate_aws_region": "us-east-1", "tfstate_report_dir": report_dir},
                            env=dict(CREDENTIALS, TFSTATE_NOW="2026-12-20T00:00:00Z"))
        assert proc.returncode == 0, proc.stdout[-3000:]
        requests = [line.split('"')[1] for line in log.read_text().splitlines()[before:] if '"' in line]
        # It says where it wrote its files.
        assert os.path.join(report_dir, "fleet-ledger.md") in proc.stdout, proc.stdout[-3000:]
        # A bucket that cannot be read is printed; when no bucket can be read, the run fails naming each.
        common = {"tfstate_aws_endpoint_url": server.url, "tfstate_aws_region": "us-east-1",
                  "tfstate_report_dir": str(tmp_path / "fleet-bad")}
        partly = run_playbook(FLEET, dict(common, fleet_buckets=["state", "no-such-state"]), env=CREDENTIALS)
        assert partly.returncode == 0, partly.stdout[-3000:]
        assert "bucket no-such-state does not exist" in partly.stdout
        unread = run_playbook(FLEET, dict(common, fleet_buckets=["no-such-state", "neither-state"]), env=CREDENTIALS)
        assert unread.returncode == 2, unread.stdout[-3000:]
        assert "No ledger of fleet_buckets could be read" in unread.stdout
        assert "bucket no-such-state does not exist" in unread.stdout
        assert "bucket neither-state does not exist" in unread.stdout
    finally:
        server.stop()
    assert requests, "the run made no request"
    for request in requests:
        method, path = request.split()[:2]
        assert method == "GET", requests
        assert path.startswith("/state/" + ledger.LEDGER_PREFIX) or (
            path.startswith("/state?") and "prefix=tfstate-s3-backend-ledger" in path), requests
    with open(os.path.join(report_dir, "fleet-ledger.json")) as handle:
        document = json.load(handle)
    assert document["fleet"]["stages"] == {"dual": 1, "lockfile": 1}
    assert document["fleet"]["counts"] == {"123456789012": {"state": {"locks": {"dual": 1, "lockfile": 1}}}}
    assert [row["host"] for row in document["fleet"]["held_back"]] == ["net"]
    # Every root of the table is not lockfile yet: net keeps it.
    assert document["retirable_tables"] == {} and "root net" in document["kept_tables"]["locks"]
    with open(os.path.join(report_dir, "fleet-ledger.md")) as handle:
        markdown = handle.read()
    assert "| net | s3://state/net/terraform.tfstate | lock L |" in markdown


ROLLBACK = os.path.join(ROOT, "playbooks", "rollback.yml")


def _ledger_entry(fleet, host, stage):
    return json.loads(fleet.s3.get_object(Bucket=fleet.bucket("bkt"), Key=ledger.entry_key(
        "%s/terraform.tfstate" % host, stage))["Body"].read())


def test_a_rollback_stays_rolled_back_until_an_explicit_run_moves_it_on(tmp_path, moto_server, terraform_bin):
    layout = {"app": ("bkt", "tbl")}
    fleet = Fleet(tmp_path, moto_server, terraform_bin, layout)
    reports = os.path.join(fleet.base, "reports")
    # The proofs with terraform are other tests' (each phase's); here the stages and the pin count.
    inventory = fleet.inventory(migrate_target="auto", migrate_report_dir=reports, rollback_report_dir=reports,
                                migrate_verify=False, rollback_verify=False)
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def run(playbook, days, extra=None, limit=None):
        env = dict(CREDENTIALS, TFSTATE_NOW=clock.utc_text(start + datetime.timedelta(days=days)))
        proc = run_playbook(playbook, extra, inventory=inventory, env=env, args=["--limit", limit] if limit else [])
        assert proc.returncode == 0, proc.stdout[-5000:]
        if playbook != MIGRATE:
            return None
        with open(os.path.join(reports, "migrate-report.json")) as handle:
            return dict((row["host"], row) for row in json.load(handle)["results"])

    assert set(row["status"] for row in run(MIGRATE, 0).values()) == {"migrated"}
    # An incident: the operator rolls app back, saying why.
    run(ROLLBACK, 1, {"rollback_reason": "INC-4711: lock errors in the payments pipeline"}, limit="app")
    entry = _ledger_entry(fleet, "app", "dynamodb")
    assert entry["pinned"] is True and entry["reason"] == "INC-4711: lock errors in the payments pipeline", entry
    assert entry["host"] == "app" and entry["region"] == "us-east-1" and entry["account"], entry
    rolled_back = fleet.backend_text("app")
    assert "use_lockfile" not in rolled_back and fleet.table("tbl") in rolled_back

    # The nightly auto run, long after the dual grace: app stays on DynamoDB, named pinned with the rollback.
    rows = run(MIGRATE, 10)
    assert rows["app"]["status"] == "pinned" and "INC-4711" in rows["app"]["reason"], rows["app"]
    assert rows["app"]["pinned"]["reason"] == entry["reason"] and rows["app"]["pinned"]["since"] == entry["time"]
    assert fleet.backend_text("app") == rolled_back
    assert fleet.ledger_stages() == {"app": "dynamodb"}
    view = fleet.fleet_view(os.path.join(fleet.base, "fleet"))
    [pinned] = view["fleet"]["pinned"]
    assert pinned["host"] == "app" and pinned["reason"] == entry["reason"] and pinned["run_id"] == entry["run_id"]

    # An explicit dual run of app moves it on and says it lifted the pin; the next auto run goes on.
    rows = run(MIGRATE, 12, {"migrate_target": "dual"}, limit="app")
    assert rows["app"]["status"] == "migrated" and rows["app"]["lifted_pin"]["reason"] == entry["reason"], rows["app"]
    assert _ledger_entry(fleet, "app", "dual")["lifted_pin"]["since"] == entry["time"]
    assert "use_lockfile" in fleet.backend_text("app")
    rows = run(MIGRATE, 20)
    assert rows["app"]["status"] == "migrated" and fleet.ledger_stages()["app"] == "lockfile", rows["app"]
    assert "dynamodb_table" not in fleet.backend_text("app")


def _ledger_of(fleet, buckets, report_dir):
    proc = run_playbook(FLEET, {"fleet_buckets": buckets, "tfstate_aws_endpoint_url": fleet.server.url,
                                "tfstate_aws_region": "us-east-1", "tfstate_report_dir": report_dir}, env=CREDENTIALS)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(os.path.join(report_dir, "fleet-ledger.json")) as handle:
        return json.load(handle)["fleet"]


def _assert_one_truth(fleet, reports, buckets):
    """migrate-fleet.json says of every root what fleet.yml says of the ledger of ``buckets``, and nothing else."""
    with open(os.path.join(reports, "migrate-fleet.json")) as handle:
        document = json.load(handle)
    view = _ledger_of(fleet, buckets, os.path.join(fleet.base, "fleet"))
    fields = ("stage", "since", "run_id", "job_id", "pinned")
    mine = dict(((row["bucket"], row["key"]), [row[name] for name in fields]) for row in document["results"])
    assert mine == dict(((row["bucket"], row["key"]), [row[name] for name in fields]) for row in view["roots"])
    if not document["problems"]:
        assert document["ledger"]["roots"] == view["roots"]
    return dict((row["host"], row) for row in document["results"]), document["problems"]


def test_the_fleet_view_is_the_ledger_after_a_rollback_a_run_without_credentials_and_another_inventory(
        tmp_path, moto_server, terraform_bin):
    layout = {"app": ("bkt", "tbl"), "net": ("bkt", "tbl"), "ext": ("bkt", "tbl"), "far": ("bkt2", "tbl")}
    fleet = Fleet(tmp_path, moto_server, terraform_bin, layout)
    reports = os.path.join(fleet.base, "reports")
    settings = {"migrate_report_dir": reports, "rollback_report_dir": reports, "migrate_verify": False,
                "rollback_verify": False}

    def inventory(name, hosts):
        path = fleet.inventory(name, **settings)
        with open(path) as handle:
            data = yaml.safe_load(handle)
        data["all"]["hosts"] = dict((host, data["all"]["hosts"][host]) for host in hosts)
        with open(path, "w") as handle:
            yaml.safe_dump(data, handle)
        return path

    ours, theirs = inventory("ours.yml", ["app", "net"]), inventory("theirs.yml", ["ext", "far"])
    ran = run_playbook(MIGRATE, inventory=ours, env=CREDENTIALS)
    assert ran.returncode == 0, ran.stdout[-4000:]
    rows, _problems = _assert_one_truth(fleet, reports, [fleet.bucket("bkt")])
    assert rows["app"]["status"] == "dual" and rows["app"]["last_run"]["status"] == "migrated"

    # A rollback: its own report writes the fleet view, app is pinned there as in the ledger.
    ran = run_playbook(ROLLBACK, {"rollback_reason": "INC-9"}, inventory=ours, env=CREDENTIALS, args=["--limit", "app"])
    assert ran.returncode == 0, ran.stdout[-4000:]
    rows, _problems = _assert_one_truth(fleet, reports, [fleet.bucket("bkt")])
    assert rows["app"]["status"] == "pinned" and rows["app"]["pinned"]["reason"] == "INC-9"
    assert rows["app"]["last_run"]["status"] == "rolled_back"

    # A run without credentials reads nothing: it downgrades nothing, its stops are its last_run.
    blind = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
    blind = dict((name, value) for name, value in blind.items() if not name.startswith("AWS_ACCESS")
                 and not name.startswith("AWS_SECRET") and not name.startswith("AWS_SESSION")
                 and name != "AWS_PROFILE")
    ran = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), MIGRATE, "-i", ours],
                         cwd=ROOT, env=ansible_env(blind), capture_output=True, text=True, timeout=600, check=False)
    assert ran.returncode != 0
    rows, problems = _assert_one_truth(fleet, reports, [fleet.bucket("bkt")])
    assert rows["app"]["status"] == "pinned" and rows["net"]["status"] == "dual", rows
    assert any("ledger of bucket %s could not be read" % fleet.bucket("bkt") in problem for problem in problems)
    assert rows["net"]["last_run"]["status"] == "stopped"

    # Another inventory's run (ext in the same bucket, far in a bucket of its own), same report directory.
    ran = run_playbook(MIGRATE, inventory=theirs, env=CREDENTIALS)
    assert ran.returncode == 0, ran.stdout[-4000:]
    rows, _problems = _assert_one_truth(fleet, reports, [fleet.bucket("bkt"), fleet.bucket("bkt2")])
    assert sorted(rows) == ["app", "ext", "far", "net"] and rows["app"]["status"] == "pinned"
    # Our next run: ext (our bucket) is there, far (not in our buckets) is not.
    ran = run_playbook(MIGRATE, {"migrate_target": "auto"}, inventory=ours, env=CREDENTIALS)
    assert ran.returncode == 0, ran.stdout[-4000:]
    rows, _problems = _assert_one_truth(fleet, reports, [fleet.bucket("bkt")])
    assert sorted(rows) == ["app", "ext", "net"] and rows["app"]["last_run"]["status"] == "pinned"
