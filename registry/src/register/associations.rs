//! ITI-42 Association rules (ITI TF-3 4.2.2): SubmissionSet and Folder membership, document
//! relationships (RPLC, XFRM, APND, XFRM_RPLC, signs) and what a replacement changes.

use std::collections::{BTreeMap, HashMap, HashSet};

use schemas::constants::error_code;
use schemas::xds::{Association, AssociationType, DocumentEntry, Folder, MetadataRule, Submission};

use super::ids::IdMap;
use super::issue::Issue;
use super::state::RegistryState;
use crate::storage::{AvailabilityStatus, ObjectKind, StoredObject};

/// SubmissionSetStatus of a DocumentEntry submitted in this SubmissionSet (ITI TF-3 4.2.2.1.1).
const ORIGINAL: &str = "Original";
/// SubmissionSetStatus of a registered DocumentEntry the SubmissionSet refers to.
const REFERENCE: &str = "Reference";

/// What an accepted submission changes beyond its own rows.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Registered DocumentEntries to deprecate (RPLC / XFRM_RPLC targets and their transformations).
    pub(crate) deprecate: Vec<String>,
    /// (Folder, DocumentEntry) memberships the registry creates: a replacement joins the
    /// Folders of the document it replaces.
    pub(crate) folder_additions: Vec<(String, String)>,
    /// Registered Folders that gain members, by entryUUID.
    pub(crate) touched_folders: BTreeMap<String, StoredObject>,
}

/// An association endpoint.
#[derive(Clone, Copy)]
enum Node<'a> {
    SubmissionSet,
    NewDocument(&'a DocumentEntry),
    NewFolder(&'a Folder),
    NewAssociation,
    Registered(&'a StoredObject),
}

impl Node<'_> {
    /// The patient of a DocumentEntry or Folder endpoint.
    fn patient(&self) -> Option<&str> {
        match self {
            Node::NewDocument(d) => d.patient_id.as_ref().map(|p| p.value.as_str()),
            Node::NewFolder(f) => f.patient_id.as_ref().map(|p| p.value.as_str()),
            Node::Registered(o) => Some(o.patient_id.as_str()),
            Node::SubmissionSet | Node::NewAssociation => None,
        }
    }

    fn is_document(&self) -> bool {
        match self {
            Node::NewDocument(_) => true,
            Node::Registered(o) => o.kind == ObjectKind::DocumentEntry,
            _ => false,
        }
    }
}

struct Checker<'a> {
    ids: &'a IdMap,
    state: &'a RegistryState,
    nodes: HashMap<&'a str, Node<'a>>,
    issues: &'a mut Vec<Issue>,
    plan: Plan,
    members: HashSet<&'a str>,
    replaced: HashSet<&'a str>,
}

