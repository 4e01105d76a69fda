#!/bin/sh
# The sample's migration tool (what `envctl migrate` runs): applies each
# migrations/*.sql once, in order, to the worktree's own database
# (DATABASE_URL, given by envctl), recording it in schema_migrations.
set -eu
q() { psql "$DATABASE_URL" -X -v ON_ERROR_STOP=1 -q "$@"; }
q -c "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY)"
for f in migrations/*.sql; do
    name=$(basename "$f")
    if [ -z "$(q -tA -c "SELECT 1 FROM schema_migrations WHERE name = '$name'")" ]; then
        q -1 -f "$f" -c "INSERT INTO schema_migrations VALUES ('$name')"
        echo "applied $name"
    fi
done
