#!/bin/sh
# Run the suite inside a BSD or illumos VM and always exit 0, so that the VM action copies the
# results back: vmactions skips its copy-back when the run script fails (index.js, "7.
# Copyback" comes after the rethrow; vmactions/freebsd-vm#130). How the suite went is kept in
# results/suite-status, and the job fails on it in a later host step (suite-status.sh).
#
#     sh .github/scripts/vm-suite.sh LABEL
#
# Each system's Python comes from its own packages; the names are cited where they are used.
# A failed install or a missing interpreter is written as results/missing-LABEL.json, which the
# merged matrix shows as the platform's column ("no results: ...").
set -u
label=$1
mkdir -p results
log=results/vm-suite.log
: >"$log"

missing() { # stage reason
    printf '{"schema": "anonmap-missing/1", "label": "%s", "stage": "%s", "reason": "%s", "log": "%s"}\n' \
        "$label" "$1" "$2" "$log" >"results/missing-$label.json"
    echo 1 >results/suite-status
    rm -rf .tox
    exit 0
}

pip_package_prefix() { # the pyXY- prefix of this interpreter's module packages
    "$1" -c 'import sys; print("py%d%d" % sys.version_info[:2])'
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
        pkg install -y python3 && pkg install -y "$(pip_package_prefix python3)-pip" && python=python3
        ;;
    OpenBSD)
        # One Python 3 port, lang/python/3 (PKGNAME-main = python-${FULL_VERSION}, so the
        # stem is python%3); its modules are py3-* (python.port.mk MODPY_PY_PREFIX).
        pkg_add -I python%3 py3-pip && python=python3
        ;;
    NetBSD)
        # pkgsrc lang/python312 (PKGNAME python312-*, altinstall: python3.12 and no python3
        # link); modules py312-* (pyversion.mk PYPKGPREFIX). The vmactions image has no pkgin,
        # but sets PKG_PATH for pkg_add (anyvm-org/netbsd-builder VM_INSTALL_CMD).
        /usr/sbin/pkg_add python312 py312-pip && python=python3.12
        ;;
    SunOS)
        # OmniOS ships Python in core (runtime/python-313, /usr/bin/python3 by the python3
        # mediator: omnios-build build/python313); pip is library/python-3/pip-313 and gcc
        # developer/gcc14. pkg(1) exits 4 when there is nothing to do (pkgdefs.py EXIT_NOP).
        pkg install library/python-3/pip-313 developer/gcc14
        status=$?
        [ "$status" -eq 0 ] || [ "$status" -eq 4 ] || return "$status"
        python=python3
        # /tmp is swap-backed tmpfs on OmniOS; /var/tmp is on disk.
        export TMPDIR=/var/tmp
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
"$venv/bin/python" -m pip install tox >>"$log" 2>&1 || missing install "pip install tox failed"

status=0
"$venv/bin/python" -m tox -- --anonmap-label="$label" || status=$?
echo "$status" >results/suite-status
# Everything but .git comes back to the host: leave the tox environments behind.
rm -rf .tox
exit 0
