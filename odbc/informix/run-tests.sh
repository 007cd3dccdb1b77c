#!/usr/bin/env bash
# Entry point of the informix-aio test runner (odbc/informix/Dockerfile, service "runner" of
# odbc/informix/docker-compose.yml):
#   1. wait for the Informix server and create the logged test database (create_test_db.py);
#   2. `informix-aio doctor` against it: stop here if anything blocks a connection;
#   3. the whole test suite, with the Informix backend enabled by INFORMIX_AIO_TEST_INFORMIX.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

: "${INFORMIX_AIO_TEST_INFORMIX:?set it to the test database connection string (docker-compose.yml does)}"

echo "== waiting for Informix, creating the test database"
locale=$(python odbc/informix/create_test_db.py)

# The database keeps the locale it was created with; a client DB_LOCALE that differs makes the
# driver refuse the connection (-23197), so pass the real one unless the caller chose one.
case ";${INFORMIX_AIO_TEST_INFORMIX^^}" in
*";DB_LOCALE="*) ;;
*) export INFORMIX_AIO_TEST_INFORMIX="${INFORMIX_AIO_TEST_INFORMIX%;};DB_LOCALE=${locale}" ;;
esac

echo "== informix-aio doctor"
INFORMIX_AIO_DSN="$INFORMIX_AIO_TEST_INFORMIX" informix-aio doctor --dialect informix

echo "== pytest ${PYTEST_ARGS:--q}"
# PYTEST_ARGS is split on purpose (several options in one variable).
# shellcheck disable=SC2086
exec python -m pytest ${PYTEST_ARGS:--q}
