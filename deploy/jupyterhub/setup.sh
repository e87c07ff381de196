#!/usr/bin/env bash
# Prepare one server for a convcourse class on JupyterHub. Run as root; safe to run again
# (after `git pull`, or to add students): every step checks what is already there.
#
#   sudo deploy/jupyterhub/setup.sh --instructor NAME --students students.txt
#
# Options (defaults in brackets):
#   --prefix DIR       class folder: venv/, roster/, hub/ (hub state, passwords)   [/opt/convcourse]
#   --venv DIR         the class virtualenv, if not <prefix>/venv (the hub then needs CONVCOURSE_VENV=DIR)
#   --exchange DIR     nbgrader exchange, mode 0777                                 [/srv/nbgrader/exchange]
#   --instructor NAME  Unix user who teaches (created if missing)
#   --students FILE    one Unix user name a line (created if missing; added to the roster)
#   --course-id ID     nbgrader course id                                           [convcourse]
# Environment: PYTHON [/usr/bin/python3.11], TORCH [torch==2.13.0] (a CPU-only server:
#   TORCH="torch --index-url https://download.pytorch.org/whl/cpu"), JUPYTERHUB [jupyterhub>=5.3,<7],
#   PROXY [configurable-http-proxy@5.2.0, installed with npm when none is on PATH].
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # useradd, when run from a non-login root shell

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PREFIX=/opt/convcourse
VENV=""
EXCHANGE=/srv/nbgrader/exchange
INSTRUCTOR=""
STUDENTS_FILE=""
COURSE_ID=convcourse
PYTHON="${PYTHON:-/usr/bin/python3.11}"
TORCH="${TORCH:-torch==2.13.0}"
JUPYTERHUB="${JUPYTERHUB:-jupyterhub>=5.3,<7}"
PROXY="${PROXY:-configurable-http-proxy@5.2.0}"

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift 2 ;;
        --venv) VENV="$2"; shift 2 ;;
        --exchange) EXCHANGE="$2"; shift 2 ;;
        --instructor) INSTRUCTOR="$2"; shift 2 ;;
        --students) STUDENTS_FILE="$2"; shift 2 ;;
        --course-id) COURSE_ID="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { echo "== [${SECONDS}s] $*"; }
