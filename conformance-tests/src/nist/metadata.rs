//! Preparing a testkit metadata file for sending, as the NIST toolkit does: symbols replaced,
//! RegRep 2.1 converted to 3.0, symbolic ids replaced by fresh UUIDs (`AssignUuids`), fresh
//! uniqueIds on DocumentEntries, SubmissionSets and Folders (unless `NoAssignUids`), and the
//! test's patient id on their patientId identifiers (unless `NoPatientId`).

use std::collections::BTreeMap;

use schemas::constants::identification_scheme as scheme;

use super::convert::{self, ConvertError};
use super::tree::{Element, TreeError, escape};

/// Why a metadata file could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("RegRep 2.1 → 3.0: {0}")]
    Convert(#[from] ConvertError),
}

/// What to rewrite in a submission.
#[derive(Debug, Clone, Copy)]
pub struct Rewrite<'a> {
    pub assign_uuids: bool,
    pub assign_uids: bool,
    /// Symbolic objects whose uniqueId stays as written even when `assign_uids`.
    pub keep_unique_ids_of: &'a [String],
    /// The patient id to set on patientId identifiers; `None` keeps them as written.
    pub patient_id: Option<&'a str>,
}

/// A prepared submission and the log sections later steps read with `UseId`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    pub xml: String,
    /// `AssignedUuids`: symbolic id → UUID.
    pub assigned_uuids: BTreeMap<String, String>,
    /// `AssignedUids`: symbolic id → uniqueId.
    pub assigned_uids: BTreeMap<String, String>,
    /// `AssignedPatientId`: symbolic id → patient id.
    pub assigned_patient_ids: BTreeMap<String, String>,
}

/// Replaces each symbol (`$patientid$`, `$uuid1$`, ...) by its value, XML-escaped.
pub fn substitute(text: &str, symbols: &[(String, String)]) -> String {
    let mut ordered: Vec<&(String, String)> =
        symbols.iter().filter(|(s, _)| !s.is_empty()).collect();
    ordered.sort_by_key(|(symbol, _)| std::cmp::Reverse(symbol.len()));
    ordered
        .into_iter()
        .fold(text.to_owned(), |acc, (symbol, value)| {
            acc.replace(symbol.as_str(), &escape(value))
        })
}

/// A fresh uniqueId: the UUID-derived OID of ITU-T X.667 (`2.25.<decimal UUID>`).
pub fn fresh_unique_id() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

/// A fresh `urn:uuid:` id.
pub fn fresh_uuid() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

const UNIQUE_ID_SCHEMES: [&str; 3] = [
    scheme::DOCUMENT_ENTRY_UNIQUE_ID,
    scheme::SUBMISSION_SET_UNIQUE_ID,
    scheme::FOLDER_UNIQUE_ID,
];

const PATIENT_ID_SCHEMES: [&str; 3] = [
    scheme::DOCUMENT_ENTRY_PATIENT_ID,
    scheme::SUBMISSION_SET_PATIENT_ID,
    scheme::FOLDER_PATIENT_ID,
];

/// Attributes that hold the id of a registry object.
const REFERENCE_ATTRIBUTES: [&str; 5] = [
    "id",
    "classifiedObject",
    "sourceObject",
    "targetObject",
    "registryObject",
];

