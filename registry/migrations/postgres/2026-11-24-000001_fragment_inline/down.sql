ALTER TABLE registry_objects RESET (toast_tuple_target);