impl<'a> Checker<'a> {
    fn resolve(&mut self, a: &Association, attribute: &str, id: &'a str) -> Option<Node<'a>> {
        if let Some(node) = self.nodes.get(id) {
            return Some(*node);
        }
        if let Some(object) = self.state.objects.get(id) {
            return Some(Node::Registered(object));
        }
        let location = self.ids.original(&a.entry_uuid);
        self.issues.push(Issue::new(
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            location,
            format!(
                "{location}: Association.{attribute} {:?} is neither in the submission nor in the registry",
                self.ids.original(id)
            ),
        ));
        None
    }

    fn metadata(&mut self, a: &Association, attribute: &str, rule: impl std::fmt::Display) {
        let location = self.ids.original(&a.entry_uuid);
        self.issues.push(Issue::metadata(
            location,
            &format!("Association.{attribute}"),
            rule,
        ));
    }

    fn same_patient(&mut self, a: &Association, source: Node<'_>, target: Node<'_>) {
        if let (Some(s), Some(t)) = (source.patient(), target.patient())
            && s != t
        {
            let location = self.ids.original(&a.entry_uuid);
            self.issues.push(Issue::new(
                error_code::XDS_PATIENT_ID_DOES_NOT_MATCH,
                location,
                format!(
                    "{location}: {} associates patient {s:?} with patient {t:?}",
                    a.association_type.urn()
                ),
            ));
        }
    }

    /// ITI TF-3 4.2.2.1: HasMember from the SubmissionSet or from a Folder.
    fn has_member(&mut self, a: &'a Association, source: Node<'a>, target: Node<'a>) {
        match (source, target) {
            (Node::SubmissionSet, Node::NewDocument(d)) => {
                self.members.insert(&d.entry_uuid);
                self.submission_set_status(a, ORIGINAL, "a DocumentEntry of this submission");
            }
            (Node::SubmissionSet, Node::Registered(o)) if o.kind == ObjectKind::DocumentEntry => {
                self.submission_set_status(a, REFERENCE, "a registered DocumentEntry");
                self.same_patient(a, source, target);
            }
            (Node::SubmissionSet, Node::NewFolder(f)) => {
                self.members.insert(&f.entry_uuid);
            }
            (Node::SubmissionSet, Node::NewAssociation) => {}
            (Node::SubmissionSet, _) => self.metadata(
                a,
                "targetObject",
                "a SubmissionSet HasMember targets a DocumentEntry, a Folder or an Association",
            ),
            (Node::NewFolder(_), t) if t.is_document() => self.same_patient(a, source, target),
            (Node::Registered(folder), t)
                if folder.kind == ObjectKind::Folder && t.is_document() =>
            {
                self.same_patient(a, source, target);
                self.plan
                    .touched_folders
                    .insert(folder.entry_uuid.clone(), folder.clone());
            }
            (Node::NewFolder(_) | Node::Registered(_), _) => self.metadata(
                a,
                "targetObject",
                "a HasMember from a Folder targets a DocumentEntry",
            ),
            _ => self.metadata(
                a,
                "sourceObject",
                "a HasMember's source is the SubmissionSet or a Folder",
            ),
        }
    }

    fn submission_set_status(&mut self, a: &Association, expected: &str, what: &str) {
        match a.submission_set_status.as_deref() {
            Some(found) if found == expected => {}
            Some(found) => self.metadata(
                a,
                "SubmissionSetStatus",
                format!("is {found:?}; a HasMember to {what} carries {expected:?}"),
            ),
            None => self.metadata(a, "SubmissionSetStatus", MetadataRule::Missing),
        }
    }

    /// ITI TF-3 4.2.2.2: a new DocumentEntry related to a registered, Approved DocumentEntry of
    /// the same patient.
    fn relationship(&mut self, a: &'a Association, source: Node<'a>, target: Node<'a>) {
        let Node::NewDocument(new_document) = source else {
            self.metadata(
                a,
                "sourceObject",
                format!(
                    "the source of {} is a DocumentEntry of this submission",
                    a.association_type.urn()
                ),
            );
            return;
        };
        let registered = match target {
            Node::Registered(o) if o.kind == ObjectKind::DocumentEntry => o,
            Node::NewDocument(_) if a.association_type == AssociationType::Signs => return,
            _ => {
                self.metadata(
                    a,
                    "targetObject",
                    format!(
                        "the target of {} is a registered DocumentEntry",
                        a.association_type.urn()
                    ),
                );
                return;
            }
        };
        self.same_patient(a, source, target);
        if registered.status != AvailabilityStatus::Approved {
            let location = self.ids.original(&a.entry_uuid);
            self.issues.push(Issue::new(
                error_code::XDS_REGISTRY_DEPRECATED_DOCUMENT_ERROR,
                location,
                format!(
                    "{location}: {} targets DocumentEntry {} whose status is {}, not Approved",
                    a.association_type.urn(),
                    registered.entry_uuid,
                    registered.status
                ),
            ));
            return;
        }
        if matches!(
            a.association_type,
            AssociationType::Replace | AssociationType::TransformAndReplace
        ) {
            if !self.replaced.insert(&registered.entry_uuid) {
                self.metadata(
                    a,
                    "targetObject",
                    format!(
                        "{} is replaced twice in one submission",
                        registered.entry_uuid
                    ),
                );
                return;
            }
            self.replace(registered, new_document);
        }
    }

    /// RPLC / XFRM_RPLC (ITI TF-3 4.2.2.2.2, 4.2.2.2.5): the replaced entry and its
    /// transformations are deprecated, and the replacement joins the replaced entry's Folders.
    fn replace(&mut self, replaced: &StoredObject, replacement: &DocumentEntry) {
        self.plan.deprecate.push(replaced.entry_uuid.clone());
        if let Some(transformations) = self.state.transformations_of.get(&replaced.entry_uuid) {
            self.plan.deprecate.extend(transformations.iter().cloned());
        }
        if let Some(folders) = self.state.folders_of.get(&replaced.entry_uuid) {
            for folder in folders {
                self.plan
                    .folder_additions
                    .push((folder.entry_uuid.clone(), replacement.entry_uuid.clone()));
                self.plan
                    .touched_folders
                    .insert(folder.entry_uuid.clone(), folder.clone());
            }
        }
    }
}

/// Checks the Associations of `submission` against it and the registry; returns the changes
/// the submission makes to registered objects.
pub(crate) fn check(
    submission: &Submission,
    ids: &IdMap,
    state: &RegistryState,
    issues: &mut Vec<Issue>,
) -> Plan {
    let mut nodes: HashMap<&str, Node<'_>> = HashMap::new();
    nodes.insert(&submission.submission_set.entry_uuid, Node::SubmissionSet);
    for d in &submission.document_entries {
        nodes.insert(&d.entry_uuid, Node::NewDocument(d));
    }
    for f in &submission.folders {
        nodes.insert(&f.entry_uuid, Node::NewFolder(f));
    }
    for a in &submission.associations {
        nodes.insert(&a.entry_uuid, Node::NewAssociation);
    }
    let mut checker = Checker {
        ids,
        state,
        nodes,
        issues,
        plan: Plan::default(),
        members: HashSet::new(),
        replaced: HashSet::new(),
    };
    for a in &submission.associations {
        let source = checker.resolve(a, "sourceObject", &a.source);
        let target = checker.resolve(a, "targetObject", &a.target);
        let (Some(source), Some(target)) = (source, target) else {
            continue;
        };
        match &a.association_type {
            AssociationType::HasMember => checker.has_member(a, source, target),
            t if t.is_document_relationship() || *t == AssociationType::IsSnapshotOf => {
                checker.relationship(a, source, target)
            }
            other => checker.metadata(
                a,
                "associationType",
                format!(
                    "{:?} is not allowed in Register Document Set-b",
                    other.urn()
                ),
            ),
        }
    }
    let unlisted: Vec<&str> = submission
        .document_entries
        .iter()
        .map(|d| d.entry_uuid.as_str())
        .chain(submission.folders.iter().map(|f| f.entry_uuid.as_str()))
        .filter(|id| !checker.members.contains(id))
        .collect();
    for id in unlisted {
        let location = ids.original(id);
        checker.issues.push(Issue::metadata(
            location,
            "SubmissionSet membership",
            "is not the target of a HasMember Association from the SubmissionSet",
        ));
    }
    let mut plan = checker.plan;
    plan.deprecate.sort();
    plan.deprecate.dedup();
    plan
}
