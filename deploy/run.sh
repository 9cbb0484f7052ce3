#!/usr/bin/env bash
# Serve the colorcore explorer behind nginx on one machine, with sign-in, under a sub-path.
#
#   deploy/run.sh --port 8080 --base-path /colorcore --htpasswd /etc/colorcore.htpasswd [--replicas 2]
#                 [--host 127.0.0.1]
#
# Starts N Streamlit processes (streamlit_app.py: the pages and the /api routes) on free local ports of
# 127.0.0.1, and nginx (Debian's: apt-get install nginx) on HOST:PORT in front of them with HTTP basic
# sign-in and session affinity, prints the URL, and stops every process it started on SIGTERM or Ctrl-C.
# TLS stays with the lab's own web server: see README "Hosting the explorer for the lab".
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: deploy/run.sh --port PORT --base-path /PATH --htpasswd FILE [--replicas N] [--host ADDR]" >&2; }
fail() { echo "deploy/run.sh: error: $*" >&2; exit 2; }

PORT="" BASE="" HTPASSWD="" REPLICAS=1 HOST=127.0.0.1
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="${2:-}"; shift 2 ;;
    --base-path) BASE="${2:-}"; shift 2 ;;
    --htpasswd) HTPASSWD="${2:-}"; shift 2 ;;
    --replicas) REPLICAS="${2:-}"; shift 2 ;;
    --host) HOST="${2:-}"; shift 2 ;;
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
free_port() { python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
CORES=$(nproc)
THREADS=$(( CORES / REPLICAS )); [ "$THREADS" -ge 1 ] || THREADS=1
REPLICA_ARGS=()
for i in $(seq 1 "$REPLICAS"); do
  rport=$(free_port)
  COLORCORE_THREADS=$THREADS python -m streamlit run streamlit_app.py --server.address 127.0.0.1 \
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
  chmod 755 "$RUN_DIR"
fi
python deploy/render_nginx.py --base-path "$BASE" --htpasswd "$HTPASSWD" "${REPLICA_ARGS[@]}" \
  --out-dir "$RUN_DIR" --standalone "$PORT" --host "$HOST" --prefix "$RUN_DIR" ${USER_LINE:+--user "$USER_LINE"}
nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -t -q || fail "nginx rejected the configuration ($RUN_DIR/nginx.conf)"
nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -g "daemon off;" &
PIDS+=($!)
echo "nginx: pid $!, http://$HOST:$PORT$BASE/"

for arg in "${REPLICA_ARGS[@]}"; do
  [ "$arg" = --replica ] && continue
  for _ in $(seq 1 240); do  # healthy once its checkpoints are loaded (warm start); 120 s at most
    curl -sf "http://$arg$BASE/_stcore/health" >/dev/null 2>&1 && break
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || fail "a process stopped during start-up (logs in $RUN_DIR)"; done
    sleep 0.5
  done
done
echo "colorcore is serving at http://$HOST:$PORT$BASE/ (sign-in required; API: http://$HOST:$PORT$BASE/api/checkpoints)"
wait -n "${PIDS[@]}" || true
echo "deploy/run.sh: a process stopped; stopping the others" >&2
