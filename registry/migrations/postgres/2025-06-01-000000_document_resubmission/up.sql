-- ITI-42 resubmission (ITI TF-3 Table 4.2.4.1-2 XDSNonIdenticalHash/Size, NIST test 12004): a
-- DocumentEntry submitted again with the uniqueId, hash and size of a registered one is registered
-- as a DocumentEntry of its own, so one uniqueId may name several logical objects. Each logical
-- object still holds each of its versions (ITI-57) once.
DROP INDEX registry_objects_unique_id_version;
DROP INDEX registry_objects_logical_id;
CREATE UNIQUE INDEX registry_objects_logical_id_version ON registry_objects (logical_id, version);
CREATE INDEX registry_objects_unique_id ON registry_objects (unique_id);
