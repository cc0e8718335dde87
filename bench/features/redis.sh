# Sourced by the features benchmarks: a scratch redis-server on a free port.
# Sets tmp (a scratch directory) and port; both go away on exit.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ss-bench-features.XXXXXX")
port=$(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/../../tools/demo/free_port.py")
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
