# shellcheck shell=bash
# Shared set-up for the scripts in scripts/: sourced, never run.
#
#   source "$(dirname "$0")/lib.sh"
#   tfstate_setup          # venv up to date, checkout served as the collection, env exported
#
# Needs only bash, coreutils, git and Python 3.11+ (TFSTATE_PYTHON picks the interpreter).
# Everything else comes from PyPI through requirements-dev.txt.

TFSTATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
TFSTATE_VENV="$TFSTATE_ROOT/.venv"
TFSTATE_REQUIREMENTS="$TFSTATE_ROOT/requirements-dev.txt"
# scripts/demo needs only the runtime and the test bed's moto server: a venv of its own, unless .venv is current.
TFSTATE_DEMO_VENV="$TFSTATE_ROOT/.venv-demo"
TFSTATE_DEMO_REQUIREMENTS="$TFSTATE_ROOT/requirements-demo.txt"
TFSTATE_COLLECTIONS="$TFSTATE_ROOT/.ansible/collections"
TFSTATE_COLLECTION_LINK="$TFSTATE_COLLECTIONS/ansible_collections/tfstate/s3_backend"

tfstate_log() {
    printf '==> %s\n' "$*" >&2
}

tfstate_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The interpreter that creates the venv: TFSTATE_PYTHON, else python3.11, else python3 if >= 3.11.
tfstate_base_python() {
    local candidate
    for candidate in "${TFSTATE_PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    tfstate_die "Python 3.11 or newer is needed (set TFSTATE_PYTHON to its path)"
}

# tfstate_requirements_hash PYTHON [REQUIREMENTS]
tfstate_requirements_hash() {
    # The interpreter version is part of the hash: a new Python needs a new venv.
    {
        cat "${2:-$TFSTATE_REQUIREMENTS}"
        "$1" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

# tfstate_venv_current VENV REQUIREMENTS: whether VENV was installed from REQUIREMENTS as they are now.
tfstate_venv_current() {
    local stamp
    stamp="$1/.$(basename "$2" .txt).sha256"
    [[ -x "$1/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$(tfstate_requirements_hash "$1/bin/python" "$2")" ]]
}

# tfstate_ensure_venv [VENV REQUIREMENTS]: create VENV (default .venv) if missing and (re)install
# REQUIREMENTS (default requirements-dev.txt) when they changed since the last install.
tfstate_ensure_venv() {
    local venv="${1:-$TFSTATE_VENV}" requirements="${2:-$TFSTATE_REQUIREMENTS}"
    local stamp
    stamp="$venv/.$(basename "$requirements" .txt).sha256"
    [[ -f "$requirements" ]] || tfstate_die "missing $requirements"
    local python wanted
    if [[ -x "$venv/bin/python" ]]; then
        python="$venv/bin/python"
    else
        python="$(tfstate_base_python)"
    fi
    wanted="$(tfstate_requirements_hash "$python" "$requirements")"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return 0
    fi
    # Several people share one working tree: install under a lock, then re-check.
    mkdir -p "$TFSTATE_ROOT/.cache"
    exec {lock_fd}>"$TFSTATE_ROOT/.cache/venv.lock"
    if command -v flock >/dev/null 2>&1; then
        flock "$lock_fd"
    fi
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
        if [[ ! -x "$venv/bin/python" ]]; then
            tfstate_log "creating $venv with $python"
            "$python" -m venv "$venv"
        fi
        tfstate_log "installing $(basename "$requirements") into $(basename "$venv")"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
        tfstate_requirements_hash "$venv/bin/python" "$requirements" >"$stamp"
    fi
    exec {lock_fd}>&-
}

# Serve the checkout as ansible_collections/tfstate/s3_backend (git-ignored symlink; edits are live).
tfstate_link_collection() {
    mkdir -p "$(dirname "$TFSTATE_COLLECTION_LINK")"
    if [[ "$(readlink "$TFSTATE_COLLECTION_LINK" 2>/dev/null)" != "$TFSTATE_ROOT" ]]; then
        rm -rf "$TFSTATE_COLLECTION_LINK"
        ln -s "$TFSTATE_ROOT" "$TFSTATE_COLLECTION_LINK"
    fi
}

# tfstate_export_env [VENV]: VENV (default .venv) first on the PATH; scripts/smoke passes its own.
tfstate_export_env() {
    local venv="${1:-$TFSTATE_VENV}"
    export VIRTUAL_ENV="$venv"
    export PATH="$venv/bin:$PATH"
    # Without ANSIBLE_HOME molecule copies the collection to ~/.ansible, shadowing the working tree.
    export ANSIBLE_HOME="$TFSTATE_ROOT/.ansible"
    export ANSIBLE_CONFIG="$TFSTATE_ROOT/ansible.cfg"
    export ANSIBLE_COLLECTIONS_PATH="$TFSTATE_COLLECTIONS"
    # ansible.cfg's remote_tmp would not be resolved relative to the file.
    export ANSIBLE_REMOTE_TMP="$TFSTATE_ROOT/.ansible/tmp"
    export ANSIBLE_LOCAL_TEMP="$TFSTATE_ROOT/.ansible/tmp"
    # async_status expands ~ from the passwd entry, the async wrapper from $HOME: pin one place.
    export ANSIBLE_ASYNC_DIR="$TFSTATE_ROOT/.ansible/async"
    # Logs (CI, files) get no colour codes.
    if [[ ! -t 1 ]]; then
        export NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0
    fi
}

tfstate_setup() {
    tfstate_ensure_venv
    tfstate_link_collection
    tfstate_export_env
}

# scripts/demo: .venv when it is current (a developer's checkout), else .venv-demo with only
# requirements-demo.txt (ansible-core, boto3, moto's server, python-hcl2): no linters, no Molecule.
tfstate_setup_demo() {
    if ! tfstate_venv_current "$TFSTATE_VENV" "$TFSTATE_REQUIREMENTS"; then
        tfstate_ensure_venv "$TFSTATE_DEMO_VENV" "$TFSTATE_DEMO_REQUIREMENTS"
        TFSTATE_VENV="$TFSTATE_DEMO_VENV"
    fi
    tfstate_link_collection
    tfstate_export_env "$TFSTATE_VENV"
}

# Mark the processes this script starts, so tfstate_stop_leaked_servers finds exactly those.
# Nested scripts add their own mark; the variable is inherited by every descendant.
tfstate_mark_processes() {
    TFSTATE_RUN_MARK="tfstate-run-$$-$RANDOM$RANDOM"
    export TFSTATE_RUN_MARKS="${TFSTATE_RUN_MARKS:+$TFSTATE_RUN_MARKS:}$TFSTATE_RUN_MARK"
}

# Stop moto servers still running that carry this script's mark (a killed pytest or molecule
# leaves its server behind: it runs in its own session). Other people's servers lack the mark.
tfstate_stop_leaked_servers() {
    [[ -n "${TFSTATE_RUN_MARK:-}" ]] || return 0
    "$TFSTATE_VENV/bin/python" - "$TFSTATE_RUN_MARK" <<'PY' || true
import os
import signal
import sys

mark = sys.argv[1].encode()
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    pid = int(entry)
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read()
        with open("/proc/%d/environ" % pid, "rb") as handle:
            environ = handle.read().split(b"\0")
    except OSError:
        continue
    if b"moto" not in cmdline:
        continue
    marks = [var.split(b"=", 1)[1].split(b":") for var in environ if var.startswith(b"TFSTATE_RUN_MARKS=")]
    if not marks or mark not in marks[0]:
        continue
    print("==> stopping leaked moto server, pid %d" % pid, file=sys.stderr)
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
PY
}
