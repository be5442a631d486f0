ALTER TABLE registry_objects ALTER COLUMN fragment SET COMPRESSION pglz;
ALTER TABLE associations ALTER COLUMN fragment SET COMPRESSION pglz;
