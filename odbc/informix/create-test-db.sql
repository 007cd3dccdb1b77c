-- The logged database the informix-aio test suite runs in.
--
-- create_test_db.py runs this through ODBC (connected to sysmaster) unless the
-- database already exists; by hand, from a machine with the Client SDK:
--     DB_LOCALE=en_US.utf8 dbaccess - odbc/informix/create-test-db.sql
-- WITH LOG: unbuffered transaction logging, so BEGIN WORK / COMMIT WORK /
-- ROLLBACK WORK and savepoints work (an unlogged database has no transactions).
-- The database takes the DB_LOCALE of the session that creates it.
CREATE DATABASE informix_aio_test WITH LOG;
