//! ITI-42 symbolic ids (ITI TF-3 4.2.3.1.5, ebRS 3.0 5.1.2): every id of a submitted object that
//! is not a `urn:uuid:` UUID is replaced by a fresh UUID, and every reference to it (Association
//! sourceObject/targetObject, Classification classifiedObject, ExternalIdentifier registryObject,
//! logicalID) is rewritten with it.

use std::collections::{HashMap, HashSet};

use schemas::constants::error_code;
use schemas::ebrim::{
    Classification, ExternalIdentifier, Identifiable, RegistryObject, RegistryObjectList,
};

use super::issue::Issue;

/// True when `id` is `urn:uuid:` followed by a UUID.
pub(crate) fn is_uuid_urn(id: &str) -> bool {
    id.strip_prefix("urn:uuid:")
        .is_some_and(|u| uuid::Uuid::parse_str(u).is_ok())
}

/// A fresh `urn:uuid:` id assigned by the registry.
pub(crate) fn new_uuid_urn() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// The symbolic ids of one submission and the UUIDs the registry gave them.
#[derive(Debug, Default)]
pub(crate) struct IdMap {
    assigned: HashMap<String, String>,
    original: HashMap<String, String>,
}

impl IdMap {
    /// The id the submitter used for the object now called `id` (for error locations).
    pub(crate) fn original<'a>(&'a self, id: &'a str) -> &'a str {
        self.original.get(id).map_or(id, String::as_str)
    }

    fn assign(&mut self, id: &str) {
        if !is_uuid_urn(id) && !self.assigned.contains_key(id) {
            let uuid = new_uuid_urn();
            self.original.insert(uuid.clone(), id.to_owned());
            self.assigned.insert(id.to_owned(), uuid);
        }
    }

    fn assign_object(&mut self, object: &RegistryObject) {
        self.assign(&object.id);
        for c in &object.classifications {
            self.assign_object(&c.object);
        }
        for e in &object.external_identifiers {
            self.assign_object(&e.object);
        }
    }

    /// Assigns UUIDs to the symbolic ids of `list` and returns the list with every id and
    /// reference rewritten. A symbolic reference to an id that no object of the submission
    /// carries is an UnresolvedReferenceException; two top-level objects with one id are an
    /// XDSRegistryMetadataError.
    pub(crate) fn rewrite(
        list: &RegistryObjectList,
        issues: &mut Vec<Issue>,
    ) -> (Self, RegistryObjectList) {
        let mut map = IdMap::default();
        let mut seen = HashSet::new();
        for object in &list.objects {
            if let Some(o) = registry_object(object) {
                map.assign_object(o);
                if !seen.insert(o.id.clone()) {
                    issues.push(Issue::metadata(
                        &o.id,
                        "id",
                        "two objects of the submission carry this id",
                    ));
                }
            }
        }
        let mut rewriter = Rewriter { map: &map, issues };
        let objects = list
            .objects
            .iter()
            .map(|o| rewriter.identifiable(o))
            .collect();
        (map, RegistryObjectList { objects })
    }
}

fn registry_object(object: &Identifiable) -> Option<&RegistryObject> {
    match object {
        Identifiable::ExtrinsicObject(o) => Some(&o.object),
        Identifiable::RegistryPackage(o) => Some(&o.object),
        Identifiable::Association(o) => Some(&o.object),
        Identifiable::Classification(o) => Some(&o.object),
        Identifiable::ExternalIdentifier(o) => Some(&o.object),
        Identifiable::ObjectRef(_) | Identifiable::Raw(_) => None,
    }
}

struct Rewriter<'a> {
    map: &'a IdMap,
    issues: &'a mut Vec<Issue>,
}

impl Rewriter<'_> {
    fn id(&self, id: &str) -> String {
        self.map
            .assigned
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    /// A reference from the object `referrer` (its id as submitted) in `attribute`.
    fn reference(&mut self, target: &str, referrer: &str, attribute: &str) -> String {
        if let Some(uuid) = self.map.assigned.get(target) {
            return uuid.clone();
        }
        if !is_uuid_urn(target) {
            self.issues.push(Issue::new(
                error_code::UNRESOLVED_REFERENCE_EXCEPTION,
                referrer,
                format!(
                    "{referrer}: {attribute} {target:?} is a symbolic id that no object of the submission carries"
                ),
            ));
        }
        target.to_owned()
    }

    fn object(&mut self, object: &RegistryObject) -> RegistryObject {
        let mut out = object.clone();
        out.id = self.id(&object.id);
        out.lid = object.lid.as_deref().map(|lid| self.id(lid));
        out.classifications = object
            .classifications
            .iter()
            .map(|c| self.classification(c))
            .collect();
        out.external_identifiers = object
            .external_identifiers
            .iter()
            .map(|e| self.external_identifier(e))
            .collect();
        out
    }

    fn classification(&mut self, c: &Classification) -> Classification {
        Classification {
            object: self.object(&c.object),
            classified_object: self.reference(
                &c.classified_object,
                &c.object.id,
                "classifiedObject",
            ),
            ..c.clone()
        }
    }

    fn external_identifier(&mut self, e: &ExternalIdentifier) -> ExternalIdentifier {
        ExternalIdentifier {
            object: self.object(&e.object),
            registry_object: self.reference(&e.registry_object, &e.object.id, "registryObject"),
            ..e.clone()
        }
    }

    fn identifiable(&mut self, object: &Identifiable) -> Identifiable {
        match object {
            Identifiable::ExtrinsicObject(o) => {
                let mut out = o.clone();
                out.object = self.object(&o.object);
                Identifiable::ExtrinsicObject(out)
            }
            Identifiable::RegistryPackage(o) => {
                let mut out = o.clone();
                out.object = self.object(&o.object);
                Identifiable::RegistryPackage(out)
            }
            Identifiable::Association(o) => {
                let mut out = o.clone();
                out.object = self.object(&o.object);
                out.source_object = self.reference(&o.source_object, &o.object.id, "sourceObject");
                out.target_object = self.reference(&o.target_object, &o.object.id, "targetObject");
                Identifiable::Association(out)
            }
            Identifiable::Classification(c) => Identifiable::Classification(self.classification(c)),
            Identifiable::ExternalIdentifier(e) => {
                Identifiable::ExternalIdentifier(self.external_identifier(e))
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_urn_is_recognised_and_symbolic_id_is_not() {
        assert!(is_uuid_urn("urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"));
        assert!(!is_uuid_urn("Document01"));
        assert!(!is_uuid_urn("urn:uuid:not-a-uuid"));
        assert!(is_uuid_urn(&new_uuid_urn()));
    }
}
