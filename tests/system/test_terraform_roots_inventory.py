"""The terraform_roots inventory plugin, through ansible-inventory and ansible on a tree of sample repositories."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import resolve_root
from tests.testbed.collection import CORPUS_DIR, ansible_env

BIN = os.path.dirname(sys.executable)

BLOCK = 'terraform {\n  backend "s3" {\n    bucket         = "%s"\n    key            = "%s"\n' \
        '    region         = "eu-west-1"\n    dynamodb_table = "%s"\n  }\n}\n'
JSON = '{"terraform": [{"backend": [{"s3": [{"bucket": "acme-net", "key": "net.tfstate", "region": "eu-west-1",' \
       ' "use_lockfile": true}]}]}]}\n'
TERRAGRUNT = 'remote_state {\n  backend = "s3"\n  config = {\n    bucket         = "acme-live"\n' \
             '    key            = "${path_relative_to_include()}/terraform.tfstate"\n    region         = "us-east-1"\n' \
             '    dynamodb_table = "acme-locks"\n    use_lockfile   = true\n  }\n}\n'


def write(root, rel, text):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


@pytest.fixture()
def repos(tmp_path):
    """Sample repositories, with things that must not become hosts."""
    top = tmp_path / "repos"
    write(top, "platform/app/backend.tf", BLOCK % ("acme-state", "app.tfstate", "acme-locks"))
    write(top, "platform/app/main.tf", 'terraform {\n  required_version = "= 1.10.1"\n}\n')
    write(top, "platform/net/backend.tf.json", JSON)
    write(top, "live/prod/terragrunt.hcl", TERRAGRUNT)
    write(top, "svc/backend.tf", 'terraform {\n  backend "s3" {\n    key = "svc.tfstate"\n  }\n}\n')
    write(top, "svc/envs/dev.tfbackend", 'bucket = "acme-dev"\nregion = "eu-west-1"\ndynamodb_table = "dev-locks"\n')
    write(top, "svc/envs/prod.tfbackend", 'bucket = "acme-prod"\nregion = "eu-west-1"\nuse_lockfile = true\n')
    write(top, "single/backend.tf", 'terraform {\n  backend "s3" {}\n}\n')
    write(top, "single/only.tfbackend", 'bucket = "acme-single"\nkey = "single.tfstate"\ndynamodb_table = "t"\n')
    # never hosts: a cached module, an excluded example, a remote-state reader, a broken file
    write(top, "platform/app/.terraform/modules/vpc/backend.tf", BLOCK % ("cached", "x", "y"))
    write(top, "platform/examples/demo/backend.tf", BLOCK % ("demo", "x", "y"))
    write(top, "reader/data.tf", 'data "terraform_remote_state" "app" {\n  backend = "s3"\n  config = {\n'
                                 '    bucket = "acme-state"\n    dynamodb_table = "acme-locks"\n  }\n}\n')
    write(top, "broken/backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "open\n  }\n}\n')
    return tmp_path


def inventory(repos, extra=""):
    path = os.path.join(str(repos), "roots.terraform_roots.yml")
    with open(path, "w") as handle:
        handle.write("plugin: tfstate.s3_backend.terraform_roots\npaths:\n  - repos\nexclude:\n  - '*/examples/*'\n"
                     + extra)
    return path


def run(tool, *args):
    return subprocess.run([os.path.join(BIN, tool)] + list(args), env=ansible_env(), capture_output=True,
                          text=True, timeout=300, check=False)


def plain(value):
    """ansible-inventory marks strings from inventory plugins as unsafe (never templated): unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def listing(source):
    proc = run("ansible-inventory", "-i", source, "--list")
    assert proc.returncode == 0, proc.stderr
    return plain(json.loads(proc.stdout)), proc.stderr


