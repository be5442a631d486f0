//! A whole RegistryObjectList sorted into XDS objects: a submission (ITI-41/42/57) or the
//! objects of a query response (ITI-18).

use super::entries::{PackageKind, package_kind};
use super::{Association, DocumentEntry, Folder, MetadataError, MetadataRule, SubmissionSet};
use crate::constants::classification_node as node;
use crate::ebrim::{Classification, Identifiable, RegistryObjectList};

/// The XDS objects of a RegistryObjectList, sorted by kind (e.g. an ITI-18 LeafClass response).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetadataObjects {
    /// SubmissionSets, in list order.
    pub submission_sets: Vec<SubmissionSet>,
    /// DocumentEntries, in list order.
    pub document_entries: Vec<DocumentEntry>,
    /// Folders, in list order.
    pub folders: Vec<Folder>,
    /// Associations, in list order.
    pub associations: Vec<Association>,
    /// Top-level objects that are none of the above (ObjectRefs, other classifications, ...).
    pub other_objects: Vec<Identifiable>,
    /// Keys (id, or the text of a raw object) of the top-level objects in original order.
    pub layout: Vec<String>,
}

fn key(object: &Identifiable) -> String {
    match object {
        Identifiable::ExtrinsicObject(o) => o.object.id.clone(),
        Identifiable::RegistryPackage(o) => o.object.id.clone(),
        Identifiable::Association(o) => o.object.id.clone(),
        Identifiable::Classification(o) => o.object.id.clone(),
        Identifiable::ExternalIdentifier(o) => o.object.id.clone(),
        Identifiable::ObjectRef(o) => o.id.clone(),
        Identifiable::Raw(text) => text.clone(),
    }
}

fn is_package_marker(c: &Classification) -> bool {
    matches!(
        c.classification_node.as_deref(),
        Some(node::SUBMISSION_SET | node::FOLDER)
    )
}

impl MetadataObjects {
    /// Sorts the objects of `list` by kind. A top-level classification to the SubmissionSet or
    /// Folder node whose classifiedObject is a RegistryPackage of the list is folded into that
    /// package; any other top-level object the model does not know is kept in `other_objects`.
    pub fn from_object_list(list: &RegistryObjectList) -> Result<Self, MetadataError> {
        let package_ids: Vec<&str> = list
            .objects
            .iter()
            .filter_map(|o| match o {
                Identifiable::RegistryPackage(p) => Some(p.object.id.as_str()),
                _ => None,
            })
            .collect();
        let folded = |c: &Classification| {
            is_package_marker(c) && package_ids.contains(&c.classified_object.as_str())
        };
        let markers: Vec<&Classification> = list
            .objects
            .iter()
            .filter_map(|o| match o {
                Identifiable::Classification(c) if folded(c) => Some(c),
                _ => None,
            })
            .collect();
        let mut out = MetadataObjects {
            layout: list.objects.iter().map(key).collect(),
            ..MetadataObjects::default()
        };
        for object in &list.objects {
            match object {
                Identifiable::ExtrinsicObject(eo) => {
                    out.document_entries.push(DocumentEntry::from_rim(eo)?)
                }
                Identifiable::RegistryPackage(p) => {
                    let mine: Vec<&Classification> = markers
                        .iter()
                        .copied()
                        .filter(|c| c.classified_object == p.object.id)
                        .collect();
                    let kind = package_kind(p, &mine)?;
                    let wanted = match kind {
                        PackageKind::SubmissionSet => node::SUBMISSION_SET,
                        PackageKind::Folder => node::FOLDER,
                    };
                    let of_kind: Vec<&Classification> = mine
                        .iter()
                        .copied()
                        .filter(|c| c.classification_node.as_deref() == Some(wanted))
                        .collect();
                    if of_kind.len() > 1 {
                        return Err(MetadataError {
                            object_id: p.object.id.clone(),
                            attribute: "RegistryPackage".to_owned(),
                            rule: MetadataRule::Repeated {
                                count: of_kind.len(),
                            },
                        });
                    }
                    let top = of_kind.first().copied();
                    match kind {
                        PackageKind::SubmissionSet => {
                            out.submission_sets.push(SubmissionSet::from_rim(p, top)?)
                        }
                        PackageKind::Folder => out.folders.push(Folder::from_rim(p, top)?),
                    }
                }
                Identifiable::Association(a) => out.associations.push(Association::from_rim(a)?),
                Identifiable::Classification(c) if folded(c) => {}
                other => out.other_objects.push(other.clone()),
            }
        }
        Ok(out)
    }