die() { echo "setup.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it creates users, the exchange and a system-wide environment)"
[ -x "$PYTHON" ] || die "$PYTHON is missing: every user must be able to run the class interpreter (apt-get install python3.11 python3.11-venv), or set PYTHON"
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path, got $PREFIX" ;; esac
case "$EXCHANGE" in /*) ;; *) die "--exchange must be an absolute path, got $EXCHANGE" ;; esac
valid_name() { [[ "$1" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "not a valid Unix user name: '$1'"; }

VENV="${VENV:-$PREFIX/venv}"
case "$VENV" in /*) ;; *) die "--venv must be an absolute path, got $VENV" ;; esac
# 1. The class folder: every user traverses it to run the venv's interpreter (0755, and so must
#    be each folder above it: a venv under /root or a 0700 temporary folder fails for students).
say "class folder $PREFIX"
mkdir -p "$PREFIX/roster" "$PREFIX/hub"
chmod 0755 "$PREFIX" "$PREFIX/roster"
chmod 0700 "$PREFIX/hub"
mkdir -p "$(dirname "$VENV")"
for d in "$PREFIX" "$(dirname "$VENV")"; do
    while [ "$d" != / ]; do
        [ "$(( $(stat -c '%a' "$d") % 10 & 1 ))" = 1 ] || die "$d is not traversable by other users (mode $(stat -c '%a' "$d")): pick other folders or chmod o+x it"
        d="$(dirname "$d")"
    done
done

# 2. The class environment, from an interpreter every user can run.
if [ ! -x "$VENV/bin/python" ]; then
    say "virtualenv $VENV from $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
# Packages are installed without byte-compiling, then compiled once on every core (step 2b): the
# class environment is read-only for users, so its .pyc files must be written now, by root.
compile_venv=""
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    say "PyTorch ($TORCH)"
    # shellcheck disable=SC2086  # TORCH may carry pip options
    "$VENV/bin/pip" install -q --no-compile $TORCH
    compile_venv=1
fi
# Reinstalled only when the course's code or the JupyterHub requirement changed (after a git pull).
stamp="$(cd "$REPO" && find pyproject.toml course_lib -type f -not -path '*__pycache__*' | sort | xargs sha256sum | sha256sum | cut -c1-16)-$JUPYTERHUB"
if [ "$(cat "$VENV/.convcourse-installed" 2>/dev/null)" != "$stamp" ]; then
    say "the course and JupyterHub"
    "$VENV/bin/pip" install -q --no-compile "$REPO" "$JUPYTERHUB"
    echo "$stamp" > "$VENV/.convcourse-installed"
    compile_venv=1
fi
if [ -n "$compile_venv" ]; then
    say "byte-compiling the class environment"
    # (a few packages ship templates with a .py name that do not compile: not an error)
    "$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null 2>&1 || true
fi

# 3. The proxy (node).
if ! command -v configurable-http-proxy >/dev/null; then
    command -v npm >/dev/null || die "configurable-http-proxy needs node and npm (apt-get install nodejs npm)"
    say "npm install -g $PROXY"
    npm install -g --no-fund --no-audit "$PROXY"
fi

# 4. What every user's server reads: course id and exchange, terminals that keep the venv's PATH.
say "configuration in $VENV/etc/jupyter"
mkdir -p "$VENV/etc/jupyter"
sed -e "s|^c.Exchange.root = .*|c.Exchange.root = \"$EXCHANGE\"|" \
    -e "s|^c.CourseDirectory.course_id = .*|c.CourseDirectory.course_id = \"$COURSE_ID\"|" \
    "$HERE/nbgrader_config.py" > "$VENV/etc/jupyter/nbgrader_config.py"
cp "$HERE/jupyter_server_config.py" "$VENV/etc/jupyter/jupyter_server_config.py"

# 5. Formgrader and the assignment creator are for the instructor only: off for everyone here,
#    on again in the instructor's own config (step 8). Disabling at sys-prefix also locks the lab
#    plugins, and a locked plugin cannot be enabled per user: unlock them.
say "nbgrader extensions: Formgrader off for students"
"$VENV/bin/jupyter" server extension disable --sys-prefix nbgrader.server_extensions.formgrader >/dev/null 2>&1
INSTRUCTOR_PLUGINS=(@jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment)
"$VENV/bin/jupyter" labextension disable --level=sys_prefix "${INSTRUCTOR_PLUGINS[@]}" >/dev/null 2>&1
"$VENV/bin/jupyter" labextension unlock --level=sys_prefix "${INSTRUCTOR_PLUGINS[@]}" >/dev/null 2>&1
# (and no "Would you like to get notified about official Jupyter news?" pop-up for every user)
"$VENV/bin/jupyter" labextension disable --level=sys_prefix @jupyterlab/apputils-extension:announcements >/dev/null 2>&1

# 6. The exchange: nbgrader changes modes inside it, so it must be world-writable.
say "exchange $EXCHANGE (mode 0777)"
mkdir -p "$EXCHANGE"
chmod 0777 "$EXCHANGE"

# 7. Users: private homes (Debian makes them 0755: students could read each other's work and
#    the instructor's solutions/).
add_user() {
    valid_name "$1"
    if ! id -u "$1" >/dev/null 2>&1; then
        say "new user $1"
        useradd --create-home --shell /bin/bash "$1"
    fi
    local home
    home="$(getent passwd "$1" | cut -d: -f6)"
    chmod 0700 "$home"
}
add_to_roster() {
    grep -qx "$2" "$1" 2>/dev/null || echo "$2" >> "$1"
}
touch "$PREFIX/roster/instructor" "$PREFIX/roster/students"
if [ -n "$STUDENTS_FILE" ]; then
    [ -r "$STUDENTS_FILE" ] || die "--students: cannot read $STUDENTS_FILE"
    while read -r name _; do
        name="${name%%,*}"
        [ -z "$name" ] || [ "${name:0:1}" = "#" ] || [ "$name" = id ] && continue
        add_user "$name"
        add_to_roster "$PREFIX/roster/students" "$name"
    done < "$STUDENTS_FILE"
fi
while read -r name; do [ -z "$name" ] || add_user "$name"; done < "$PREFIX/roster/students"

# 8. The instructor: the course folder (solutions stay in a 0700 home), their own nbgrader config,
#    and Formgrader on for them only.
if [ -n "$INSTRUCTOR" ]; then
    add_user "$INSTRUCTOR"
    add_to_roster "$PREFIX/roster/instructor" "$INSTRUCTOR"
    home="$(getent passwd "$INSTRUCTOR" | cut -d: -f6)"
    group="$(id -gn "$INSTRUCTOR")"
    course="$home/convcourse"
    if [ ! -d "$course/solutions" ]; then
        say "course folder $course"
        mkdir -p "$course"
        cp -r "$REPO/solutions" "$REPO/nbgrader_config.py" "$course/"
        chown -R "$INSTRUCTOR:$group" "$course"
    fi
    say "Formgrader for $INSTRUCTOR"
    install -d -o "$INSTRUCTOR" -g "$group" -m 0755 "$home/.jupyter" "$home/.jupyter/jupyter_server_config.d"
    install -o "$INSTRUCTOR" -g "$group" -m 0644 "$HERE/instructor/nbgrader-formgrader.json" "$home/.jupyter/jupyter_server_config.d/"
    sed -e "s|^c.CourseDirectory.root = .*|c.CourseDirectory.root = \"$course\"|" "$HERE/instructor/nbgrader_config.py" > "$home/.jupyter/nbgrader_config.py"
    chown "$INSTRUCTOR:$group" "$home/.jupyter/nbgrader_config.py"
    runuser -u "$INSTRUCTOR" -- env -i HOME="$home" PATH="$VENV/bin:/usr/bin:/bin" \
        "$VENV/bin/jupyter" labextension enable --level=user "${INSTRUCTOR_PLUGINS[@]}" >/dev/null 2>&1
fi

# 9. Passwords for the shared-password login (kept if they exist): students share one, the
#    instructor has their own (JupyterHub asks for at least 32 characters).
for who in student:16 instructor:40; do
    file="$PREFIX/hub/${who%%:*}_password"
    if [ ! -s "$file" ]; then
        (umask 077; "$PYTHON" -c "import secrets,sys; print(secrets.token_urlsafe(int(sys.argv[1])))" "${who##*:}" > "$file")
    fi
done
say "done. Passwords: $PREFIX/hub/student_password (give it to students), $PREFIX/hub/instructor_password"
say "start the hub: CONVCOURSE_PREFIX=$PREFIX CONVCOURSE_VENV=$VENV $VENV/bin/jupyterhub -f $HERE/jupyterhub_config.py"
