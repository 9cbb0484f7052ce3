#!/usr/bin/env bash
# Serve the colorcore explorer behind nginx on one machine, with sign-in, under a sub-path.
#
#   deploy/run.sh --port 8080 --base-path /colorcore --htpasswd /etc/colorcore.htpasswd [--replicas 2]
#                 [--host 127.0.0.1] [--user NAME]
#
# Starts N Streamlit processes (streamlit_app.py: the pages and the /api routes) on free local ports of
# 127.0.0.1, and nginx (Debian's: apt-get install nginx) on HOST:PORT in front of them with HTTP basic
# sign-in and session affinity, waits until every process is healthy (its checkpoints loaded), prints the
# URL, and stops every process it started on SIGTERM or Ctrl-C.
# Started as root, it runs the Streamlit processes (and so every decoder and training job) as the
# unprivileged user NAME (default nobody), with HOME in the run folder and the user checkpoints in
# $COLORCORE_USER_CHECKPOINTS (default /var/lib/colorcore/checkpoints, created for that user); it first
# checks that the user can run Python with the app, read the checkout and the catalog and write that
# folder (deploy/check_access.py), and says what to fix if not. nginx's workers run as nobody.
# TLS stays with the lab's own web server: see README "Hosting the explorer for the lab".
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: deploy/run.sh --port PORT --base-path /PATH --htpasswd FILE [--replicas N] [--host ADDR] [--user NAME]" >&2; }
fail() { echo "deploy/run.sh: error: $*" >&2; exit 2; }

PORT="" BASE="" HTPASSWD="" REPLICAS=1 HOST=127.0.0.1 RUN_USER=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="${2:-}"; shift 2 ;;
    --base-path) BASE="${2:-}"; shift 2 ;;
    --htpasswd) HTPASSWD="${2:-}"; shift 2 ;;
    --replicas) REPLICAS="${2:-}"; shift 2 ;;
    --host) HOST="${2:-}"; shift 2 ;;
    --user) RUN_USER="${2:-}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage; fail "unknown option $1" ;;
  esac
done
[[ "$PORT" =~ ^[0-9]+$ ]] || { usage; fail "--port must be a number"; }
[[ "$REPLICAS" =~ ^[1-9][0-9]?$ ]] || fail "--replicas must be a number from 1 to 99"
[ -n "$BASE" ] || fail "--base-path is required, e.g. /colorcore"
[ -f "$HTPASSWD" ] || fail "--htpasswd $HTPASSWD is not a file (make one: htpasswd -c FILE USER, or openssl passwd -apr1)"
command -v nginx >/dev/null || fail "nginx is not installed (Debian: apt-get install nginx)"
BASE="/${BASE#/}"; BASE="${BASE%/}"
if [ "$(id -u)" = 0 ]; then
  RUN_USER="${RUN_USER:-nobody}"
  id -u "$RUN_USER" >/dev/null 2>&1 || fail "--user $RUN_USER: no such user (make one: useradd --system colorcore)"
  [ "$(id -u "$RUN_USER")" != 0 ] || fail "--user $RUN_USER is root; name an unprivileged user"
  RUN_GROUP="$(id -gn "$RUN_USER")"
elif [ -n "$RUN_USER" ]; then
  fail "--user needs root (the processes run as $(id -un) already)"
fi
PYTHON="$(python -c 'import sys; print(sys.executable)')"  # the interpreter itself, not a shim of the caller's

RUN_DIR="$(mktemp -d -t colorcore-deploy.XXXXXX)"
PIDS=()
stop() {
  trap - TERM INT EXIT
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$RUN_DIR"
}
trap 'stop; exit 0' TERM INT
trap stop EXIT

