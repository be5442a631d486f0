DROP TABLE associations;
DROP TABLE object_reference_ids;
DROP TABLE object_authors;
DROP TABLE object_codes;
DROP TABLE registry_objects;
DROP TABLE patients;
