//! ITI-42: the storage rows of an accepted submission, and the stored LeafClass fragments.

use std::time::{SystemTime, UNIX_EPOCH};

use schemas::constants::classification_scheme as scheme;
use schemas::ebrim::{Identifiable, VersionInfo};
use schemas::xds::{self, Association, Code, DocumentEntry, Folder, Submission, SubmissionSet};

use crate::storage::{
    self, AvailabilityStatus, NewAssociation, NewAuthor, NewCode, NewObject, NewReferenceId,
    ObjectKind,
};

/// The current time as an HL7 DTM in UTC to the second (`YYYYMMDDhhmmss`), e.g. for
/// Folder.lastUpdateTime (ITI TF-3 4.2.3.4.7).
pub(crate) fn utc_now_dtm() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    dtm_of_unix_seconds(seconds)
}

/// `YYYYMMDDhhmmss` of a Unix time (proleptic Gregorian calendar, UTC).
fn dtm_of_unix_seconds(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, days >= 0).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

/// The registry-assigned values of a first version: lid = entryUUID, VersionInfo
/// versionName="1", and no `status` attribute (see [`fragment_of`]).
fn first_version() -> Option<VersionInfo> {
    Some(VersionInfo {
        version_name: Some("1".to_owned()),
        comment: None,
    })
}

/// Sets the registry-assigned values on the objects of an accepted submission: every object is
/// a first version (lid = entryUUID, versionName 1), availabilityStatus is left to the store,
/// SubmissionSet and Folder markers are nested in their package (so each stored fragment is
/// complete), and new Folders get lastUpdateTime = `now`.
pub(crate) fn assign_registry_values(submission: &mut Submission, now: &str) {
    let ss = &mut submission.submission_set;
    ss.logical_id = Some(ss.entry_uuid.clone());
    ss.version = first_version();
    ss.availability_status = None;
    ss.marker.top_level = false;
    for de in &mut submission.document_entries {
        de.logical_id = Some(de.entry_uuid.clone());
        de.version = first_version();
        de.availability_status = None;
    }
    for folder in &mut submission.folders {
        folder.logical_id = Some(folder.entry_uuid.clone());
        folder.version = first_version();
        folder.availability_status = None;
        folder.marker.top_level = false;
        folder.last_update_time = Some(now.to_owned());
    }
    for association in &mut submission.associations {
        association.availability_status = None;
    }
}

/// The stored LeafClass fragment of one object.
///
/// Contract with ITI-18 (stored_query): the fragment is the object's complete `rim:*` element as
/// [`Identifiable::write_xml`] writes it (the `rim:` prefix, no namespace declaration: it is
/// embedded in a response that declares `xmlns:rim`), written after symbolic ids were replaced
/// by UUIDs and after the registry-assigned values were set (lid = entryUUID, VersionInfo
/// versionName="1", Folder lastUpdateTime). It has NO `status` attribute: availabilityStatus
/// changes over time (RPLC, ITI-57), so the query side inserts `status="..."` from the row's
/// status column right after the element name when serving the fragment.
pub(crate) fn fragment_of(object: &Identifiable) -> String {
    let mut out = String::with_capacity(4096);
    object.write_xml(&mut out);
    out
}

/// Replaces the lastUpdateTime slot value of a stored Folder fragment written by
/// [`fragment_of`]; `None` when the fragment has no such slot.
pub(crate) fn with_last_update_time(fragment: &str, dtm: &str) -> Option<String> {
    const VALUE_OPEN: &str = "<rim:Value>";
    const VALUE_CLOSE: &str = "</rim:Value>";
    let slot = fragment.find("name=\"lastUpdateTime\"")?;
    let open = slot + fragment[slot..].find(VALUE_OPEN)? + VALUE_OPEN.len();
    let close = open + fragment[open..].find(VALUE_CLOSE)?;
    Some(format!("{}{dtm}{}", &fragment[..open], &fragment[close..]))
}

fn storage_entry_type(de: &DocumentEntry) -> Option<storage::DocumentEntryType> {
    de.entry_type().map(|t| match t {
        xds::DocumentEntryType::Stable => storage::DocumentEntryType::Stable,
        xds::DocumentEntryType::OnDemand => storage::DocumentEntryType::OnDemand,
    })
}

fn patient_of(id: &Option<xds::ExternalId>) -> String {
    id.as_ref().map(|e| e.value.clone()).unwrap_or_default()
}

/// Builds the rows of a validated submission whose registry values are assigned.
pub(crate) struct RowBuilder {
    submission_set: String,
    pub(crate) rows: storage::Submission,
}

impl RowBuilder {
    pub(crate) fn new(submission_set: &str) -> Self {
        RowBuilder {
            submission_set: submission_set.to_owned(),
            rows: storage::Submission::default(),
        }
    }

