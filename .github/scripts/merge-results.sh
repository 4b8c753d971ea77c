#!/bin/sh
# The report job's merge: run COMMAND (anonmap merge and its options) on every platform's
# results file and missing-results note under DIR, given after COMMAND's own arguments.
#
#     sh .github/scripts/merge-results.sh DIR COMMAND...
#
# The files are found at any depth, because download-artifact's layout depends on how many
# artifacts matched: one is extracted straight into DIR, several into DIR/<artifact name>/
# each, and none leaves no DIR at all (actions/download-artifact src/download-artifact.ts
# @3e5f45b2, v8.0.1: `isSingleArtifactDownload || inputs.mergeMultiple || artifacts.length
# === 1 ? resolvedPath : path.join(resolvedPath, artifact.name)`; merge-multiple is no way
# out: two Linux rows both write anonmap-linux-x86_64.json).
#
# With nothing found, `anonmap merge` still writes the matrix, every expected platform a red
# column, from a note that says the download found nothing (it takes at least one input).
#
# Exit status: COMMAND's (anonmap merge: 5 when an expected platform has no results).
set -u
dir=$1
shift
here=$(cd "$(dirname "$0")" && pwd) || exit 3
found=$(find "$dir" -type f \( -name 'anonmap-*.json' -o -name 'missing-*.json' \) 2>/dev/null | LC_ALL=C sort)
# One path a line: the names are the jobs' own (anonmap-<os>-<arch>.json, missing-<platform>.json).
count=0
while IFS= read -r path; do
    [ -n "$path" ] || continue
    set -- "$@" "$path"
    count=$((count + 1))
done <<EOF
$found
EOF
echo "merge-results.sh: $count file(s) under $dir" >&2
if [ "$count" -eq 0 ]; then
    none=$(mktemp -d)
    trap 'rm -rf "$none"' EXIT
    (
        cd "$none" &&
            sh "$here/note-missing.sh" download download \
                "the report job found no results file and no note under $dir: no platform job uploaded an artifact"
    ) || exit 3
    set -- "$@" "$none"/results/missing-*.json
fi
"$@"