/// Prepares a submission (symbols already substituted): converts 2.1, then applies `rewrite`.
pub fn prepare_submission(xml: &str, rewrite: Rewrite<'_>) -> Result<Prepared, MetadataError> {
    let mut document = Element::parse(xml)?;
    if convert::is_regrep_21(&document) {
        document = convert::submit_objects_request_21_to_30(&document)?;
    }
    let mut prepared = Prepared::default();
    document.walk_mut(&mut |e| {
        if e.name != "ExternalIdentifier" {
            return;
        }
        let owner = e.attribute("registryObject").unwrap_or_default().to_owned();
        let identification = e.attribute("identificationScheme").unwrap_or_default();
        if UNIQUE_ID_SCHEMES.contains(&identification) {
            if rewrite.assign_uids && !rewrite.keep_unique_ids_of.contains(&owner) {
                e.set_attribute("value", &fresh_unique_id());
            }
            let value = e.attribute("value").unwrap_or_default().to_owned();
            prepared.assigned_uids.insert(owner, value);
        } else if PATIENT_ID_SCHEMES.contains(&identification) {
            if let Some(patient) = rewrite.patient_id {
                e.set_attribute("value", patient);
            }
            let value = e.attribute("value").unwrap_or_default().to_owned();
            prepared.assigned_patient_ids.insert(owner, value);
        }
    });
    if rewrite.assign_uuids {
        document.walk(&mut |e| {
            if let Some(id) = e.attribute("id")
                && !id.starts_with("urn:uuid:")
                && !prepared.assigned_uuids.contains_key(id)
            {
                prepared.assigned_uuids.insert(id.to_owned(), fresh_uuid());
            }
        });
        let uuids = prepared.assigned_uuids.clone();
        document.walk_mut(&mut |e| {
            for (name, value) in &mut e.attributes {
                if REFERENCE_ATTRIBUTES.contains(&name.as_str())
                    && let Some(uuid) = uuids.get(value.as_str())
                {
                    value.clone_from(uuid);
                }
            }
        });
    }
    prepared.xml = document.to_xml();
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBMISSION: &str = r#"<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>
      <rim:ExtrinsicObject id="Document01">
        <rim:ExternalIdentifier id="ei1" registryObject="Document01" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" value="$patientid$"/>
        <rim:ExternalIdentifier id="ei2" registryObject="Document01" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" value="Document01"/>
      </rim:ExtrinsicObject>
      <rim:Association id="a1" sourceObject="SubmissionSet01" targetObject="Document01" associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"/>
      <rim:Association id="a2" sourceObject="Document01" targetObject="urn:uuid:11111111-1111-1111-1111-111111111111" associationType="urn:ihe:iti:2007:AssociationType:RPLC"/>
    </rim:RegistryObjectList></lcm:SubmitObjectsRequest>"#;

    const ALL: Rewrite<'static> = Rewrite {
        assign_uuids: true,
        assign_uids: true,
        keep_unique_ids_of: &[],
        patient_id: Some("P1^^^&1.2.3&ISO"),
    };

    #[test]
    fn symbols_are_replaced_escaped_longest_first() {
        let symbols = [
            ("$uuid$".to_owned(), "A".to_owned()),
            ("$uuid1$".to_owned(), "B&C".to_owned()),
        ];
        assert_eq!(substitute("$uuid1$ $uuid$", &symbols), "B&amp;C A");
    }

    #[test]
    fn assign_uuids_replaces_every_symbolic_id_and_reference() {
        let prepared = prepare_submission(SUBMISSION, ALL).unwrap();
        let uuid = &prepared.assigned_uuids["Document01"];
        assert!(uuid.starts_with("urn:uuid:"));
        assert!(!prepared.xml.contains("\"Document01\""), "{}", prepared.xml);
        assert!(prepared.xml.contains(&format!("targetObject=\"{uuid}\"")));
        assert!(
            prepared
                .xml
                .contains("urn:uuid:11111111-1111-1111-1111-111111111111")
        );
        assert!(
            !prepared
                .assigned_uuids
                .contains_key("urn:uuid:11111111-1111-1111-1111-111111111111")
        );
    }

    #[test]
    fn without_assign_uuids_symbolic_ids_stay() {
        let prepared = prepare_submission(
            SUBMISSION,
            Rewrite {
                assign_uuids: false,
                ..ALL
            },
        )
        .unwrap();
        assert!(prepared.assigned_uuids.is_empty());
        assert!(prepared.xml.contains("id=\"Document01\""));
    }

    #[test]
    fn unique_ids_are_fresh_oids_recorded_by_symbolic_id() {
        let prepared = prepare_submission(SUBMISSION, ALL).unwrap();
        let uid = &prepared.assigned_uids["Document01"];
        assert!(uid.starts_with("2.25."));
        assert!(prepared.xml.contains(uid.as_str()));
    }

    #[test]
    fn no_assign_uids_keeps_the_written_unique_id() {
        let prepared = prepare_submission(
            SUBMISSION,
            Rewrite {
                assign_uids: false,
                ..ALL
            },
        )
        .unwrap();
        assert_eq!(prepared.assigned_uids["Document01"], "Document01");
    }

    #[test]
    fn no_assign_uids_for_one_object_keeps_only_its_unique_id() {
        let keep = ["Document01".to_owned()];
        let prepared = prepare_submission(
            SUBMISSION,
            Rewrite {
                keep_unique_ids_of: &keep,
                ..ALL
            },
        )
        .unwrap();
        assert_eq!(prepared.assigned_uids["Document01"], "Document01");
    }

    #[test]
    fn the_patient_id_is_set_and_recorded() {
        let prepared = prepare_submission(SUBMISSION, ALL).unwrap();
        assert_eq!(
            prepared.assigned_patient_ids["Document01"],
            "P1^^^&1.2.3&ISO"
        );
        assert!(prepared.xml.contains("P1^^^&amp;1.2.3&amp;ISO"));
        let kept = prepare_submission(
            SUBMISSION,
            Rewrite {
                patient_id: None,
                ..ALL
            },
        )
        .unwrap();
        assert_eq!(kept.assigned_patient_ids["Document01"], "$patientid$");
    }
}
