DROP INDEX registry_objects_unique_id;
CREATE INDEX registry_objects_unique_id ON registry_objects (unique_id);