# libgomp's idle threads spin-wait by default and take the CPU the other sessions' work needs (issue 11: every
# latency 27-65 % lower under load with PASSIVE); read once when torch loads, so set before the servers start.
# An admin's own setting wins.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
AS_USER=()  # the prefix that runs a command as the replicas' user (no capabilities, no setuid gains); setpriv execs it
if [ -n "$RUN_USER" ]; then
  AS_USER=(setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --init-groups --no-new-privs --inh-caps=-all --)
  chmod 755 "$RUN_DIR"
  install -d -o "$RUN_USER" -g "$RUN_GROUP" -m 700 "$RUN_DIR/home"
  export HOME="$RUN_DIR/home"
  export COLORCORE_USER_CHECKPOINTS="${COLORCORE_USER_CHECKPOINTS:-/var/lib/colorcore/checkpoints}"
  [ -d "$COLORCORE_USER_CHECKPOINTS" ] || install -d -o "$RUN_USER" -g "$RUN_GROUP" -m 750 "$COLORCORE_USER_CHECKPOINTS"
  denied="$("${AS_USER[@]}" "$PYTHON" deploy/check_access.py 2>&1)" || fail "the replicas' user $RUN_USER cannot serve colorcore:
$denied
Give $RUN_USER access (every folder above $PYTHON and the checkout searchable, e.g. chmod o+x on them; the user
checkpoints its own: chown -R $RUN_USER: $COLORCORE_USER_CHECKPOINTS), or name another user with --user."
  echo "replicas run as $RUN_USER; user checkpoints in $COLORCORE_USER_CHECKPOINTS"
fi
CORES=$(nproc)
THREADS=$(( CORES / REPLICAS )); [ "$THREADS" -ge 1 ] || THREADS=1
REPLICA_ARGS=()
for i in $(seq 1 "$REPLICAS"); do
  rport=$(free_port)
  COLORCORE_THREADS=$THREADS "${AS_USER[@]}" "$PYTHON" -m streamlit run streamlit_app.py --server.address 127.0.0.1 \
    --server.port "$rport" --server.baseUrlPath "${BASE#/}" --server.headless true \
    > "$RUN_DIR/replica-$i.log" 2>&1 &
  PIDS+=($!)
  REPLICA_ARGS+=(--replica "127.0.0.1:$rport")
  echo "replica $i: pid $!, 127.0.0.1:$rport, $THREADS torch thread(s), log $RUN_DIR/replica-$i.log"
done

USER_LINE=""
if [ "$(id -u)" = 0 ]; then  # workers run unprivileged; they read the password file and write temp files
  USER_LINE="nobody nogroup"
  install -m 640 -g nogroup "$HTPASSWD" "$RUN_DIR/htpasswd"
  HTPASSWD="$RUN_DIR/htpasswd"
fi
"$PYTHON" deploy/render_nginx.py --base-path "$BASE" --htpasswd "$HTPASSWD" "${REPLICA_ARGS[@]}" \
  --out-dir "$RUN_DIR" --standalone "$PORT" --host "$HOST" --prefix "$RUN_DIR" ${USER_LINE:+--user "$USER_LINE"}
nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -t -q || fail "nginx rejected the configuration ($RUN_DIR/nginx.conf)"
nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -g "daemon off;" &
PIDS+=($!)
echo "nginx: pid $!, http://$HOST:$PORT$BASE/"

for arg in "${REPLICA_ARGS[@]}"; do
  [ "$arg" = --replica ] && continue
  health=""
  for _ in $(seq 1 240); do  # healthy once its checkpoints are loaded (warm start); 120 s at most
    health="$(curl -s -w ' %{http_code}' "http://$arg$BASE/_stcore/health" 2>/dev/null || true)"
    [ "${health##* }" = 200 ] && break
    case "$health" in "cannot load"*) fail "the replica on $arg is not healthy: ${health% *}" ;; esac
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || fail "a process stopped during start-up: $(tail -n 5 "$RUN_DIR"/*.log)"
    done
    sleep 0.5
  done
  [ "${health##* }" = 200 ] || fail "the replica on $arg is not healthy after 120 s: ${health% *}"
done
echo "colorcore is serving at http://$HOST:$PORT$BASE/ (sign-in required; API: http://$HOST:$PORT$BASE/api/checkpoints)"
wait -n "${PIDS[@]}" || true
echo "deploy/run.sh: a process stopped; stopping the others" >&2
