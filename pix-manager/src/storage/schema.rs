//! The MPI tables (see `migrations/`), the same on SQLite and PostgreSQL.

diesel::table! {
    persons (id) {
        id -> Integer,
        affinity_id -> Text,
        merged_into -> Nullable<Integer>,
        created_at -> BigInt,
    }
}

diesel::table! {
    records (id) {
        id -> Integer,
        domain -> Text,
        local_id -> Text,
        demographics -> Text,
        merged_into -> Nullable<Integer>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    links (record_id) {
        record_id -> Integer,
        person_id -> Integer,
    }
}

diesel::table! {
    blocking_keys (key, record_id) {
        key -> Text,
        record_id -> Integer,
    }
}

diesel::table! {
    decisions (id) {
        id -> Integer,
        record_id -> Integer,
        candidate_id -> Integer,
        score -> Double,
        zone -> Text,
        fields -> Text,
        guard -> Nullable<Text>,
        created_at -> BigInt,
        other_no_links -> BigInt,
    }
}

diesel::table! {
    review_queue (id) {
        id -> Integer,
        decision_id -> Integer,
        record_id -> Integer,
        candidate_id -> Integer,
        status -> Text,
        resolved_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    link_history (id) {
        id -> Integer,
        record_id -> Integer,
        action -> Text,
        from_person -> Nullable<Integer>,
        to_person -> Nullable<Integer>,
        reason -> Text,
        at -> BigInt,
    }
}

diesel::joinable!(links -> records (record_id));
diesel::joinable!(links -> persons (person_id));
diesel::joinable!(blocking_keys -> records (record_id));

diesel::allow_tables_to_appear_in_same_query!(
    persons,
    records,
    links,
    blocking_keys,
    decisions,
    review_queue,
    link_history,
);
