//! Row types of the registry tables and the small enumerations stored as text.

use diesel::backend::Backend;
use diesel::deserialize::FromSqlRow;
use diesel::deserialize::{self, FromSql};
use diesel::expression::AsExpression;
use diesel::prelude::*;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use super::schema::{
    associations, object_authors, object_codes, object_reference_ids, patients, registry_objects,
};

/// Declares an enumeration stored in a TEXT column, with the same encoding on every backend.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Reads the stored text back; `None` for a value this enumeration does not know.
            pub fn from_stored(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB: Backend> ToSql<Text, DB> for $name
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                Self::from_stored(&text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " value {:?}"), text).into()
                })
            }
        }
    };
}

text_enum! {
    /// Which XDS object a `registry_objects` row holds (ITI TF-3 4.2.1).
    ObjectKind {
        /// An `ExtrinsicObject` DocumentEntry.
        DocumentEntry => "DocumentEntry",
        /// A `RegistryPackage` SubmissionSet.
        SubmissionSet => "SubmissionSet",
        /// A `RegistryPackage` Folder.
        Folder => "Folder",
    }
}

text_enum! {
    /// ebRIM availability status (`urn:oasis:names:tc:ebxml-regrep:StatusType:*`).
    AvailabilityStatus {
        /// `StatusType:Submitted`: registered, not yet approved.
        Submitted => "Submitted",
        /// `StatusType:Approved`: the current version.
        Approved => "Approved",
        /// `StatusType:Deprecated`: replaced (RPLC) or superseded by an ITI-57 update.
        Deprecated => "Deprecated",
    }
}

text_enum! {
    /// DocumentEntry objectType (ITI TF-3 4.2.3.2.30): stable or on-demand.
    DocumentEntryType {
        /// `urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1`.
        Stable => "stable",
        /// `urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248`.
        OnDemand => "on-demand",
    }
}

text_enum! {
    /// State of an affinity-domain patient id fed by the Patient Identity Feed (ITI-8 / ITI-44).
    PatientStatus {
        /// A patient id that submissions may use.
        Active => "active",
        /// An id subsumed by a merge; its records now belong to `merged_into`.
        Merged => "merged",
    }
}

/// One DocumentEntry, SubmissionSet or Folder to register (ITI-42, ITI-57).
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = registry_objects)]
pub struct NewObject {
    /// entryUUID (`id` attribute), `urn:uuid:...`.
    pub entry_uuid: String,
    /// DocumentEntry, SubmissionSet or Folder.
    pub kind: ObjectKind,
    /// logicalID (`lid`); equals `entry_uuid` for a first version.
    pub logical_id: String,
    /// `VersionInfo/@versionName` as a number, 1 for a first version.
    pub version: i32,
    /// Availability status.
    pub status: AvailabilityStatus,
    /// Affinity-domain patient id (`CX` string).
    pub patient_id: String,
    /// uniqueId (shared by all versions of one logical object).
    pub unique_id: String,
    /// homeCommunityId, if any.
    pub home_community_id: Option<String>,
    /// DocumentEntry objectType; `None` for SubmissionSets and Folders.
    pub object_type: Option<DocumentEntryType>,
    /// DocumentEntry mimeType.
    pub mime_type: Option<String>,
    /// DocumentEntry hash (hex SHA-1).
    pub hash: Option<String>,
    /// DocumentEntry size in bytes.
    pub size: Option<i64>,
    /// DocumentEntry repositoryUniqueId.
    pub repository_unique_id: Option<String>,
    /// DocumentEntry creationTime (HL7 DTM text, compared as text).
    pub creation_time: Option<String>,
    /// DocumentEntry serviceStartTime (DTM).
    pub service_start_time: Option<String>,
    /// DocumentEntry serviceStopTime (DTM).
    pub service_stop_time: Option<String>,
    /// SubmissionSet submissionTime (DTM).
    pub submission_time: Option<String>,
    /// Folder lastUpdateTime (DTM).
    pub last_update_time: Option<String>,
    /// SubmissionSet sourceId.
    pub source_id: Option<String>,
    /// entryUUID of the SubmissionSet that registered this object.
    pub submission_set: Option<String>,
    /// The complete LeafClass XML element served by ITI-18.
    pub fragment: String,
}

