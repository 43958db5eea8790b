#!/usr/bin/env bash
# Local S3-compatible server (moto_server from PyPI) for object_store integration tests.
#
# Usage:
#   scripts/s3-server.sh start    install (idempotent) + start on 127.0.0.1 + create bucket;
#                                 prints `export VAR=value` lines on stdout, so use:
#                                   s3_env="$(scripts/s3-server.sh start)"; eval "$s3_env"
#                                 (NOT `eval "$(... start)"`: eval of an empty string
#                                 returns 0, so set -e would not see a failed start)
#   scripts/s3-server.sh env      print the export lines of the running server
#   scripts/s3-server.sh status   exit 0 and say so if up, exit 1 if not
#   scripts/s3-server.sh stop     stop it (idempotent)
#   scripts/s3-server.sh install  only install into the venv
#
# Progress and errors go to stderr; only the export lines go to stdout.
#
# Environment knobs (all optional):
#   CAPTURE_S3_HOME     state dir (venv, pid, log)   default: $HOME/.cache/capture-s3
#   CAPTURE_S3_PORT     port; if unset, 9878 is tried and a free port is picked if busy
#   CAPTURE_S3_BUCKET   bucket to create             default: capture-test
#   CAPTURE_S3_PREFIX   key prefix in CAPTURE_S3_URL default: capture
#   CAPTURE_S3_PYTHON   python interpreter           default: python3
#   CAPTURE_S3_MOTO     pip requirement(s) for moto  default: pinned, see MOTO_SPEC
#   CAPTURE_S3_TIMEOUT  seconds to wait for startup  default: 60
set -euo pipefail

MOTO_SPEC_DEFAULT="moto[s3]==5.2.5 flask==3.1.3 flask-cors==6.0.5"
MOTO_SPEC="${CAPTURE_S3_MOTO:-$MOTO_SPEC_DEFAULT}"
S3_HOME="${CAPTURE_S3_HOME:-${HOME:-/tmp}/.cache/capture-s3}"
VENV="$S3_HOME/venv"
RUN_DIR="$S3_HOME/run"
PID_FILE="$RUN_DIR/moto.pid"
PORT_FILE="$RUN_DIR/moto.port"
LOG_FILE="$RUN_DIR/moto.log"
LAUNCHER="$RUN_DIR/moto_launch.py"
PIP_LOG="$S3_HOME/pip-install.log"
STAMP="$VENV/.capture-s3-installed"
PYTHON="${CAPTURE_S3_PYTHON:-python3}"
BUCKET="${CAPTURE_S3_BUCKET:-capture-test}"
PREFIX="${CAPTURE_S3_PREFIX:-capture}"
TIMEOUT="${CAPTURE_S3_TIMEOUT:-60}"
DEFAULT_PORT=9878
HOST=127.0.0.1
# Dummy credentials: moto accepts any; object_store insists on having some.
ACCESS_KEY=testing
SECRET_KEY=testing
REGION=us-east-1

log() { printf 's3-server: %s\n' "$*" >&2; }
die() { printf 's3-server: error: %s\n' "$*" >&2; exit 1; }

# Never route loopback traffic through a proxy (pip still uses the proxy, if any).
# The export lines printed for callers carry the same NO_PROXY/no_proxy, so
# HTTP clients that honour HTTP(S)_PROXY (reqwest inside object_store) reach
# the server directly too.
case ",${NO_PROXY:-}," in
*,127.0.0.1,*) ;;
*) NO_PROXY="${NO_PROXY:+$NO_PROXY,}127.0.0.1,localhost" ;;
esac
export NO_PROXY
export no_proxy="$NO_PROXY"

venv_python() { printf '%s' "$VENV/bin/python"; }

install() {
    if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$MOTO_SPEC" ]] &&
        "$VENV/bin/python" -c 'import moto.server, boto3' >/dev/null 2>&1; then
        return 0
    fi
    command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found (set CAPTURE_S3_PYTHON)"
    mkdir -p "$S3_HOME"
    log "installing $MOTO_SPEC into $VENV (log: $PIP_LOG) ..."
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >"$PIP_LOG" 2>&1; then
        tail -n 20 "$PIP_LOG" >&2 || true
        die "'$PYTHON -m venv' failed (on Debian: apt-get install -y python3-venv)"
    fi
    # shellcheck disable=SC2086 # MOTO_SPEC is a space-separated list of requirements
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input $MOTO_SPEC >>"$PIP_LOG" 2>&1; then
        tail -n 30 "$PIP_LOG" | cut -c1-300 >&2 || true
        rm -rf "$VENV"
        die "pip install of '$MOTO_SPEC' failed (full log: $PIP_LOG)"
    fi
    "$VENV/bin/python" -c 'import moto.server, boto3' >>"$PIP_LOG" 2>&1 ||
        die "moto installed but 'import moto.server' fails (see $PIP_LOG)"
    printf '%s' "$MOTO_SPEC" >"$STAMP"
    log "installed $("$VENV/bin/python" -c 'import moto; print("moto", moto.__version__)')"
}

