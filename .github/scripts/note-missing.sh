#!/bin/sh
# After a platform job's suite step, whatever happened: if no results file exists, write a
# note saying why, so the merged matrix shows the platform as "no results: <why>" instead of
# leaving it out.
#
#     sh .github/scripts/note-missing.sh LABEL STAGE REASON
set -u
label=$1 stage=$2 reason=$3
mkdir -p results
for found in results/anonmap-*.json results/missing-*.json; do
    [ -e "$found" ] && exit 0
done
printf '{"schema": "anonmap-missing/1", "label": "%s", "stage": "%s", "reason": "%s", "log": ""}\n' \
    "$label" "$stage" "$reason" >"results/missing-$label.json"
