#!/bin/sh
# Run the suite inside a BSD or illumos VM and always exit 0, so that the VM action copies the
# results back: vmactions skips its copy-back when the run script fails (index.js, "7.
# Copyback" comes after the rethrow; vmactions/freebsd-vm#130). How the suite went is kept in
# results/suite-status, and the job fails on it in a later host step (suite-status.sh).
#
#     sh .github/scripts/vm-suite.sh LABEL
#
# Each system's Python comes from its own packages; the names are cited where they are used.
# A package repository that fails for a while (FreeBSD's broke CI four times in 2026) is
# retried: each install gets up to VM_SUITE_TRIES tries (3), the catalogue refreshed before
# each retry, VM_SUITE_BACKOFF seconds apart ("20 60"), all within VM_SUITE_BUDGET seconds
# (900): past it a try is stopped. Only then is a failed install, or a missing interpreter,
# written as results/missing-LABEL.json, which the merged matrix shows as the platform's
# column ("no results: ..."). The variables are there for the selftests.
set -u
label=$1
here=$(dirname "$0")
mkdir -p results
log=results/vm-suite.log
: >"$log"
tries=${VM_SUITE_TRIES:-3}
backoff=${VM_SUITE_BACKOFF:-20 60}
budget=${VM_SUITE_BUDGET:-900}

missing() { # stage reason: the note (written by note-missing.sh's JSON writer), then stop
    sh "$here/note-missing.sh" "$label" "$1" "$2" "$log"
    echo 1 >results/suite-status
    rm -rf .tox
    exit 0
}

now() { # seconds since the epoch: POSIX awk (srand() returns the previous seed, the time)
    awk 'BEGIN { srand(); print srand() }'
}
started=$(now)

within() { # SECONDS COMMAND...: run COMMAND, stopped (TERM) after SECONDS
    limit=$1
    shift
    "$@" &
    pid=$!
    (
        trap 'kill -TERM "$nap" 2>/dev/null; exit 0' TERM
        sleep "$limit" &
        nap=$!
        wait "$nap" && kill -TERM "$pid" 2>/dev/null
    ) >/dev/null 2>&1 &
    watchdog=$!
    wait "$pid"
    code=$?
    kill -TERM "$watchdog" 2>/dev/null
    return "$code"
}