# moto's threaded server checks If-None-Match / If-Match and then writes, with no
# lock in between: two concurrent PutMode::Create of one key can both succeed
# (reproduced with moto 5.2.5). The launcher serializes S3 key-level request
# handling (after the request body has been read) so conditional writes are
# atomic, then runs moto_server's normal main().
write_launcher() {
    cat >"$LAUNCHER" <<'PY'
import functools, sys, threading
try:
    from moto.s3.responses import S3Response
    _lock = threading.RLock()
    _orig = S3Response._key_response

    @functools.wraps(_orig)
    def _key_response_locked(self, *args, **kwargs):
        with _lock:
            return _orig(self, *args, **kwargs)

    S3Response._key_response = _key_response_locked
    print("capture-s3: S3 key operations serialized (atomic conditional puts)", file=sys.stderr)
except Exception as exc:  # moto internals changed: run unpatched, but say so
    print(f"capture-s3: WARNING: could not serialize S3 key operations ({exc!r}); "
          "concurrent conditional puts may race", file=sys.stderr)
from moto.server import main
sys.argv[0] = "moto_server"
main()
PY
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

free_port() {
    "$(venv_python)" - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

running_pid() { # prints pid and returns 0 if our server process is alive
    local pid
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # guard against pid reuse: the process must be a moto server
    if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'moto'; then
        return 1
    fi
    printf '%s' "$pid"
}

# HTTP probe: moto answers GET / (ListBuckets) without checking signatures.
answers() {
    "$(venv_python)" - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

ensure_bucket() {
    local port="$1" out
    if ! out="$("$(venv_python)" - "$port" "$BUCKET" "$ACCESS_KEY" "$SECRET_KEY" "$REGION" 2>&1 <<'EOF'
import sys
import boto3
from botocore.config import Config
port, bucket, ak, sk, region = sys.argv[1:]
s3 = boto3.client(
    "s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=ak,
    aws_secret_access_key=sk, region_name=region,
    config=Config(s3={"addressing_style": "path"}, proxies={}, retries={"max_attempts": 3}),
)
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
s3.head_bucket(Bucket=bucket)
EOF
    )"; then
        printf '%s\n' "$out" | tail -n 15 >&2
        die "could not create bucket '$BUCKET' on 127.0.0.1:$port"
    fi
}

print_env() {
    local port="$1" endpoint="http://$HOST:$1"
    cat <<EOF
export AWS_ENDPOINT=$endpoint
export AWS_ENDPOINT_URL=$endpoint
export AWS_ALLOW_HTTP=true
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_DEFAULT_REGION=$REGION
export AWS_REGION=$REGION
export AWS_CONDITIONAL_PUT=etag
export CAPTURE_S3_BUCKET=$BUCKET
export CAPTURE_S3_URL=s3://$BUCKET/$PREFIX
EOF
    # A caller's NO_PROXY may hold `*` or spaces: quote it for eval then.
    local np="$NO_PROXY"
    [[ "$np" =~ ^[A-Za-z0-9.,_:/-]*$ ]] || np="$(printf '%q' "$np")"
    printf 'export NO_PROXY=%s\nexport no_proxy=%s\n' "$np" "$np"
}

start() {
    local pid port
    install
    mkdir -p "$RUN_DIR"

    if pid="$(running_pid)"; then
        port="$(cat "$PORT_FILE" 2>/dev/null || true)"
        [[ "$port" =~ ^[0-9]+$ ]] || die "server pid $pid is running but $PORT_FILE is missing; run '$0 stop' first"
        if [[ -n "${CAPTURE_S3_PORT:-}" && "$CAPTURE_S3_PORT" != "$port" ]]; then
            die "already running on port $port (pid $pid), but CAPTURE_S3_PORT=$CAPTURE_S3_PORT; run '$0 stop' first"
        fi
        answers "$port" || die "server pid $pid on port $port does not answer (log: $LOG_FILE); run '$0 stop' and retry"
        log "already running (pid $pid, port $port)"
        ensure_bucket "$port"
        print_env "$port"
        return 0
    fi
    rm -f "$PID_FILE" "$PORT_FILE"

    if [[ -n "${CAPTURE_S3_PORT:-}" ]]; then
        port="$CAPTURE_S3_PORT"
        if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
            die "CAPTURE_S3_PORT='$port' is not a port number (1-65535)"
        fi
        port=$((10#$port))
        port_in_use "$port" && die "port $port (CAPTURE_S3_PORT) is already in use by another process"
    else
        port="$DEFAULT_PORT"
        if port_in_use "$port"; then
            port="$(free_port)"
            log "port $DEFAULT_PORT busy, using free port $port"
        fi
    fi

    write_launcher
    # Detach fully: own session, no stdin, stdout/stderr to the log, so that
    # `eval "$(... start)"` and CI pipes do not wait on the server.
    : >"$LOG_FILE"
    local detach=nohup
    command -v setsid >/dev/null 2>&1 && detach=setsid
    # shellcheck disable=SC2016 # $$ and $1 are for the inner bash
    "$detach" bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
        "$VENV/bin/python" "$LAUNCHER" -H "$HOST" -p "$port" \
        </dev/null >>"$LOG_FILE" 2>&1 9>&- &
    printf '%s' "$port" >"$PORT_FILE"

    local deadline=$((SECONDS + TIMEOUT))
    while :; do
        pid="$(cat "$PID_FILE" 2>/dev/null || true)"
        if [[ "$pid" =~ ^[0-9]+$ ]]; then
            if ! kill -0 "$pid" 2>/dev/null; then
                tail -n 20 "$LOG_FILE" >&2 || true
                rm -f "$PID_FILE" "$PORT_FILE"
                die "moto server exited during startup (log: $LOG_FILE)"
            fi
            answers "$port" && break
        fi
        if ((SECONDS >= deadline)); then
            tail -n 20 "$LOG_FILE" >&2 || true
            if [[ "$pid" =~ ^[0-9]+$ ]]; then kill "$pid" 2>/dev/null || true; fi
            rm -f "$PID_FILE" "$PORT_FILE"
            die "moto server did not answer on $HOST:$port within ${TIMEOUT}s (log: $LOG_FILE)"
        fi
        sleep 0.3
    done
    log "started moto (pid $pid) on http://$HOST:$port, log: $LOG_FILE"
    # shellcheck disable=SC2310 # on failure: stop the fresh server, then fail
    ( ensure_bucket "$port" ) || { stop; die "startup aborted"; }
    print_env "$port"
}

stop() {
    local pid i
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE" "$PORT_FILE"
        log "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for 10s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE" "$PORT_FILE"
    log "stopped (pid $pid)"
}

status() {
    local pid port
    if pid="$(running_pid)"; then
        port="$(cat "$PORT_FILE" 2>/dev/null || true)"
        if [[ "$port" =~ ^[0-9]+$ ]] && answers "$port"; then
            echo "running: pid $pid, http://$HOST:$port, bucket $BUCKET, log $LOG_FILE"
            return 0
        fi
        echo "process $pid alive but not answering on port ${port:-?} (log $LOG_FILE)"
        return 1
    fi
    echo "not running"
    return 1
}

env_cmd() {
    local port
    running_pid >/dev/null || die "not running; use '$0 start'"
    port="$(cat "$PORT_FILE" 2>/dev/null || true)"
    [[ "$port" =~ ^[0-9]+$ ]] || die "$PORT_FILE missing"
    print_env "$port"
}

# Serialize concurrent start/stop calls (e.g. from parallel test processes).
# fd 9 is closed for the server process so it does not keep the lock.
take_lock() {
    mkdir -p "$S3_HOME"
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"$S3_HOME/.lock"
    flock -w 900 9 || die "timed out waiting for $S3_HOME/.lock"
}

case "${1:-}" in
start) take_lock; start ;;
stop) take_lock; stop ;;
status) status ;;
env) env_cmd ;;
install) take_lock; install ;;
*)
    echo "usage: $0 {start|stop|status|env|install}" >&2
    exit 2
    ;;
esac
