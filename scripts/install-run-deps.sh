#!/usr/bin/env bash
# Make sure the system packages the example service (`make run`) needs are present:
# unixODBC (the driver manager pyodbc loads, and odbcinst) and SQLite's ODBC driver,
# registered as "SQLite3". Nothing else: no database server, no compiler (pyodbc
# installs from a binary wheel). The test bed needs more: scripts/install-system-deps.sh.
#
# Debian/Ubuntu (apt) only. As root it installs what is missing; otherwise it prints
# the one command to run and exits 1.
set -euo pipefail

DRIVER_NAME="SQLite3"
PACKAGES=(unixodbc odbcinst libsqliteodbc)

find_sqlite_driver() {
    local d
    for d in /usr/lib/*/odbc /usr/lib/odbc /usr/lib64 /usr/local/lib /usr/local/lib/odbc; do
        if [[ -e $d/libsqlite3odbc.so ]]; then
            printf '%s\n' "$d/libsqlite3odbc.so"
            return 0
        fi
    done
    return 1
}

have_libodbc() {
    ldconfig -p 2>/dev/null | grep -q 'libodbc\.so\.2 '
}

all_present() {
    command -v odbcinst >/dev/null 2>&1 && have_libodbc && find_sqlite_driver >/dev/null
}

if ! all_present; then
    if ((EUID != 0)); then
        echo "install-run-deps: unixODBC or SQLite's ODBC driver is missing; run:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-run-deps: no apt-get here; install unixODBC and SQLite's ODBC driver (sqliteodbc) by hand" >&2
        exit 1
    fi
    echo "install-run-deps: installing ${PACKAGES[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
    all_present || { echo "install-run-deps: still missing after apt-get install" >&2; exit 1; }
fi

# Debian's libsqliteodbc registers "SQLite3" itself; register it when something removed it.
if ! odbcinst -q -d -n "$DRIVER_NAME" >/dev/null 2>&1; then
    lib=$(find_sqlite_driver)
    entry=$(printf '[%s]\nDescription = SQLite3 ODBC Driver\nDriver = %s\nSetup = %s\n' \
        "$DRIVER_NAME" "$lib" "$lib")
    if ((EUID != 0)); then
        echo "install-run-deps: ODBC driver \"$DRIVER_NAME\" is not registered; run:" >&2
        echo "  printf '$(printf '%s' "$entry" | sed -z 's/\n/\\n/g')\\n' | sudo odbcinst -i -d -r" >&2
        exit 1
    fi
    printf '%s\n' "$entry" | odbcinst -i -d -r >/dev/null
    echo "install-run-deps: registered ODBC driver [$DRIVER_NAME] -> $lib"
fi
echo "run deps OK: unixODBC $(odbcinst --version 2>/dev/null | awk '{print $NF}'), ODBC driver \"$DRIVER_NAME\" ($(find_sqlite_driver))"
