-- The databases the informix-aio test suite runs in.
--
-- create_test_db.py runs each CREATE DATABASE through ODBC (a fresh session connected to
-- sysmaster for each) unless that database already exists; by hand, from a machine with the
-- Client SDK:
--     DB_LOCALE=en_US.utf8 dbaccess - odbc/informix/create-test-db.sql
-- The first one is the suite's main database (INFORMIX_AIO_TEST_INFORMIX points at it).
-- Every database takes the DB_LOCALE of the session that creates it.

-- Logged (unbuffered): BEGIN WORK / COMMIT WORK / ROLLBACK WORK and savepoints work.
CREATE DATABASE informix_aio_test WITH LOG;
-- No logging: no transactions at all (transaction() is refused, executemany runs without one).
CREATE DATABASE informix_aio_nolog;
-- ANSI mode: implicit transactions, REPEATABLE READ by default.
CREATE DATABASE informix_aio_ansi WITH LOG MODE ANSI;