impl NewObject {
    /// A first version (logicalID = entryUUID, version 1), all optional attributes empty.
    pub fn first_version(
        kind: ObjectKind,
        entry_uuid: impl Into<String>,
        patient_id: impl Into<String>,
        unique_id: impl Into<String>,
        fragment: impl Into<String>,
    ) -> Self {
        let entry_uuid = entry_uuid.into();
        Self {
            logical_id: entry_uuid.clone(),
            entry_uuid,
            kind,
            version: 1,
            status: AvailabilityStatus::Approved,
            patient_id: patient_id.into(),
            unique_id: unique_id.into(),
            home_community_id: None,
            object_type: None,
            mime_type: None,
            hash: None,
            size: None,
            repository_unique_id: None,
            creation_time: None,
            service_start_time: None,
            service_stop_time: None,
            submission_time: None,
            last_update_time: None,
            source_id: None,
            submission_set: None,
            fragment: fragment.into(),
        }
    }
}

/// A classification code of an object (classCode, eventCodeList, formatCode, folder codeList, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Insertable)]
#[diesel(table_name = object_codes)]
pub struct NewCode {
    /// entryUUID of the classified object.
    pub object_uuid: String,
    /// classificationScheme UUID (e.g. `urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a` for classCode).
    pub scheme: String,
    /// nodeRepresentation.
    pub code: String,
    /// The codingScheme slot value.
    pub coding_scheme: String,
}

/// One authorPerson value of a DocumentEntry or SubmissionSet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Insertable)]
#[diesel(table_name = object_authors)]
pub struct NewAuthor {
    /// entryUUID of the authored object.
    pub object_uuid: String,
    /// authorPerson (XCN string).
    pub author_person: String,
}

/// One referenceIdList value of a DocumentEntry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Insertable)]
#[diesel(table_name = object_reference_ids)]
pub struct NewReferenceId {
    /// entryUUID of the DocumentEntry.
    pub object_uuid: String,
    /// The CXi value.
    pub reference_id: String,
}

/// One ebRIM Association to register.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = associations)]
pub struct NewAssociation {
    /// entryUUID of the Association.
    pub entry_uuid: String,
    /// associationType URN (HasMember, RPLC, ...).
    pub association_type: String,
    /// sourceObject entryUUID.
    pub source_uuid: String,
    /// targetObject entryUUID.
    pub target_uuid: String,
    /// Availability status.
    pub status: AvailabilityStatus,
    /// SubmissionSetStatus slot (Original / Reference) of a SubmissionSet HasMember.
    pub submission_set_status: Option<String>,
    /// entryUUID of the SubmissionSet that registered this Association.
    pub submission_set: Option<String>,
    /// The complete `<rim:Association>` element.
    pub fragment: String,
}

/// A stored Association as read back; the same columns as [`NewAssociation`].
pub type StoredAssociation = NewAssociation;

/// Key columns and LeafClass fragment of a stored DocumentEntry, SubmissionSet or Folder.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = registry_objects)]
pub struct StoredObject {
    /// entryUUID.
    pub entry_uuid: String,
    /// DocumentEntry, SubmissionSet or Folder.
    pub kind: ObjectKind,
    /// logicalID.
    pub logical_id: String,
    /// Version number.
    pub version: i32,
    /// Availability status.
    pub status: AvailabilityStatus,
    /// Patient id (after any merge).
    pub patient_id: String,
    /// uniqueId.
    pub unique_id: String,
    /// homeCommunityId.
    pub home_community_id: Option<String>,
    /// DocumentEntry objectType.
    pub object_type: Option<DocumentEntryType>,
    /// DocumentEntry hash.
    pub hash: Option<String>,
    /// DocumentEntry size.
    pub size: Option<i64>,
    /// DocumentEntry repositoryUniqueId.
    pub repository_unique_id: Option<String>,
    /// entryUUID of the registering SubmissionSet.
    pub submission_set: Option<String>,
    /// The complete LeafClass XML element.
    pub fragment: String,
}

/// A row of the `patients` table (Patient Identity Feed, ITI-8 / ITI-44).
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = patients)]
pub struct PatientRecord {
    /// Affinity-domain patient id.
    pub patient_id: String,
    /// Active or merged.
    pub status: PatientStatus,
    /// The surviving id after a merge.
    pub merged_into: Option<String>,
    /// Last change, seconds since the Unix epoch.
    pub updated_at: i64,
}

/// Everything one ITI-42 (or ITI-57) request registers, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    /// The SubmissionSet, DocumentEntries and Folders.
    pub objects: Vec<NewObject>,
    /// Their classification codes.
    pub codes: Vec<NewCode>,
    /// Their authorPerson values.
    pub authors: Vec<NewAuthor>,
    /// DocumentEntry referenceIdList values.
    pub reference_ids: Vec<NewReferenceId>,
    /// The Associations.
    pub associations: Vec<NewAssociation>,
}

/// Objects and Associations of one patient (ITI-18 GetAll).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientContents {
    /// The patient's DocumentEntries, SubmissionSets and Folders.
    pub objects: Vec<StoredObject>,
    /// Associations whose source or target is one of those objects.
    pub associations: Vec<StoredAssociation>,
}
