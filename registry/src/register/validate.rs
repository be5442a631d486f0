//! ITI-42 checks that need no database: required attributes and value formats (ITI TF-3 4.2.3,
//! Table 4.3.1-3 for the Document Registry), affinity-domain codes (ITI TF-3 4.2.3.1.2), one
//! patient per submission (ITI TF-2b 3.42.4.1.3, XDSPatientIdDoesNotMatch) and uniqueIds that
//! appear once in the message (XDSRegistryDuplicateUniqueIdInMessage).

use std::collections::HashMap;

use schemas::constants::{error_code, object_type};
use schemas::hl7v2::{Cx, Dtm, Xcn, Xon, Xtn, is_oid};
use schemas::xds::{
    Author, Code, DocumentEntry, ExternalId, Folder, MetadataRule, Submission, SubmissionSet,
};

use super::RegisterContext;
use super::ids::IdMap;
use super::issue::Issue;

/// Longest DocumentEntry.uniqueId (ITI TF-3 4.2.3.2.26: at most 128 bytes).
const MAX_DOCUMENT_UNIQUE_ID_BYTES: usize = 128;
/// Longest OID (ITI TF-3 4.2.3.1.8 / DICOM: at most 64 characters).
const MAX_OID_CHARS: usize = 64;

/// Which object versions a submission may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Versions {
    /// ITI-42: first versions only (logicalID, if sent, is the entryUUID).
    FirstOnly,
    /// ITI-57 Update Document Set: a DocumentEntry or Folder may be a new version of a registered
    /// one (logicalID of the registered object, new entryUUID); the update rules check versions
    /// (a SubmissionSet logicalID is the update's XDSMetadataUpdateOperationError).
    NewVersionsAllowed,
}

/// Collects the issues of one object, located by the id the submitter used.
struct Checker<'a> {
    location: &'a str,
    kind: &'static str,
    issues: &'a mut Vec<Issue>,
}

impl Checker<'_> {
    fn push(&mut self, attribute: &str, rule: impl std::fmt::Display) {
        self.issues.push(Issue::metadata(
            self.location,
            &format!("{}.{attribute}", self.kind),
            rule,
        ));
    }

    fn required<T>(&mut self, attribute: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.push(attribute, MetadataRule::Missing);
        }
        value
    }

    fn required_text<'v>(&mut self, attribute: &str, value: Option<&'v str>) -> Option<&'v str> {
        let value = value.filter(|v| !v.trim().is_empty());
        self.required(attribute, value)
    }

    fn dtm(&mut self, attribute: &str, value: Option<&str>) {
        if let Some(Err(e)) = value.map(Dtm::parse) {
            self.push(attribute, e);
        }
    }

    fn patient_id(&mut self, attribute: &str, value: Option<&str>) {
        if let Some(Err(e)) = value.map(Cx::parse_patient_id) {
            self.push(attribute, e);
        }
    }

    fn oid(&mut self, attribute: &str, value: Option<&str>) {
        if let Some(v) = value
            && (!is_oid(v) || v.len() > MAX_OID_CHARS)
        {
            self.push(
                attribute,
                format!("{v:?} is not an OID of at most {MAX_OID_CHARS} characters"),
            );
        }
    }

    fn xcn(&mut self, attribute: &str, value: &str) {
        if let Err(e) = Xcn::parse(value).and_then(|x| x.check_xds()) {
            self.push(attribute, e);
        }
    }

    fn authors(&mut self, authors: &[Author]) {
        for author in authors {
            if let Some(person) = &author.person {
                self.xcn("author.authorPerson", person);
            }
            for value in &author.institutions {
                if let Err(e) = Xon::parse(value).and_then(|x| x.check_xds()) {
                    self.push("author.authorInstitution", e);
                }
            }
            for value in &author.telecommunications {
                if let Err(e) = Xtn::parse(value).and_then(|x| x.check_xds()) {
                    self.push("author.authorTelecommunication", e);
                }
            }
        }
    }

    /// ITI TF-3 4.2.3.1.2: a coded attribute carries a code of the affinity domain's list.
    fn codes<'c>(
        &mut self,
        ctx: &RegisterContext,
        attribute: &str,
        list: &str,
        codes: impl IntoIterator<Item = &'c Code>,
    ) {
        for code in codes {
            if !ctx.code_lists.allows(list, &code.code, &code.coding_scheme) {
                self.push(
                    attribute,
                    format!(
                        "code {:?} of codingScheme {:?} is not in the affinity domain's {list} list",
                        code.code, code.coding_scheme
                    ),
                );
            }
        }
    }

    /// ITI-42 registers first versions only: a logicalID, if sent, is the entryUUID.
    fn first_version(&mut self, entry_uuid: &str, logical_id: Option<&str>) {
        if logical_id.is_some_and(|lid| lid != entry_uuid) {
            self.push(
                "logicalID",
                "differs from entryUUID; only Update Document Set (ITI-57) submits new versions",
            );
        }
    }
}

