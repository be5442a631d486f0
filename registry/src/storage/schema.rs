// @generated automatically by Diesel CLI.

diesel::table! {
    associations (entry_uuid) {
        entry_uuid -> Text,
        association_type -> Text,
        source_uuid -> Text,
        target_uuid -> Text,
        status -> Text,
        submission_set_status -> Nullable<Text>,
        submission_set -> Nullable<Text>,
        fragment -> Text,
    }
}

diesel::table! {
    object_authors (object_uuid, author_person) {
        object_uuid -> Text,
        author_person -> Text,
    }
}

diesel::table! {
    object_codes (object_uuid, scheme, code, coding_scheme) {
        object_uuid -> Text,
        scheme -> Text,
        code -> Text,
        coding_scheme -> Text,
    }
}

diesel::table! {
    object_reference_ids (object_uuid, reference_id) {
        object_uuid -> Text,
        reference_id -> Text,
    }
}

diesel::table! {
    patients (patient_id) {
        patient_id -> Text,
        status -> Text,
        merged_into -> Nullable<Text>,
        updated_at -> Int8,
    }
}

diesel::table! {
    registry_objects (entry_uuid) {
        entry_uuid -> Text,
        kind -> Text,
        logical_id -> Text,
        version -> Int4,
        status -> Text,
        patient_id -> Text,
        unique_id -> Text,
        home_community_id -> Nullable<Text>,
        object_type -> Nullable<Text>,
        mime_type -> Nullable<Text>,
        hash -> Nullable<Text>,
        size -> Nullable<Int8>,
        repository_unique_id -> Nullable<Text>,
        creation_time -> Nullable<Text>,
        service_start_time -> Nullable<Text>,
        service_stop_time -> Nullable<Text>,
        submission_time -> Nullable<Text>,
        last_update_time -> Nullable<Text>,
        source_id -> Nullable<Text>,
        submission_set -> Nullable<Text>,
        fragment -> Text,
    }
}

diesel::joinable!(object_authors -> registry_objects (object_uuid));
diesel::joinable!(object_codes -> registry_objects (object_uuid));
diesel::joinable!(object_reference_ids -> registry_objects (object_uuid));

diesel::allow_tables_to_appear_in_same_query!(
    associations,
    object_authors,
    object_codes,
    object_reference_ids,
    patients,
    registry_objects,
);
