#!/bin/sh
# Run by nginx's image before it starts (/docker-entrypoint.d/): writes the split of
# /api/v1/me/notifications for NOTIFICATIONS_SHARE (0-100). split_clients refuses "0%", so the two
# ends are written as one backend. Keyed on $request_id: each request is drawn on its own.
set -eu
share="${NOTIFICATIONS_SHARE:-100}"
out="${SHARE_CONF:-/etc/nginx/conf.d/share.conf.inc}"
case "$share" in
  0) split='* web:8000;' ;;
  100) split='* notifications:8000;' ;;
  [1-9] | [1-9][0-9]) split="${share}% notifications:8000; * web:8000;" ;;
  *) echo "NOTIFICATIONS_SHARE must be 0 to 100, not '$share'" >&2; exit 1 ;;
esac
# /metrics (as tools/gateway.py renders it): with METRICS_TOKEN set (METRICS_TOKEN_SET=1) a remote
# client with an Authorization header is passed, the monolith checks the token; without one, only this
# machine, whatever the headers (behind the gateway the monolith sees every client as loopback).
if [ -n "${METRICS_TOKEN_SET:-}" ]; then credentials='$http_authorization'; else credentials=''; fi
{
  printf 'split_clients "${request_id}" $notifications_backend {\n    %s\n}\n' "$split"
  printf 'map "$gateway_loopback_client:%s" $gateway_metrics_refused {\n    default 0;\n    "0:" 1;\n}\n' "$credentials"
} >"$out"
echo "gateway: ${share}% of /api/v1/me/notifications to the notifications service"
