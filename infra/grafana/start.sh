#!/bin/sh
# Grafana's entrypoint in docker-compose.yml: refuses to start without an admin password from the environment
# (no admin/admin), then runs the image's own entrypoint.
if [ -z "$GF_SECURITY_ADMIN_PASSWORD" ] || [ "$GF_SECURITY_ADMIN_PASSWORD" = "admin" ]; then
  echo "Grafana will not start: set GRAFANA_ADMIN_PASSWORD (not 'admin') in the environment of docker compose." >&2
  exit 78
fi
exec /run.sh "$@"
