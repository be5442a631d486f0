//! The repository index table (see `migrations/`).

diesel::table! {
    documents (storage_key) {
        storage_key -> Text,
        repository_unique_id -> Text,
        document_unique_id -> Text,
        mime_type -> Text,
        hash -> Nullable<Text>,
        size -> Nullable<BigInt>,
        state -> Text,
        created_at -> BigInt,
    }
}
