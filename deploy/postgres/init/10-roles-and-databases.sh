#!/usr/bin/env bash
# Creates the two login roles and the application database. The postgres image runs this once,
# when the data volume is empty (/docker-entrypoint-initdb.d); it never runs again, so changing a
# password later is an ALTER ROLE (docs/operations.md, "Rotating secrets").
#
#   yuanzhu   owns the database `yuanzhu` (the app; migrated by `yuanzhu db upgrade`)
#   temporal  may create databases; temporal-admin-tools creates and migrates `temporal` and
#             `temporal_visibility` with it
#
# The passwords arrive as environment variables and reach SQL as psql variables (:'name'), which
# psql quotes, so no password is ever spliced into SQL text or shown on a command line.
set -Eeuo pipefail

: "${APP_DB_PASSWORD:?set APP_DB_PASSWORD}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"

psql --no-psqlrc -v ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set=app_password="$APP_DB_PASSWORD" \
    --set=temporal_password="$TEMPORAL_DB_PASSWORD" <<'EOSQL'
CREATE ROLE yuanzhu LOGIN PASSWORD :'app_password';
CREATE DATABASE yuanzhu OWNER yuanzhu ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE yuanzhu FROM PUBLIC;

CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
EOSQL
