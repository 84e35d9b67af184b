#!/usr/bin/env bash
# Install what the tests need from Debian: the real servers they start privately
# (tests/support/servers.py: Dovecot IMAP and a PostgreSQL server), faketime (the suite is
# run again with the clock shifted) and Chromium with its WebDriver (the web face's
# browser tests, tests/scenarios/test_browser.py).  Idempotent; no apt calls when all are present.
# Never starts the system services.
set -euo pipefail

have_dovecot() {
    [ -x /usr/sbin/dovecot ] && [ -x /usr/bin/doveadm ]
}

have_postgres() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            return 0
        fi
    done
    return 1
}

have_faketime() {
    command -v faketime >/dev/null 2>&1
}

have_cc() {  # builds the small preload of scripts/shifted-clock.sh
    command -v cc >/dev/null 2>&1
}

have_curl() {  # the docs' API examples (tests/test_docs.py)
    command -v curl >/dev/null 2>&1
}

have_chromium() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}

missing=()
have_dovecot || missing+=(dovecot)
have_postgres || missing+=(postgresql)
have_faketime || missing+=(faketime)
have_cc || missing+=(gcc)
have_chromium || missing+=(chromium)
have_curl || missing+=(curl)

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-test-deps: dovecot, postgresql, faketime, cc, chromium and curl already installed, nothing to do"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-test-deps: missing ${missing[*]}; need root or sudo to install" >&2
    exit 1
fi

# Keep the packages from starting (or restarting) system services.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# created by ticketbot scripts/install-test-deps.sh\nexit 101\n' \
        | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    created_policy=1
fi

apt_env=(env DEBIAN_FRONTEND=noninteractive)
"${SUDO[@]}" "${apt_env[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends \
    dovecot-imapd postgresql faketime gcc libc6-dev chromium chromium-driver fonts-dejavu-core curl >/dev/null

have_dovecot || { echo "install-test-deps: dovecot still missing after install" >&2; exit 1; }
have_postgres || { echo "install-test-deps: postgresql still missing after install" >&2; exit 1; }
have_faketime || { echo "install-test-deps: faketime still missing after install" >&2; exit 1; }
have_cc || { echo "install-test-deps: a C compiler is still missing after install" >&2; exit 1; }
have_chromium || { echo "install-test-deps: chromium or chromedriver still missing after install" >&2; exit 1; }
echo "install-test-deps: installed dovecot-imapd, postgresql, faketime and chromium (was missing: ${missing[*]}); services not started"
