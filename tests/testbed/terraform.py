"""Create Terraform roots and run the real ``terraform`` (or ``tofu``) against a moto server.

Only the built-in ``terraform_data`` resource is used, so nothing is downloaded; a
``local-exec`` ``sleep`` makes an apply that holds its lock for a while.
"""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import time

# Operation names Terraform writes in the locks of the commands the test bed runs.
LOCKING_OPERATIONS = {"apply": "OperationTypeApply", "plan": "OperationTypePlan"}


def terraform_binary(name=None):
    """Path of the terraform/tofu binary, or None when it is missing."""
    return shutil.which(name or os.environ.get("TFSTATE_TERRAFORM_BIN", "terraform"))


def terraform_env(endpoint_url, access_key="testing", secret_key="testing", region="us-east-1", workdir=None,
                  ca_bundle=None):
    """Environment for a terraform process talking to moto (no network, no prompts)."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("TF_") or name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(name)
    env.update({
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    })
    if ca_bundle:
        env["AWS_CA_BUNDLE"] = ca_bundle
    if workdir:
        # An empty CLI configuration silences the "Unable to open CLI configuration file" warning.
        cli_config = os.path.join(workdir, ".terraformrc")
        if not os.path.exists(cli_config):
            open(cli_config, "w").close()
        env["TF_CLI_CONFIG_FILE"] = cli_config
    return env


# The probe root every test applies; the Molecule bootstrap scenario copies the same file.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.tf")) as _probe:
    MAIN_TF = _probe.read()


def backend_block(bucket, key, region="us-east-1", dynamodb_table=None, use_lockfile=None,
                  encrypt=True, kms_key_id=None, workspace_key_prefix=None, extra=None):
    """Text of a ``terraform { backend "s3" { ... } }`` block."""
    settings = [("bucket", '"%s"' % bucket), ("key", '"%s"' % key), ("region", '"%s"' % region)]
    if encrypt is not None:
        settings.append(("encrypt", "true" if encrypt else "false"))
    if kms_key_id:
        settings.append(("kms_key_id", '"%s"' % kms_key_id))
    if workspace_key_prefix:
        settings.append(("workspace_key_prefix", '"%s"' % workspace_key_prefix))
    if dynamodb_table:
        settings.append(("dynamodb_table", '"%s"' % dynamodb_table))
    if use_lockfile is not None:
        settings.append(("use_lockfile", "true" if use_lockfile else "false"))
    for name, value in (extra or {}).items():
        settings.append((name, value))
    width = max(len(name) for name, _value in settings)
    lines = ["    %s = %s" % (name.ljust(width), value) for name, value in settings]
    return 'terraform {\n  backend "s3" {\n%s\n  }\n}\n' % "\n".join(lines)


class TerraformRoot:
    """A Terraform root directory and a way to run terraform in it against moto."""

    def __init__(self, path, endpoint_url, binary=None, access_key="testing", secret_key="testing",
                 region="us-east-1", ca_bundle=None):
        self.path = str(path)
        os.makedirs(self.path, exist_ok=True)
        self.binary = binary or terraform_binary() or "terraform"
        self.env = terraform_env(endpoint_url, access_key, secret_key, region, workdir=self.path, ca_bundle=ca_bundle)

    def write(self, name, text):
        with open(os.path.join(self.path, name), "w") as handle:
            handle.write(text)
        return os.path.join(self.path, name)

    def write_main(self):
        return self.write("main.tf", MAIN_TF)

    def write_backend(self, **kwargs):
        return self.write("backend.tf", backend_block(**kwargs))

    def command(self, *args):
        return [self.binary] + list(args)

    def run(self, *args, check=True, timeout=300):
        for attempt in range(3):
            started = datetime.datetime.now(datetime.timezone.utc)
            proc = subprocess.run(
                self.command(*args), cwd=self.path, env=self.env, capture_output=True, text=True,
                timeout=timeout, stdin=subprocess.DEVNULL, check=False,
            )
            own_lock = self_held_lock(args, proc, started)
            if not own_lock or attempt == 2:
                break
            # Under load the AWS SDK in terraform may resend a lock PutItem (or PutObject) that moto
            # had already carried out; terraform then finds its own new lock and gives up, leaving
            # it behind. Only that lock (this command's operation, no Info, created after this
            # process started) is released before trying again; any other lock stands.
            self._release_own_lock(own_lock)
        if check and proc.returncode != 0:
            raise AssertionError(
                "terraform %s failed (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def _release_own_lock(self, lock_id):
        """terraform force-unlock of this command's own leftover lock; with dual locking, a resent PutItem can
        leave the DynamoDB item without the .tflock object, which force-unlock refuses (it reads the object
        first): that item is deleted directly, on condition that it still holds ``lock_id``."""
        proc = self.run("force-unlock", "-force", lock_id, check=False)
        if proc.returncode == 0:
            return
        if "failed to unlock S3" not in proc.stderr:
            raise AssertionError("terraform force-unlock -force %s failed (rc=%s)\nstderr:\n%s"
                                 % (lock_id, proc.returncode, proc.stderr))
        import boto3

        with open(os.path.join(self.path, ".terraform", "terraform.tfstate")) as handle:
            config = json.load(handle)["backend"]["config"]
        dynamodb = boto3.client("dynamodb", endpoint_url=self.env["AWS_ENDPOINT_URL"],
                                region_name=config.get("region") or self.env["AWS_REGION"],
                                aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
                                verify=self.env.get("AWS_CA_BUNDLE", True))
        item_key = "%s/%s" % (config["bucket"], config["key"])
        item = dynamodb.get_item(TableName=config["dynamodb_table"], Key={"LockID": {"S": item_key}}).get("Item")
        if item and json.loads(item.get("Info", {}).get("S", "{}")).get("ID") == lock_id:
            dynamodb.delete_item(TableName=config["dynamodb_table"], Key={"LockID": {"S": item_key}},
                                 ConditionExpression="#info = :info", ExpressionAttributeNames={"#info": "Info"},
                                 ExpressionAttributeValues={":info": item["Info"]})

    def init(self, *extra, reconfigure=False):
        args = ["init", "-no-color", "-backend-config=use_path_style=true"]
        if reconfigure:
            args.append("-reconfigure")
        return self.run(*(args + list(extra)))

    def apply(self, *extra, sleep_seconds=0, serial=None, check=True):
        args = ["apply", "-no-color", "-auto-approve", "-lock-timeout=0s",
                "-var", "sleep_seconds=%s" % sleep_seconds]
        if serial is not None:
            args += ["-var", "serial=%s" % serial]
        return self.run(*(args + list(extra)), check=check)

    def plan(self, *extra, check=True):
        return self.run(*(["plan", "-no-color", "-lock-timeout=0s"] + list(extra)), check=check)

    def start_apply(self, sleep_seconds=20, serial=None, release_file=None):
        """Start a slow apply in its own process group; returns the Popen (stdout/stderr piped).

        It holds the lock ``sleep_seconds``, or with ``release_file`` until that file exists (at most
        ``sleep_seconds``). ``kill_process_group(proc)`` ends it like a killed CI runner: its lock stays behind.
        """
        args = ["apply", "-no-color", "-auto-approve", "-var", "sleep_seconds=%s" % sleep_seconds]
        args += ["-var", "serial=%s" % (serial if serial is not None else time.time())]
        if release_file:
            args += ["-var", "release_file=%s" % release_file]
        return subprocess.Popen(
            self.command(*args), cwd=self.path, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, start_new_session=True,
        )


def kill_process_group(proc):
    """SIGKILL a process started with start_apply and its children (the provisioner's sleep)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=30)


def wait_for(predicate, timeout=60.0, interval=0.2, what="condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def self_held_lock(args, proc, started):
    """The ID of the lock that refused ``proc`` when it is the lock this very command took, else None."""
    operation = LOCKING_OPERATIONS.get(args[0] if args else None)
    if not operation or proc.returncode == 0 or "Error acquiring the state lock" not in proc.stderr:
        return None
    shown = lock_info_shown(proc.stderr)
    created = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? \+0000 UTC$", shown.get("Created", ""))
    if shown.get("Operation") != operation or shown.get("Info") or not shown.get("ID") or not created:
        return None
    moment = datetime.datetime.strptime(created.group(1), "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc, microsecond=int((created.group(2) or "0")[:6].ljust(6, "0")))
    return shown["ID"] if moment >= started else None


def lock_info_shown(output):
    """The fields of the ``Lock Info:`` block Terraform prints when a lock is held, as a dict."""
    fields = {}
    lines = output.splitlines()
    for start, line in enumerate(lines):
        if line.strip() == "Lock Info:":
            for field_line in lines[start + 1:]:
                name, sep, value = field_line.strip().partition(":")
                if not field_line.startswith("  ") or not sep:
                    break
                fields[name] = value.strip()
            break
    return fields