fn value(id: &Option<ExternalId>) -> Option<&str> {
    id.as_ref().map(|e| e.value.as_str())
}

/// Checks everything that needs no database and returns the issues found.
pub(crate) fn check(
    submission: &Submission,
    ids: &IdMap,
    ctx: &RegisterContext,
    versions: Versions,
) -> Vec<Issue> {
    let mut issues = Vec::new();
    submission_set(&submission.submission_set, ids, ctx, versions, &mut issues);
    for entry in &submission.document_entries {
        document_entry(entry, ids, ctx, versions, &mut issues);
    }
    for folder in &submission.folders {
        self::folder(folder, ids, ctx, versions, &mut issues);
    }
    patient_ids_match(submission, ids, &mut issues);
    unique_ids_once(submission, ids, &mut issues);
    issues
}

/// SubmissionSet: patientId, uniqueId, sourceId, submissionTime, contentTypeCode (ITI TF-3 Table 4.3.1-3).
fn submission_set(
    ss: &SubmissionSet,
    ids: &IdMap,
    ctx: &RegisterContext,
    versions: Versions,
    issues: &mut Vec<Issue>,
) {
    let mut c = Checker {
        location: ids.original(&ss.entry_uuid),
        kind: "SubmissionSet",
        issues,
    };
    if versions == Versions::FirstOnly {
        c.first_version(&ss.entry_uuid, ss.logical_id.as_deref());
    }
    let patient = c.required_text("patientId", value(&ss.patient_id));
    c.patient_id("patientId", patient);
    let unique_id = c.required_text("uniqueId", Some(ss.unique_id.value.as_str()));
    c.oid("uniqueId", unique_id);
    let source_id = c.required_text("sourceId", value(&ss.source_id));
    c.oid("sourceId", source_id);
    let time = c.required_text("submissionTime", ss.submission_time.as_deref());
    c.dtm("submissionTime", time);
    c.required("contentTypeCode", ss.content_type_code.as_ref());
    c.codes(
        ctx,
        "contentTypeCode",
        "contentTypeCode",
        &ss.content_type_code,
    );
    c.authors(&ss.authors);
}

/// DocumentEntry: the attributes Table 4.3.1-3 requires of the Document Registry in ITI-42.
fn document_entry(
    de: &DocumentEntry,
    ids: &IdMap,
    ctx: &RegisterContext,
    versions: Versions,
    issues: &mut Vec<Issue>,
) {
    let mut c = Checker {
        location: ids.original(&de.entry_uuid),
        kind: "DocumentEntry",
        issues,
    };
    if versions == Versions::FirstOnly {
        c.first_version(&de.entry_uuid, de.logical_id.as_deref());
    }
    let stable = match de.object_type.as_deref() {
        Some(object_type::STABLE_DOCUMENT_ENTRY) => true,
        Some(object_type::ON_DEMAND_DOCUMENT_ENTRY) => false,
        Some(other) => {
            c.push(
                "objectType",
                format!("{other:?} is neither the Stable nor the On-Demand DocumentEntry type"),
            );
            true
        }
        None => {
            c.push("objectType", MetadataRule::Missing);
            true
        }
    };
    let patient = c.required_text("patientId", value(&de.patient_id));
    c.patient_id("patientId", patient);
    if let Some(unique_id) = c.required_text("uniqueId", Some(de.unique_id.value.as_str()))
        && unique_id.len() > MAX_DOCUMENT_UNIQUE_ID_BYTES
    {
        c.push(
            "uniqueId",
            format!("is longer than {MAX_DOCUMENT_UNIQUE_ID_BYTES} bytes"),
        );
    }
    c.required("classCode", de.class_code.as_ref());
    c.required("typeCode", de.type_code.as_ref());
    c.required("formatCode", de.format_code.as_ref());
    c.required("confidentialityCode", de.confidentiality_codes.first());
    c.required(
        "healthcareFacilityTypeCode",
        de.healthcare_facility_type_code.as_ref(),
    );
    c.required("practiceSettingCode", de.practice_setting_code.as_ref());
    c.required_text("languageCode", de.language_code.as_deref());
    if let Some(mime) = c.required_text("mimeType", de.mime_type.as_deref())
        && !mime.contains('/')
    {
        c.push("mimeType", format!("{mime:?} is not a MIME type"));
    }
    let source_patient = c.required_text("sourcePatientId", de.source_patient_id.as_deref());
    c.patient_id("sourcePatientId", source_patient);
    // A Stable entry describes stored content: its time, hash, size and repository are known.
    let (creation_time, hash, size, repository) = if stable {
        (
            c.required_text("creationTime", de.creation_time.as_deref()),
            c.required_text("hash", de.hash.as_deref()),
            c.required_text("size", de.size.as_deref()),
            c.required_text("repositoryUniqueId", de.repository_unique_id.as_deref()),
        )
    } else {
        (
            de.creation_time.as_deref(),
            de.hash.as_deref(),
            de.size.as_deref(),
            c.required_text("repositoryUniqueId", de.repository_unique_id.as_deref()),
        )
    };
    c.dtm("creationTime", creation_time);
    c.dtm("serviceStartTime", de.service_start_time.as_deref());
    c.dtm("serviceStopTime", de.service_stop_time.as_deref());
    if let Some(h) = hash
        && !(h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        c.push(
            "hash",
            format!("{h:?} is not a SHA-1 of 40 hexadecimal digits"),
        );
    }
    if let Some(s) = size
        && s.parse::<i64>().map_or(true, |n| n < 0)
    {
        c.push("size", format!("{s:?} is not a number of bytes"));
    }
    c.oid("repositoryUniqueId", repository);
    if let Some(legal) = &de.legal_authenticator {
        c.xcn("legalAuthenticator", legal);
    }
    for reference in &de.reference_ids {
        if let Err(e) = Cx::parse_reference_id(reference) {
            c.push("referenceIdList", e);
        }
    }
    c.authors(&de.authors);
    c.codes(ctx, "classCode", "classCode", &de.class_code);
    c.codes(ctx, "typeCode", "typeCode", &de.type_code);
    c.codes(ctx, "formatCode", "formatCode", &de.format_code);
    c.codes(
        ctx,
        "confidentialityCode",
        "confidentialityCode",
        &de.confidentiality_codes,
    );
    c.codes(
        ctx,
        "healthcareFacilityTypeCode",
        "healthcareFacilityTypeCode",
        &de.healthcare_facility_type_code,
    );
    c.codes(
        ctx,
        "practiceSettingCode",
        "practiceSettingCode",
        &de.practice_setting_code,
    );
    c.codes(ctx, "eventCodeList", "eventCodeList", &de.event_codes);
}