def test_graph_lists_the_expected_hosts_and_groups(repos):
    proc = run("ansible-inventory", "-i", inventory(repos), "--graph")
    assert proc.returncode == 0, proc.stderr
    graph = proc.stdout
    groups = {}
    current = None
    for line in graph.splitlines():
        name = line.strip(" |-")
        if name.startswith("@"):
            current = name[1:].rstrip(":")
            groups[current] = []
        elif name:
            groups[current].append(name)
    assert groups["lock_mode_dynamodb"] == ["platform/app", "single", "svc/envs/dev.tfbackend"]
    assert groups["lock_mode_dual"] == ["live/prod"]
    assert groups["lock_mode_lockfile"] == ["platform/net", "svc/envs/prod.tfbackend"]
    assert groups["bucket_acme_state"] == ["platform/app"]
    assert groups["bucket_acme_dev"] == ["svc/envs/dev.tfbackend"]
    assert groups["dynamodb_table_acme_locks"] == ["live/prod", "platform/app"]
    assert groups["region_eu_west_1"] == ["platform/app", "platform/net", "svc/envs/dev.tfbackend",
                                          "svc/envs/prod.tfbackend"]
    assert groups["region_us_east_1"] == ["live/prod"]
    hosts = set(h for members in groups.values() for h in members)
    assert hosts == {"platform/app", "platform/net", "live/prod", "svc/envs/dev.tfbackend",
                     "svc/envs/prod.tfbackend", "single"}
    assert "cannot parse" in proc.stderr and "broken/backend.tf:3" in proc.stderr


def test_host_variables(repos):
    data, _stderr = listing(inventory(repos))
    hostvars = data["_meta"]["hostvars"]
    top = os.path.join(str(repos), "repos")
    dev = hostvars["svc/envs/dev.tfbackend"]
    assert dev["tfstate_root"] == os.path.join(top, "svc")
    assert dev["tfstate_init_args"] == ["-backend-config=envs/dev.tfbackend"]
    assert dev["tfstate_partial_config_file"] == os.path.join(top, "svc/envs/dev.tfbackend")
    assert (dev["tfstate_bucket"], dev["tfstate_key"], dev["tfstate_dynamodb_table"]) == \
        ("acme-dev", "svc.tfstate", "dev-locks")
    assert dev["tfstate_backend"]["form"] == "block" and dev["tfstate_backend"]["line"] == 2
    single = hostvars["single"]
    assert single["tfstate_init_args"] == ["-backend-config=only.tfbackend"]
    assert single["tfstate_lock_mode"] == "dynamodb"
    app = hostvars["platform/app"]
    assert app["tfstate_init_args"] == [] and app["tfstate_backend"]["required_version"] == "= 1.10.1"
    assert app["tfstate_backend"]["admits_use_lockfile"] == {"terraform": True, "opentofu": False}
    assert app["ansible_connection"] == "local"
    live = hostvars["live/prod"]
    assert live["tfstate_key"] is None  # a Terragrunt template is no plain value
    assert live["tfstate_backend"]["settings"]["key"] == "${path_relative_to_include()}/terraform.tfstate"
    # One shape: what the roles' discover step (terraform_root_info, resolve_root) sets, value for value.
    for name in ("platform/app", "svc/envs/dev.tfbackend"):
        host = hostvars[name]
        resolved = resolve_root(host["tfstate_root"], host["tfstate_init_args"])
        assert host["tfstate_backend"] == resolved, name


def test_include_options_and_constructed_groups(repos):
    extra = ("include:\n  - 'platform/*'\nconnection: ''\npython_interpreter: /usr/bin/python3\n"
             "keyed_groups:\n  - key: tfstate_backend.form\n    prefix: form\n")
    data, _stderr = listing(inventory(repos, extra))
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == ["platform/app", "platform/net"]
    assert "ansible_connection" not in hostvars["platform/app"]
    assert hostvars["platform/app"]["ansible_python_interpreter"] == "/usr/bin/python3"
    assert data["form_json"]["hosts"] == ["platform/net"]


def test_hosts_run_locally_with_the_controllers_python(repos):
    proc = run("ansible", "-i", inventory(repos), "platform/app", "-m", "ansible.builtin.setup",
               "-a", "filter=ansible_python")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    facts = json.loads(proc.stdout.split("=>", 1)[1])["ansible_facts"]
    # the venv's, which has boto3 (compared resolved: the venv may be reached through a symlink)
    assert os.path.realpath(os.path.dirname(facts["ansible_python"]["executable"])) == os.path.realpath(BIN)


