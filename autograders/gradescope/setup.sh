#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image: it installs a
# Python >= 3.11 with the kit in a virtual environment that run_autograder then uses for
# every submission. The kit is in source/kit (see `aiokata bundle gradescope --help`).
#
# AUTOGRADER_ROOT (default /autograder) lets the same script be tried outside Gradescope.
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
KIT="$ROOT/source/kit"
VENV="$ROOT/aiokata-venv"
GRADER_USER="${AIOKATA_USER-aiokata}"  # run_autograder grades as this user; empty: as root
AIOKATA_MAIN='from aiokata.cli import main; main(prog_name="aiokata")'
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '== %s\n' "$*"; }

new_enough() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

find_python() {
    local name path
    for name in ${AIOKATA_BUILD_PYTHON:-} python3.13 python3.12 python3.11 python3; do
        path="$(command -v "$name" 2>/dev/null)" || continue
        if new_enough "$path"; then
            printf '%s\n' "$path"
            return 0
        fi
    done
    return 1
}

have_apt() { command -v apt-get >/dev/null 2>&1; }

if have_apt; then
    say "system packages"
    apt-get update
    # bubblewrap: run_autograder uses it when the container allows namespaces (often not).
    apt-get install -y --no-install-recommends ca-certificates bubblewrap util-linux
fi

if ! PYTHON="$(find_python)"; then
    # Gradescope's default image (Ubuntu 22.04) has Python 3.10: take a current 3.12 from
    # the deadsnakes PPA, and fall back on the archive's own (early) python3.11 build.
    have_apt || { echo "no Python >= 3.11 and no apt-get to install one" >&2; exit 1; }
    say "installing Python 3.12 (deadsnakes PPA)"
    if apt-get install -y --no-install-recommends software-properties-common gpg-agent \
        && add-apt-repository -y ppa:deadsnakes/ppa \
        && apt-get update \
        && apt-get install -y --no-install-recommends python3.12 python3.12-venv; then
        :
    else
        say "deadsnakes failed; trying the archive's python3.11"
        apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
    PYTHON="$(find_python)" || { echo "could not install Python >= 3.11" >&2; exit 1; }
fi
say "using $PYTHON ($("$PYTHON" --version 2>&1))"

if ! "$PYTHON" -m venv --clear "$VENV" 2>/dev/null; then
    # Debian and Ubuntu split venv (ensurepip) into its own package.
    version="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    if have_apt; then
        apt-get install -y --no-install-recommends "python$version-venv" || true
    fi
    "$PYTHON" -m venv --clear "$VENV"
fi

say "installing the kit"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# A regular (not editable) install: the image then holds the engine outside the kit folder.
"$VENV/bin/python" -m pip install --quiet "$KIT"

say "smoke test: grading the untouched stubs of the first exercise"
smoke="$(mktemp -d)"
first=""
for folder in "$KIT"/exercises/[0-9][0-9]_*/; do
    first="$(basename "$folder")"
    break
done
"$VENV/bin/python" -c "$AIOKATA_MAIN" grade "$KIT/exercises" -e "${first%%_*}" --kit "$KIT" \
    --format gradescope --out "$smoke/results.json" --results "$smoke/grades" --timeout 120
"$VENV/bin/python" -c 'import json, sys; json.load(open(sys.argv[1]))["tests"]' \
    "$smoke/results.json"
rm -rf "$smoke"

if [ -n "$GRADER_USER" ] && [ "$(id -u)" = 0 ] && ! id "$GRADER_USER" >/dev/null 2>&1; then
    say "creating user $GRADER_USER"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$GRADER_USER" \
        || echo "could not create $GRADER_USER: run_autograder will grade as root" >&2
fi

# Gradescope copies run_autograder to $ROOT; make sure both copies can be executed.
chmod 755 "$ROOT/source/run_autograder" 2>/dev/null || true
chmod 755 "$ROOT/run_autograder" 2>/dev/null || true
# The grader user reads the kit and the venv; nothing there is secret.
chmod -R a+rX "$KIT" "$VENV"
say "done"