/// Folder: patientId, uniqueId, codeList (ITI TF-3 Table 4.3.1-3); lastUpdateTime is the registry's.
fn folder(
    folder: &Folder,
    ids: &IdMap,
    ctx: &RegisterContext,
    versions: Versions,
    issues: &mut Vec<Issue>,
) {
    let mut c = Checker {
        location: ids.original(&folder.entry_uuid),
        kind: "Folder",
        issues,
    };
    if versions == Versions::FirstOnly {
        c.first_version(&folder.entry_uuid, folder.logical_id.as_deref());
    }
    let patient = c.required_text("patientId", value(&folder.patient_id));
    c.patient_id("patientId", patient);
    let unique_id = c.required_text("uniqueId", Some(folder.unique_id.value.as_str()));
    c.oid("uniqueId", unique_id);
    c.required("codeList", folder.codes.first());
    c.codes(ctx, "codeList", "folderCodeList", &folder.codes);
}

/// ITI TF-2b 3.42.4.1.3: the SubmissionSet, its DocumentEntries and Folders name one patient.
fn patient_ids_match(submission: &Submission, ids: &IdMap, issues: &mut Vec<Issue>) {
    let Some(expected) = value(&submission.submission_set.patient_id) else {
        return;
    };
    let others = submission
        .document_entries
        .iter()
        .map(|d| ("DocumentEntry", d.entry_uuid.as_str(), value(&d.patient_id)))
        .chain(
            submission
                .folders
                .iter()
                .map(|f| ("Folder", f.entry_uuid.as_str(), value(&f.patient_id))),
        );
    for (kind, uuid, patient) in others {
        if let Some(patient) = patient
            && patient != expected
        {
            let location = ids.original(uuid);
            issues.push(Issue::new(
                error_code::XDS_PATIENT_ID_DOES_NOT_MATCH,
                location,
                format!(
                    "{location}: {kind}.patientId {patient:?} differs from SubmissionSet.patientId {expected:?}"
                ),
            ));
        }
    }
}

/// ITI TF-3 Table 4.2.4.1-2: a uniqueId used twice in one submission.
fn unique_ids_once(submission: &Submission, ids: &IdMap, issues: &mut Vec<Issue>) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let all = std::iter::once((
        submission.submission_set.unique_id.value.as_str(),
        submission.submission_set.entry_uuid.as_str(),
    ))
    .chain(
        submission
            .document_entries
            .iter()
            .map(|d| (d.unique_id.value.as_str(), d.entry_uuid.as_str())),
    )
    .chain(
        submission
            .folders
            .iter()
            .map(|f| (f.unique_id.value.as_str(), f.entry_uuid.as_str())),
    );
    for (unique_id, uuid) in all {
        if let Some(first) = seen.insert(unique_id, uuid) {
            let location = ids.original(uuid);
            issues.push(Issue::new(
                error_code::XDS_REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE,
                location,
                format!(
                    "{location}: uniqueId {unique_id:?} is also the uniqueId of {} in this submission",
                    ids.original(first)
                ),
            ));
        }
    }
}