@pytest.mark.usefixtures("corpus_dir")
def test_corpus_repositories_as_an_inventory(tmp_path):
    """The corpus laid out as its repositories: one host per root that has a backend."""
    with open(os.path.join(CORPUS_DIR, "manifest.json")) as handle:
        entries = json.load(handle)
    for entry in entries:
        with open(os.path.join(CORPUS_DIR, "files", entry["file"]), "rb") as source:
            data = source.read()
        path = tmp_path / "repos" / entry["repo"] / entry["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    source = tmp_path / "corpus.yml"
    source.write_text("plugin: tfstate.s3_backend.terraform_roots\npaths: [repos]\n")
    data, stderr = listing(str(source))
    hostvars = data["_meta"]["hostvars"]
    assert "is a second backend in" in stderr  # checkov's fixtures put several backends in one directory
    circleci = hostvars["mattvanstone/aws-terraform-circleci-pipeline"]
    assert circleci["tfstate_init_args"] == ["-backend-config=dev.tfbackend"]
    assert circleci["tfstate_lock_mode"] == "dynamodb"
    assert not [h for h in hostvars if h.startswith("SoftbearStudios/mk48/terraform")]  # remote-state reader only
    modes = dict((group[len("lock_mode_"):], len(data[group]["hosts"])) for group in data
                 if group.startswith("lock_mode_"))
    assert sum(modes.values()) == len(hostvars)
    assert modes["dynamodb"] > modes["lockfile"] > 0


def _limit_memory():
    import resource
    limit = 1536 * 1024 * 1024  # address space: a read of /dev/zero to the end would pass it within seconds
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_hostile_tree_never_drops_the_good_roots(repos):
    """Dangling and looping .tf links, a link to /dev/zero, a FIFO, a device link and an oversized file: each is
    skipped with a warning naming it, and every good root is still listed, quickly and in bounded memory."""
    top = os.path.join(str(repos), "repos")
    hostile = os.path.join(top, "hostile")
    os.makedirs(hostile)
    write(top, "hostile/backend.tf", BLOCK % ("acme-hostile", "hostile.tfstate", "acme-locks"))
    os.symlink(os.path.join(hostile, "gone.tf"), os.path.join(hostile, "dangling.tf"))
    os.symlink("loop.tf", os.path.join(hostile, "loop.tf"))
    os.symlink("/dev/zero", os.path.join(hostile, "zero.tf"))
    os.symlink("/dev/null", os.path.join(hostile, "null.tf"))
    os.mkfifo(os.path.join(hostile, "fifo.tf"))
    with open(os.path.join(hostile, "huge.tf"), "wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    # A link to a regular file is read as usual.
    os.symlink(os.path.join(top, "platform", "app", "main.tf"), os.path.join(hostile, "versions.tf"))

    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", inventory(repos), "--list"],
                          env=ansible_env(), capture_output=True, text=True, timeout=60, check=False,
                          preexec_fn=_limit_memory)
    assert proc.returncode == 0, proc.stderr
    hosts = set(plain(json.loads(proc.stdout))["_meta"]["hostvars"])
    assert hosts == {"platform/app", "platform/net", "live/prod", "svc/envs/dev.tfbackend",
                     "svc/envs/prod.tfbackend", "single", "hostile"}
    # Ansible wraps its warnings (2.17 breaks long paths at hyphens): compare without white space.
    warnings = "".join(proc.stderr.split())
    for name, why in (("dangling.tf", "dangling symbolic link"), ("loop.tf", "symbolic link loop"),
                      ("zero.tf", "a character device, not a regular file"),
                      ("null.tf", "a character device, not a regular file"), ("fifo.tf", "a FIFO, not a regular file"),
                      ("huge.tf", "67108864 bytes, more than the")):
        assert "".join(("skipped %s: %s" % (os.path.join(hostile, name), why)).split()) in warnings, (name, proc.stderr)
    assert "versions.tf" not in warnings


def test_a_terragrunt_root_is_its_terragrunt_file_not_the_backend_terragrunt_generated_beside_it(tmp_path):
    top = tmp_path / "repos"
    write(top, "live/app/terragrunt.hcl", TERRAGRUNT.replace("${path_relative_to_include()}", "app"))
    # What terragrunt writes on init with remote_state's generate (and the stub it completes otherwise).
    write(top, "live/app/backend.tf", BLOCK % ("acme-live", "app/terraform.tfstate", "acme-locks"))
    write(top, "live/stub/backend.tf", 'terraform {\n  backend "s3" {}\n}\n')
    write(top, "live/stub/terragrunt.hcl", TERRAGRUNT.replace("${path_relative_to_include()}", "stub"))
    data, stderr = listing(inventory(tmp_path))
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == ["live/app", "live/stub"]
    for name in ("app", "stub"):
        backend = hostvars["live/" + name]["tfstate_backend"]
        assert backend["form"] == "terragrunt" and backend["file"].endswith("/live/%s/terragrunt.hcl" % name)
        assert hostvars["live/" + name]["tfstate_key"] == "%s/terraform.tfstate" % name
    assert "second backend" not in stderr