    /// Writes the objects back as a RegistryObjectList, in the original order where known
    /// (objects not in `layout` follow in the order DocumentEntries, SubmissionSets, Folders,
    /// Associations, others).
    pub fn to_object_list(&self) -> RegistryObjectList {
        let mut objects = Vec::new();
        for de in &self.document_entries {
            objects.push(Identifiable::ExtrinsicObject(de.to_rim()));
        }
        for ss in &self.submission_sets {
            objects.push(Identifiable::RegistryPackage(ss.to_rim()));
            if let Some(c) = ss.top_level_marker() {
                objects.push(Identifiable::Classification(c.clone()));
            }
        }
        for folder in &self.folders {
            objects.push(Identifiable::RegistryPackage(folder.to_rim()));
            if let Some(c) = folder.top_level_marker() {
                objects.push(Identifiable::Classification(c.clone()));
            }
        }
        for a in &self.associations {
            objects.push(Identifiable::Association(a.to_rim()));
        }
        objects.extend(self.other_objects.iter().cloned());
        objects.sort_by_key(|o| {
            let k = key(o);
            self.layout
                .iter()
                .position(|l| *l == k)
                .unwrap_or(usize::MAX)
        });
        RegistryObjectList { objects }
    }
}

/// The metadata of one submission (ITI-41, ITI-42, ITI-57): exactly one SubmissionSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The SubmissionSet.
    pub submission_set: SubmissionSet,
    /// DocumentEntries, in list order.
    pub document_entries: Vec<DocumentEntry>,
    /// Folders, in list order.
    pub folders: Vec<Folder>,
    /// Associations, in list order.
    pub associations: Vec<Association>,
    /// Top-level objects that are none of the above (ObjectRefs, other classifications, ...).
    pub other_objects: Vec<Identifiable>,
    /// Keys (id, or the text of a raw object) of the top-level objects in original order.
    pub layout: Vec<String>,
}

impl Submission {
    /// Sorts the objects of a submission; it must have exactly one SubmissionSet.
    pub fn from_object_list(list: &RegistryObjectList) -> Result<Self, MetadataError> {
        let mut all = MetadataObjects::from_object_list(list)?;
        if all.submission_sets.len() != 1 {
            let object_id = all
                .submission_sets
                .get(1)
                .map(|s| s.entry_uuid.clone())
                .unwrap_or_default();
            return Err(MetadataError {
                object_id,
                attribute: "SubmissionSet".to_owned(),
                rule: MetadataRule::SubmissionSetCount {
                    count: all.submission_sets.len(),
                },
            });
        }
        let submission_set = all.submission_sets.remove(0);
        Ok(Submission {
            submission_set,
            document_entries: all.document_entries,
            folders: all.folders,
            associations: all.associations,
            other_objects: all.other_objects,
            layout: all.layout,
        })
    }

    /// Writes the submission back as a RegistryObjectList (see [`MetadataObjects::to_object_list`]).
    pub fn to_object_list(&self) -> RegistryObjectList {
        MetadataObjects {
            submission_sets: vec![self.submission_set.clone()],
            document_entries: self.document_entries.clone(),
            folders: self.folders.clone(),
            associations: self.associations.clone(),
            other_objects: self.other_objects.clone(),
            layout: self.layout.clone(),
        }
        .to_object_list()
    }
}
