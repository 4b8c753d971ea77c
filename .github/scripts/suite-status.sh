#!/bin/sh
# The last step of a VM job: fail the job when the suite in the VM failed or never ran.
# vm-suite.sh always exits 0 so that its results are copied back; this says how it went.
set -u
if [ ! -f results/suite-status ]; then
    echo "no results/suite-status: the suite did not run in the VM (see the VM step's log)" >&2
    exit 1
fi
status=$(cat results/suite-status)
[ "$status" = 0 ] || echo "the suite in the VM exited with status $status" >&2
exit "$status"
