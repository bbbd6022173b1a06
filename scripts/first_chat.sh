#!/bin/bash
# Time from `make demo` to the first answered chat message (issue 14's "first chat").
# Removes data/, bot/models/ and the Rasa cache of this checkout first, so run it on a
# scratch clone. Usage: scripts/first_chat.sh   (Ctrl-C stops the demo afterwards)
set -u
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n 2,4p "$0"; exit 0
fi
cd "$(dirname "$0")/.." || exit 1
rm -rf bot/models data .rasa/cache
log=$(mktemp)
t0=$(date +%s)
echo "make demo started $(date +%T), log $log"
make demo > "$log" 2>&1 &
while true; do
  sid=$(curl -s -m 5 -X POST http://127.0.0.1:8000/api/session 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])' 2>/dev/null)
  if [ -n "$sid" ]; then
    reply=$(curl -s -m 60 http://127.0.0.1:5005/webhooks/rest/webhook -H 'Content-Type: application/json' \
      -d "{\"sender\": \"$sid\", \"message\": \"hi\"}")
    if echo "$reply" | grep -q '"text"'; then
      echo "first reply $(date +%T), $(( $(date +%s) - t0 )) s after make demo started"
      break
    fi
  fi
  sleep 3
  if [ $(( $(date +%s) - t0 )) -gt 1800 ]; then echo "no reply after 30 min"; break; fi
done
grep -n "\[install\] done\|demo shop ready\|indexes built\|Your Rasa model\|run_all" "$log" | head
wait
