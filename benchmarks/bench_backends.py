"""Backend discovery and rewrite cost over a generated tree of Terraform code.

Generates (deterministically) a tree of FILES files, of which BACKENDS hold S3 backend
settings in every form the collection reads: ``backend "s3"`` blocks in ``*.tf`` (aligned,
unaligned, commented, CRLF), ``*.tf.json`` (object and array forms), empty blocks with
``*.tfbackend`` partial configurations, Terragrunt ``remote_state`` blocks, Terragrunt
``generate`` heredocs and old Terragrunt ``terraform.tfvars``. Every other file is ordinary
``.tf`` code (resources, variables, outputs, versions.tf with ``required_version``, a few
``terraform_remote_state`` readers, resources named "backend").

Then it measures, each in turn, with a warm page cache:

- baseline "read": reading every file once (the walk plus ``open().read()``);
- baseline "python-hcl2": parsing with python-hcl2 (``json`` for JSON) the files discovery parses,
  grammar already built;
- "discovery": backend_info's logic (walk, cheap text scan, parse the candidates, required_version
  and partial-configuration look-ups);
- "rewrite": backend_hcl's logic in lockfile mode (plan, splice, align, parse again and verify),
  plus writing the changed files;
- "rewrite again": the same on the rewritten tree (nothing to change).

Wall time is the median of ``--repeat`` runs (the rewrite runs once, on a fresh copy); peak memory
is tracemalloc's peak of a separate run. Ratios are against the two baselines.

    .venv/bin/python benchmarks/bench_backends.py [--files 10000] [--backends 2000] [--repeat 3] [--keep DIR]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".ansible", "collections"))

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import discovery as disc  # noqa: E402
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import rewrite  # noqa: E402

# Share of backend-holding files per form (a partial root holds two: the empty block and the .tfbackend).
FORMS = (("block", 0.50), ("json", 0.10), ("partial", 0.15), ("terragrunt", 0.15), ("generate", 0.05),
         ("tfvars", 0.05))

RESOURCE = '''resource "aws_instance" "%(name)s" {
  ami           = var.ami_id
  instance_type = "t3.micro"
  subnet_id     = element(var.subnets, %(index)d)

  tags = {
    Name        = "%(name)s-${var.env}"
    Environment = var.env
    Backend     = "not-a-backend-setting"
  }

  lifecycle {
    ignore_changes = [tags["Updated"]]
  }
}

resource "aws_lb_target_group" "backend" {
  name     = "tg-%(name)s"
  port     = 8080
  protocol = "HTTP"
  vpc_id   = var.vpc_id
  health_check {
    path    = "/health"
    matcher = "200-299"
  }
}

locals {
  names = [for i in range(%(index)d) : format("%(name)s-%%02d", i)]
  merged = merge(var.extra_tags, { owner = "platform" })
}
'''
VARIABLES = '''variable "env" {
  type        = string
  description = "Environment name"
}

variable "subnets" {
  type    = list(string)
  default = []
}

variable "extra_tags" {
  type    = map(string)
  default = {}
}
'''
OUTPUTS = '''output "instance_id" {
  value = aws_instance.%(name)s.id
}

output "names" {
  value = local.names
}
'''
VERSIONS = '''terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
'''
READER = '''data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket         = "acme-state"
    key            = "network/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "acme-locks"
  }
}
'''


def block_backend(rng, index):
    if rng.random() < 0.5:
        text = ('terraform {\n  backend "s3" {\n    bucket         = "acme-state-%d"  # state bucket\n'
                '    key            = "roots/%d/terraform.tfstate"\n    region         = "eu-west-1"\n'
                '    encrypt        = true\n    dynamodb_table = "acme-locks" # lock table\n  }\n}\n' % (index % 7, index))
    else:
        text = ('// backend\nterraform {\n  backend "s3" {\n    bucket = "acme-state-%d"\n    key = "roots/%d.tfstate"\n'
                '    dynamodb_table = "acme-locks"\n    region = "eu-west-1"\n  }\n}\n' % (index % 7, index))
    return text.replace("\n", "\r\n") if rng.random() < 0.1 else text


def json_backend(rng, index):
    config = {"bucket": "acme-state-%d" % (index % 7), "key": "json/%d.tfstate" % index, "region": "eu-west-1",
              "dynamodb_table": "acme-locks"}
    if index % 2:
        return json.dumps({"terraform": {"backend": {"s3": config}}}, indent=2) + "\n"
    return json.dumps({"terraform": [{"backend": [{"s3": [config]}]}]}, indent=2) + "\n"


def terragrunt_backend(index):
    return ('locals {\n  env = "prod"\n}\n\nremote_state {\n  backend = "s3"\n  generate = {\n    path      = "backend.tf"\n'
            '    if_exists = "overwrite_terragrunt"\n  }\n  config = {\n    bucket         = "acme-tg-%d"\n'
            '    key            = "${path_relative_to_include()}/terraform.tfstate"\n    region         = "us-east-1"\n'
            '    encrypt        = true\n    dynamodb_table = "acme-tg-locks"\n  }\n}\n\ninputs = {\n  env = local.env\n}\n'
            % (index % 5))


def generate_backend(index):
    return ('generate "backend" {\n  path      = "backend.tf"\n  if_exists = "overwrite_terragrunt"\n  contents  = <<EOF\n'
            'terraform {\n  backend "s3" {\n    bucket         = "acme-gen-%d"\n'
            '    key            = "${path_relative_to_include()}/terraform.tfstate"\n    region         = "us-east-1"\n'
            '    dynamodb_table = "acme-gen-locks"\n  }\n}\nEOF\n}\n' % (index % 3))


def tfvars_backend(index):
    return ('terragrunt = {\n  remote_state {\n    backend = "s3"\n    config {\n      bucket         = "acme-old-%d"\n'
            '      key            = "old/%d/terraform.tfstate"\n      region         = "us-east-1"\n'
            '      dynamodb_table = "acme-old-locks"\n    }\n  }\n}\n' % (index % 3, index))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as handle:
        handle.write(text)


def plain_files(rng, root, index, count):
    """``count`` ordinary .tf files of a root."""
    name = "svc%d" % index
    texts = [("versions.tf", VERSIONS), ("main.tf", RESOURCE % {"name": name, "index": index % 9 + 1}),
             ("variables.tf", VARIABLES), ("outputs.tf", OUTPUTS % {"name": name})]
    for extra in range(max(0, count - len(texts))):
        texts.append(("extra%d.tf" % extra, RESOURCE % {"name": "%s_%d" % (name, extra), "index": extra + 1}))
    for file_name, text in texts[:count]:
        if file_name == "main.tf" and rng.random() < 0.02:
            text += "\n" + READER
        write(os.path.join(root, file_name), text)
    return count


def generate_tree(top, files, backends, seed=42):
    """Write the tree; returns (files written, backend-holding files)."""
    rng = random.Random(seed)
    written = held = 0
    quota = dict((form, int(round(backends * share))) for form, share in FORMS)
    quota["partial"] //= 2  # a partial root holds two backend files
    quota["block"] += backends - sum(quota.values()) - quota["partial"]
    index = 0
    for form, _share in FORMS:
        for _number in range(quota[form]):
            root = os.path.join(top, "live", form, "root%05d" % index)
            if form == "block":
                write(os.path.join(root, "backend.tf"), block_backend(rng, index))
                held, written = held + 1, written + 1
            elif form == "json":
                write(os.path.join(root, "backend.tf.json"), json_backend(rng, index))
                held, written = held + 1, written + 1
            elif form == "partial":
                write(os.path.join(root, "backend.tf"), 'terraform {\n  backend "s3" {}\n}\n')
                write(os.path.join(root, "prod.tfbackend"),
                      'bucket         = "acme-p"\nkey            = "p/%d.tfstate"\nregion         = "eu-west-1"\n'
                      'dynamodb_table = "acme-p-locks"\n' % index)
                held, written = held + 2, written + 2
            elif form == "terragrunt":
                write(os.path.join(root, "terragrunt.hcl"), terragrunt_backend(index))
                held, written = held + 1, written + 1
            elif form == "generate":
                write(os.path.join(root, "terragrunt.hcl"), generate_backend(index))
                held, written = held + 1, written + 1
            else:
                write(os.path.join(root, "terraform.tfvars"), tfvars_backend(index))
                held, written = held + 1, written + 1
            written += plain_files(rng, root, index, 4 if form != "partial" else 3)
            index += 1
    module = 0
    while written < files:
        root = os.path.join(top, "modules", "mod%04d" % module)
        written += plain_files(rng, root, module, min(5, files - written))
        module += 1
    return written, held


# ----------------------------------------------------------------------------------------------
# Measured operations
# ----------------------------------------------------------------------------------------------

def read_everything(top):
    count = size = 0
    for path, _explicit in disc.walk([top]):
        with open(path, "rb") as handle:
            size += len(handle.read())
        count += 1
    return {"files": count, "bytes": size}


def candidate_paths(top):
    tree = disc.scan_paths([top])
    return sorted(tree.parsed), tree


def parse_with_hcl2(paths):
    import hcl2
    parsed = failed = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        try:
            if path.endswith(".json"):
                json.loads(text)
            else:
                hcl2.loads(text)
            parsed += 1
        except Exception:  # HCL 1 (old Terragrunt .tfvars) is beyond python-hcl2
            failed += 1
    return {"parsed": parsed, "failed": failed}


def discovery(top):
    report = disc.report([top])
    return {"backends": len(report["backends"]), "failures": len(report["failures"]),
            "files_parsed": report["files_parsed"], "files_scanned": report["files_scanned"],
            "lock_modes": report["lock_modes"]}


def rewrite_lockfile(top):
    results = rewrite.rewrite_paths([top], "lockfile")
    changed = [r for r in results if r.changed]
    for result in changed:
        with open(result.path, "wb") as handle:
            handle.write(result.file.encode(result.after))
    return {"files_changed": len(changed), "backends_changed": sum(len(r.changes) for r in changed),
            "untouched": sum(len(r.untouched) for r in results)}


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def peak_memory(function, *args):
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--backends", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="generate into this directory and keep it")
    args = parser.parse_args(argv)

    work = args.keep or tempfile.mkdtemp(prefix="bench-backends.")
    tree_dir = os.path.join(work, "tree")
    if os.path.exists(tree_dir):
        shutil.rmtree(tree_dir)
    written, held = generate_tree(tree_dir, args.files, args.backends)
    try:
        import hcl2
        hcl2.loads('a = 1\n')  # build python-hcl2's grammar outside the measurements
        read_everything(tree_dir)  # warm the page cache

        candidates, _tree = candidate_paths(tree_dir)
        rows = []

        def measure(label, function, arg, repeat):
            times = []
            result = None
            for _run in range(repeat):
                seconds, result = timed(function, arg)
                times.append(seconds)
            rows.append((label, statistics.median(times), peak_memory(function, arg), result))

        measure("read", read_everything, tree_dir, args.repeat)
        measure("python-hcl2", parse_with_hcl2, candidates, args.repeat)
        measure("discovery", discovery, tree_dir, args.repeat)

        # the rewrite changes the tree: time it on one copy, measure its memory on another
        copies = []
        for name in ("rewrite-time", "rewrite-memory"):
            copy = os.path.join(work, name)
            if os.path.exists(copy):
                shutil.rmtree(copy)
            shutil.copytree(tree_dir, copy)
            copies.append(copy)
        read_everything(copies[0])
        seconds, result = timed(rewrite_lockfile, copies[0])
        rows.append(("rewrite", seconds, peak_memory(rewrite_lockfile, copies[1]), result))
        measure("rewrite again", rewrite_lockfile, copies[0], args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    base = dict((label, (seconds, memory)) for label, seconds, memory, _result in rows)
    print("tree: %d files, %d holding S3 backend settings; %d parsed by discovery (candidates)"
          % (written, held, len(candidates)))
    header = ("operation", "wall s", "files/s", "x read", "x hcl2", "peak MiB", "mem x read", "result")
    print("%-14s %9s %10s %9s %9s %12s %12s  %s" % header)
    for label, seconds, memory, result in rows:
        print("%-14s %9.3f %10.0f %9.2f %9.2f %12.2f %12.2f  %s" % (
            label, seconds, written / seconds, seconds / base["read"][0], seconds / base["python-hcl2"][0],
            memory / 1048576.0, memory / float(base["read"][1]), json.dumps(result, sort_keys=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