    fn codes<'a>(&mut self, object: &str, scheme: &str, codes: impl IntoIterator<Item = &'a Code>) {
        for code in codes {
            self.rows.codes.push(NewCode {
                object_uuid: object.to_owned(),
                scheme: scheme.to_owned(),
                code: code.code.clone(),
                coding_scheme: code.coding_scheme.clone(),
            });
        }
    }

    fn authors(&mut self, object: &str, authors: &[xds::Author]) {
        for person in authors.iter().filter_map(|a| a.person.as_ref()) {
            self.rows.authors.push(NewAuthor {
                object_uuid: object.to_owned(),
                author_person: person.clone(),
            });
        }
    }

    pub(crate) fn submission_set(&mut self, ss: &SubmissionSet) {
        let fragment = fragment_of(&Identifiable::RegistryPackage(ss.to_rim()));
        let mut object = NewObject::first_version(
            ObjectKind::SubmissionSet,
            &ss.entry_uuid,
            patient_of(&ss.patient_id),
            &ss.unique_id.value,
            fragment,
        );
        object.submission_time.clone_from(&ss.submission_time);
        object.source_id = ss.source_id.as_ref().map(|s| s.value.clone());
        object.submission_set = Some(self.submission_set.clone());
        self.rows.objects.push(object);
        self.codes(
            &ss.entry_uuid,
            scheme::SUBMISSION_SET_CONTENT_TYPE_CODE,
            &ss.content_type_code,
        );
        self.authors(&ss.entry_uuid, &ss.authors);
    }

    pub(crate) fn document_entry(&mut self, de: &DocumentEntry) {
        let fragment = fragment_of(&Identifiable::ExtrinsicObject(de.to_rim()));
        let mut object = NewObject::first_version(
            ObjectKind::DocumentEntry,
            &de.entry_uuid,
            patient_of(&de.patient_id),
            &de.unique_id.value,
            fragment,
        );
        object.object_type = storage_entry_type(de);
        object.mime_type.clone_from(&de.mime_type);
        object.hash = de.hash.as_ref().map(|h| h.to_ascii_lowercase());
        object.size = de.size.as_deref().and_then(|s| s.parse().ok());
        object
            .repository_unique_id
            .clone_from(&de.repository_unique_id);
        object.creation_time.clone_from(&de.creation_time);
        object.service_start_time.clone_from(&de.service_start_time);
        object.service_stop_time.clone_from(&de.service_stop_time);
        object.submission_set = Some(self.submission_set.clone());
        self.rows.objects.push(object);
        let id = de.entry_uuid.as_str();
        self.codes(id, scheme::DOCUMENT_ENTRY_CLASS_CODE, &de.class_code);
        self.codes(
            id,
            scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
            &de.confidentiality_codes,
        );
        self.codes(id, scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST, &de.event_codes);
        self.codes(id, scheme::DOCUMENT_ENTRY_FORMAT_CODE, &de.format_code);
        self.codes(
            id,
            scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
            &de.healthcare_facility_type_code,
        );
        self.codes(
            id,
            scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
            &de.practice_setting_code,
        );
        self.codes(id, scheme::DOCUMENT_ENTRY_TYPE_CODE, &de.type_code);
        self.authors(id, &de.authors);
        for reference in &de.reference_ids {
            self.rows.reference_ids.push(NewReferenceId {
                object_uuid: id.to_owned(),
                reference_id: reference.clone(),
            });
        }
    }

    pub(crate) fn folder(&mut self, folder: &Folder) {
        let fragment = fragment_of(&Identifiable::RegistryPackage(folder.to_rim()));
        let mut object = NewObject::first_version(
            ObjectKind::Folder,
            &folder.entry_uuid,
            patient_of(&folder.patient_id),
            &folder.unique_id.value,
            fragment,
        );
        object.last_update_time.clone_from(&folder.last_update_time);
        object.submission_set = Some(self.submission_set.clone());
        self.rows.objects.push(object);
        self.codes(&folder.entry_uuid, scheme::FOLDER_CODE_LIST, &folder.codes);
    }

    pub(crate) fn association(&mut self, association: &Association) {
        self.rows.associations.push(NewAssociation {
            entry_uuid: association.entry_uuid.clone(),
            association_type: association.association_type.urn().to_owned(),
            source_uuid: association.source.clone(),
            target_uuid: association.target.clone(),
            status: AvailabilityStatus::Approved,
            submission_set_status: association.submission_set_status.clone(),
            submission_set: Some(self.submission_set.clone()),
            fragment: fragment_of(&Identifiable::Association(association.to_rim())),
        });
    }

    /// Every row of `submission`.
    pub(crate) fn submission(&mut self, submission: &Submission) {
        self.submission_set(&submission.submission_set);
        for de in &submission.document_entries {
            self.document_entry(de);
        }
        for folder in &submission.folders {
            self.folder(folder);
        }
        for association in &submission.associations {
            self.association(association);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_time_converts_to_utc_dtm() {
        assert_eq!(dtm_of_unix_seconds(0), "19700101000000");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(dtm_of_unix_seconds(1_709_251_199), "20240229235959");
        assert_eq!(utc_now_dtm().len(), 14);
    }

    #[test]
    fn last_update_time_slot_value_is_replaced() {
        let fragment = "<rim:RegistryPackage id=\"f\"><rim:Slot name=\"lastUpdateTime\"><rim:ValueList><rim:Value>20200101</rim:Value></rim:ValueList></rim:Slot></rim:RegistryPackage>";
        let updated = with_last_update_time(fragment, "20250102030405").unwrap();
        assert!(updated.contains("<rim:Value>20250102030405</rim:Value>"));
        assert!(!updated.contains("20200101"));
        assert_eq!(
            with_last_update_time("<rim:RegistryPackage/>", "2025"),
            None
        );
    }
}
