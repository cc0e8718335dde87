#!/usr/bin/env bash
# README stays true: its configuration tables equal the services' own tables
# (--config-markdown), the sections a new user needs are there, and every
# repository path it names under tools/, schemas/, features/, models/ exists.
# timeout: 60
. "$(dirname "$0")/../../../tests/lib.sh"
cd "$SS_ROOT"

check "README configuration tables match the services (tools/demo/readme-config)" \
  env BUILD="$SS_BUILD" tools/demo/readme-config --check
for h in "## Two commands" "## What the demo shows" "## Architecture" '```mermaid' "### Topics and schemas" \
         "## HTTP API" "## Configuration" "## Running against a real Kafka" "## Training and promotion" \
         "## Deployment" "## Troubleshooting"; do
  check "README has: $h" grep -qF -- "$h" README.md
done
missing=""
# (not URL paths such as /v1/features/card/...)
for p in $(grep -oE '(^|[^/A-Za-z0-9_.])(tools|schemas|features|models)/[A-Za-z0-9_./-]+' README.md |
           sed -E 's/^[^a-z]//; s/[.,)]*$//' | sort -u); do
  case "$p" in *'<'*|*'*'*) continue ;; esac
  [ -e "$p" ] || missing="$missing $p"
done
check "every tools/schemas/features/models path in README exists${missing:+ (missing:$missing)}" test -z "$missing"
for t in events.ingest events.raw events.dlq features.enriched scores labels monitoring.drift; do
  check "README documents topic $t" grep -q "\`$t\`" README.md
done
ss_done
