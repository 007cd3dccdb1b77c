#!/usr/bin/env bash
# Make sure the system packages the informix-aio test bed needs are present:
#   unixODBC (odbcinst + headers), psqlODBC, SQLite3 ODBC, MariaDB ODBC and
#   the PostgreSQL and MariaDB server binaries (the tests start their own private
#   servers; a running system PostgreSQL or MariaDB is neither needed nor used).
# Then make sure the drivers are registered as "PostgreSQL Unicode",
# "SQLite3" and "MariaDB Unicode" (from odbc/odbcinst.testbed.ini).
#
# Runs on every `make test`: when nothing is missing it only stats a few
# files, runs `odbcinst -q` three times and prints one line.
# Debian/Ubuntu (apt) only. As non-root it never installs anything: it
# prints the exact command to run and exits 1.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESTBED_INI="$REPO_ROOT/odbc/odbcinst.testbed.ini"
DRIVER_NAMES=("PostgreSQL Unicode" "SQLite3" "MariaDB Unicode")

# Directories unixODBC drivers live in (Debian multiarch first).
odbc_lib_dirs() {
    local d
    for d in /usr/lib/*/odbc /usr/lib/odbc /usr/lib64 /usr/local/lib /usr/local/lib/odbc; do
        [[ -d $d ]] && printf '%s\n' "$d"
    done
    return 0
}

# find_driver_lib NAME.so -> prints the absolute path of the first match.
find_driver_lib() {
    local d
    while IFS= read -r d; do
        if [[ -e $d/$1 ]]; then
            printf '%s\n' "$d/$1"
            return 0
        fi
    done < <(odbc_lib_dirs)
    return 1
}

find_initdb() {
    local f
    # Newest version first (sort -V on the version directory).
    for f in $(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -rV); do
        if [[ -x $f ]]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
    command -v initdb 2>/dev/null
}

missing_pkgs=()
need() { missing_pkgs+=("$@"); }

check_packages() {
    missing_pkgs=()
    # Debian 12: the odbcinst binary is its own package; unixodbc does not pull it.
    command -v odbcinst >/dev/null 2>&1 || need unixodbc odbcinst
    [[ -f /usr/include/sql.h ]] || need unixodbc-dev
    find_driver_lib psqlodbcw.so >/dev/null || need odbc-postgresql
    find_driver_lib libsqlite3odbc.so >/dev/null || need libsqliteodbc
    find_driver_lib libmaodbc.so >/dev/null || need odbc-mariadb
    find_initdb >/dev/null || need postgresql
    # The tests start a private MariaDB too (tests/_servers.py MariaDBServer).
    [[ -x /usr/sbin/mariadbd ]] || command -v mariadbd >/dev/null 2>&1 || need mariadb-server
    return 0
}

unregistered_drivers() {
    local n
    for n in "${DRIVER_NAMES[@]}"; do
        odbcinst -q -d -n "$n" >/dev/null 2>&1 || printf '%s\n' "$n"
    done
    return 0
}

# Print the [NAME] section of the test-bed ini, with the bare library names
# replaced by the absolute paths found on this machine.
testbed_section() {
    local name=$1 lib path
    awk -v want="[$name]" '
        /^\[/ { on = ($0 == want) }
        on && !/^[[:space:]]*;/ { print }
    ' "$TESTBED_INI" | while IFS= read -r line; do
        if [[ $line =~ ^(Driver|Setup)[[:space:]]*=[[:space:]]*([^/[:space:]]+)[[:space:]]*$ ]]; then
            lib=${BASH_REMATCH[2]}
            if path=$(find_driver_lib "$lib"); then
                line="${BASH_REMATCH[1]} = $path"
            fi
        fi
        printf '%s\n' "$line"
    done
}

register_drivers() {
    local n tmp
    local -a todo=()
    mapfile -t todo < <(unregistered_drivers)
    ((${#todo[@]})) || return 0
    if ((EUID != 0)); then
        echo "install-system-deps: ODBC driver(s) not registered: ${todo[*]}" >&2
        echo "run:  sudo odbcinst -i -d -f $TESTBED_INI" >&2
        exit 1
    fi
    tmp=$(mktemp)
    for n in "${todo[@]}"; do
        testbed_section "$n" >"$tmp"
        echo "install-system-deps: registering ODBC driver [$n]"
        odbcinst -i -d -f "$tmp" >/dev/null
    done
    rm -f "$tmp"
    mapfile -t todo < <(unregistered_drivers)
    if ((${#todo[@]})); then
        echo "install-system-deps: still not registered after odbcinst -i: ${todo[*]}" >&2
        exit 1
    fi
}

# Debian registers psqlODBC with CommLog=1: every process that loads the driver
# then writes /tmp/psqlodbc_<program><user><pid>.log. The driver reads this
# from odbcinst.ini only (CommLog=0 in the connection string does not stop
# it), so switch it off in the registered entry.
psqlodbc_logging_on() {
    odbcinst -q -d -n "PostgreSQL Unicode" 2>/dev/null |
        grep -qiE '^[[:space:]]*(CommLog|Debug)[[:space:]]*=[[:space:]]*[1-9]'
}

quiet_psqlodbc() {
    psqlodbc_logging_on || return 0
    if ((EUID != 0)); then
        echo "install-system-deps: warning: [PostgreSQL Unicode] has CommLog/Debug on in $(odbcinst -j | awk -F': *' '/^DRIVERS/ {print $2}');" \
            "psqlODBC will write /tmp/psqlodbc_*.log files (set CommLog=0 and Debug=0 there as root)" >&2
        return 0
    fi
    # odbcinst -i replaces the whole section, so feed it the full entry back.
    odbcinst -q -d -n "PostgreSQL Unicode" |
        sed -E 's/^([[:space:]]*(CommLog|Debug)[[:space:]]*=).*$/\10/I' |
        grep -viE '^[[:space:]]*UsageCount[[:space:]]*=' |
        odbcinst -i -d -r >/dev/null
    echo "install-system-deps: set CommLog=0, Debug=0 for ODBC driver [PostgreSQL Unicode]"
}

summary() {
    local initdb pgver names
    initdb=$(find_initdb)
    names=$(printf '"%s", ' "${DRIVER_NAMES[@]}")
    pgver=$("$initdb" --version 2>/dev/null | awk '{print $3}') || pgver='?'
    echo "system deps OK: unixODBC $(odbcinst --version 2>/dev/null | awk '{print $NF}'), ODBC drivers ${names%, }, PostgreSQL $pgver ($(dirname "$initdb"))"
}

check_packages
if ((${#missing_pkgs[@]} == 0)) && [[ -z $(unregistered_drivers) ]] && ! psqlodbc_logging_on; then
    summary
    exit 0
fi

if ((${#missing_pkgs[@]})); then
    # De-duplicate, keep order.
    declare -A seen=()
    pkgs=()
    for p in "${missing_pkgs[@]}"; do
        [[ -n ${seen[$p]:-} ]] && continue
        seen[$p]=1
        pkgs+=("$p")
    done
    if ((EUID != 0)); then
        echo "install-system-deps: missing system packages: ${pkgs[*]}" >&2
        echo "run:  sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
        echo "(on a fresh machine run 'sudo apt-get update' first)" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-system-deps: missing ${pkgs[*]} and no apt-get here; install the equivalents by hand" >&2
        exit 1
    fi
    echo "install-system-deps: installing ${pkgs[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"
    check_packages
    if ((${#missing_pkgs[@]})); then
        echo "install-system-deps: still missing after apt-get install: ${missing_pkgs[*]}" >&2
        exit 1
    fi
fi

register_drivers
quiet_psqlodbc
summary
