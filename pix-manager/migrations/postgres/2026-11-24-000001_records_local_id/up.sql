-- ITI-9 / ITI-21 by a local identifier without its assigning authority (QPD-3 with PID-3.1
-- only): `records` had only the (domain, local_id) index, which such a lookup reads whole.
CREATE INDEX records_local_id ON records (local_id);
