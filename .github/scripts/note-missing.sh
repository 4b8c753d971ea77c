#!/bin/sh
# After a platform job's suite step, whatever happened: if no results file exists, write a
# note saying why, so the merged matrix shows the platform as "no results: <why>" instead of
# leaving it out. vm-suite.sh writes its notes (install, suite) through this script too.
#
#     sh .github/scripts/note-missing.sh LABEL STAGE REASON [LOG]
#
# STAGE and REASON are what the caller knows when it cannot tell more. When
# results/suite-status exists the suite did run (its step writes the status after tox
# returns): then the note says so, with the status, whatever the caller guessed.
#
# The note is JSON written by a JSON writer (Python's json module), so a reason holding a
# quote, a backslash or a newline stays valid JSON. Where no Python runs (its install failed
# in a VM or in the Alpine container) the text is escaped here instead, to the same effect.
set -u
label=$1 stage=$2 reason=$3 log=${4:-}
mkdir -p results
for found in results/anonmap-*.json results/missing-*.json; do
    [ -e "$found" ] && exit 0
done
if [ -f results/suite-status ]; then
    status=$(tr -cd '0-9' <results/suite-status)
    stage=suite
    reason="the suite ran (tox exited with status ${status:-unknown}) but wrote no results: tox or pytest stopped before the results were written; see this job's log"
fi
note="results/missing-$label.json"

json_string() { # TEXT: a JSON string without Python; control characters become spaces
    printf '"%s"' "$(printf '%s' "$1" | tr '\t\n\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# shellcheck disable=SC2016 # the Python program is single-quoted on purpose
writer='import json, sys
label, stage, reason, log, path = sys.argv[1:]
note = {"schema": "anonmap-missing/1", "label": label, "stage": stage, "reason": reason, "log": log}
with open(path, "w") as out:
    out.write(json.dumps(note) + "\n")
'
for python in python3 python; do
    if command -v "$python" >/dev/null 2>&1 &&
        "$python" -c "$writer" "$label" "$stage" "$reason" "$log" "$note.tmp" 2>/dev/null; then
        mv "$note.tmp" "$note"
        exit 0
    fi
done
rm -f "$note.tmp"
printf '{"schema": "anonmap-missing/1", "label": %s, "stage": %s, "reason": %s, "log": %s}\n' \
    "$(json_string "$label")" "$(json_string "$stage")" "$(json_string "$reason")" "$(json_string "$log")" >"$note"
