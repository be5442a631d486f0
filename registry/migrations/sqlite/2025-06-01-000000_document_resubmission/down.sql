DROP INDEX registry_objects_unique_id;
DROP INDEX registry_objects_logical_id_version;
CREATE INDEX registry_objects_logical_id ON registry_objects (logical_id);
CREATE UNIQUE INDEX registry_objects_unique_id_version ON registry_objects (unique_id, version);
