DROP INDEX records_local_id;
