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
# The venv records what it was installed from; a different hash means reinstall.
TFSTATE_VENV_STAMP="$TFSTATE_VENV/.requirements-dev.sha256"
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

tfstate_requirements_hash() {
    # The interpreter version is part of the hash: a new Python needs a new venv.
    {
        cat "$TFSTATE_REQUIREMENTS"
        "$1" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

# Create .venv if missing and (re)install requirements-dev.txt when it changed since the last install.
tfstate_ensure_venv() {
    [[ -f "$TFSTATE_REQUIREMENTS" ]] || tfstate_die "missing $TFSTATE_REQUIREMENTS"
    local python wanted
    if [[ -x "$TFSTATE_VENV/bin/python" ]]; then
        python="$TFSTATE_VENV/bin/python"
    else
        python="$(tfstate_base_python)"
    fi
    wanted="$(tfstate_requirements_hash "$python")"
    if [[ -f "$TFSTATE_VENV_STAMP" && "$(cat "$TFSTATE_VENV_STAMP")" == "$wanted" ]]; then
        return 0
    fi
    # Several people share one working tree: install under a lock, then re-check.
    mkdir -p "$TFSTATE_ROOT/.cache"
    exec {lock_fd}>"$TFSTATE_ROOT/.cache/venv.lock"
    if command -v flock >/dev/null 2>&1; then
        flock "$lock_fd"
    fi
    if [[ ! -f "$TFSTATE_VENV_STAMP" || "$(cat "$TFSTATE_VENV_STAMP")" != "$wanted" ]]; then
        if [[ ! -x "$TFSTATE_VENV/bin/python" ]]; then
            tfstate_log "creating $TFSTATE_VENV with $python"
            "$python" -m venv "$TFSTATE_VENV"
        fi
        tfstate_log "installing requirements-dev.txt into .venv"
        "$TFSTATE_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$TFSTATE_REQUIREMENTS"
        tfstate_requirements_hash "$TFSTATE_VENV/bin/python" >"$TFSTATE_VENV_STAMP"
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
