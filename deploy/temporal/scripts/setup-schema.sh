#!/bin/sh
# One-shot (service temporal-admin-tools): create and migrate Temporal's two databases on the
# shared PostgreSQL with temporal-sql-tool. Safe to run on every `docker compose up`:
# create-database ignores a database that exists, setup-schema -v 0.0 leaves a migrated schema
# alone, and update-schema applies only the versions not applied yet. Upgrading the
# temporalio/server tag therefore means: bump the admin-tools tag with it, and this step
# migrates the schema before the new server starts.
set -eu

: "${SQL_PASSWORD:?set SQL_PASSWORD (the temporal role password)}"
PG_HOST="${PG_HOST:-postgresql}"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-temporal}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
    # The password comes from SQL_PASSWORD in the environment, never from the command line.
    temporal-sql-tool --plugin postgres12 --endpoint "$PG_HOST" --port "$PG_PORT" \
        --user "$PG_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
    db="${pair%%:*}"
    schema="${pair#*:}"
    echo "temporal schema: database $db"
    sql_tool --db "$db" create-database
    sql_tool --db "$db" setup-schema -v 0.0
    sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo "temporal schema: up to date"