retried() { # REFRESH COMMAND...: COMMAND with up to $tries tries, the function REFRESH before each retry
    refresh=$1
    shift
    try=1
    delays=$backoff
    while :; do
        left=$((budget - ($(now) - started)))
        [ "$left" -gt 0 ] || {
            echo "vm-suite.sh: the install budget of ${budget}s is spent" >&2
            return 1
        }
        echo "vm-suite.sh: try $try of $tries (${left}s of the budget left): $*" >&2
        within "$left" "$@" && return 0
        [ "$try" -lt "$tries" ] || return 1
        delay=${delays%% *}
        delays=${delays#"$delay"}
        delays=${delays# }
        [ -n "$delay" ] || delay=60
        [ $((budget - ($(now) - started))) -gt "$delay" ] || {
            echo "vm-suite.sh: no budget left to wait ${delay}s for another try" >&2
            return 1
        }
        sleep "$delay"
        try=$((try + 1))
        echo "vm-suite.sh: before try $try: $refresh" >&2
        within $((budget - ($(now) - started))) "$refresh" ||
            echo "vm-suite.sh: the refresh failed; trying anyway" >&2
    done
}

pip_package_prefix() { # the pyXY- prefix of this interpreter's module packages
    "$1" -c 'import sys; print("py%d%d" % sys.version_info[:2])'
}

# What each system's package tool refreshes before a retry. pkg(8): `pkg update -f` fetches
# the catalogue anew even when it looks current (pkg-update(8)). IPS: `pkg refresh --full`
# retrieves all publishers' metadata anew (pkg(1)). OpenBSD's and NetBSD's pkg_add keep no
# catalogue: each run reads the mirror (installurl(5), PKG_PATH), so a retry is the refresh.
# shellcheck disable=SC2329 # called by name, through retried
refresh_pkg() { pkg update -f; }
# shellcheck disable=SC2329 # called by name, through retried
refresh_ips() { pkg refresh --full; }
# shellcheck disable=SC2329 # called by name, through retried
refresh_none() { :; }

# shellcheck disable=SC2329 # called by name, through retried
ips_install() { # pkg(1) exits 4 when there is nothing to do (pkgdefs.py EXIT_NOP)
    pkg install "$@"
    code=$?
    [ "$code" -eq 0 ] || [ "$code" -eq 4 ]
}

install_python() {
    case $(uname -s) in
    FreeBSD | DragonFly)
        # lang/python3 is the metaport of the ports' default Python (PYTHON_VERSION=
        # python${PYTHON3_DEFAULT}); module packages carry its pyXY- prefix (Mk/Uses/python.mk
        # PYTHON_PKGNAMEPREFIX). IGNORE_OSVERSION: one package repository serves every 14.x
        # point release, and pkg refuses packages built for a newer one without it
        # (freebsd/pkg libpkg/utils.c is_valid_os_version(), pkg.conf(5)).
        export IGNORE_OSVERSION=yes ASSUME_ALWAYS_YES=yes
        python=python3
        retried refresh_pkg pkg install -y python3 &&
            retried refresh_pkg pkg install -y "$(pip_package_prefix python3)-pip"
        ;;
    OpenBSD)
        # One Python 3 port, lang/python/3 (PKGNAME-main = python-${FULL_VERSION}, so the
        # stem is python%3); its modules are py3-* (python.port.mk MODPY_PY_PREFIX).
        python=python3
        retried refresh_none pkg_add -I python%3 py3-pip
        ;;
    NetBSD)
        # pkgsrc lang/python312 (PKGNAME python312-*, altinstall: python3.12 and no python3
        # link); modules py312-* (pyversion.mk PYPKGPREFIX). The vmactions image has no pkgin,
        # but sets PKG_PATH for pkg_add (anyvm-org/netbsd-builder VM_INSTALL_CMD).
        python=python3.12
        retried refresh_none /usr/sbin/pkg_add python312 py312-pip
        ;;
    SunOS)
        # OmniOS ships Python in core (runtime/python-313, /usr/bin/python3 by the python3
        # mediator: omnios-build build/python313); pip is library/python-3/pip-313 and gcc
        # developer/gcc14.
        python=python3
        # /tmp is swap-backed tmpfs on OmniOS; /var/tmp is on disk.
        export TMPDIR=/var/tmp
        retried refresh_ips ips_install library/python-3/pip-313 developer/gcc14
        ;;
    *)
        echo "vm-suite.sh: no install recipe for $(uname -s)" >&2
        return 1
        ;;
    esac
}

python=""
install_python >>"$log" 2>&1 || missing install "installing Python from the system's packages failed"
venv="${TMPDIR:-/tmp}/anonmap-venv"
# These Pythons are built without ensurepip (FreeBSD and pkgsrc --without-ensurepip, OmniOS
# --without-ensurepip, OpenBSD --with-ensurepip=no); then the system's pip serves the venv.
{ "$python" -m venv "$venv" || "$python" -m venv --without-pip --system-site-packages "$venv"; } \
    >>"$log" 2>&1 || missing install "$python -m venv failed"
# tox's version is the one in constraints.txt, as on the hosted runners; tox.ini passes the same
# file to every environment (PIP_CONSTRAINT).
retried refresh_none "$venv/bin/python" -m pip install -c "$here/../../constraints.txt" tox >>"$log" 2>&1 ||
    missing install "pip install tox failed"

status=0
"$venv/bin/python" -m tox -- --anonmap-label="$label" || status=$?
# The observer beside the suite (tools/observe_here.py): raw system calls where abi.h knows the
# system, the C library's own functions everywhere; a deviation it finds fails the job too.
"$venv/bin/python" -m tox -e observed -- --label "$label" --on vm || [ "$status" -ne 0 ] || status=1
echo "$status" >results/suite-status
# The suite ran: when it wrote no results, the note says so, with tox's status (never "did not
# boot", which the host step would otherwise have to guess).
sh "$here/note-missing.sh" "$label" suite "the suite wrote no results" "$log"
# Everything but .git comes back to the host: leave the tox environments behind.
rm -rf .tox
exit 0
