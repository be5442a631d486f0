//! Taking an ebRIM object apart into XDS attributes ([`Parts`]) and putting it back together
//! ([`Builder`]), keeping the original order through [`RimLayout`].

use super::{Author, Code, ExternalId, MetadataError, MetadataRule, RimLayout};
use crate::ebrim::{Classification, ExternalIdentifier, RegistryObject, Slot};

/// A fresh `urn:uuid:` id for objects built in code.
pub(crate) fn new_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

impl RimLayout {
    /// The order of the children of `object`.
    pub(crate) fn of(object: &RegistryObject) -> Self {
        RimLayout {
            slots: object
                .slots
                .iter()
                .map(|s| (s.name.clone(), s.slot_type.clone()))
                .collect(),
            classifications: object
                .classifications
                .iter()
                .map(|c| c.object.id.clone())
                .collect(),
            external_identifiers: object
                .external_identifiers
                .iter()
                .map(|e| e.object.id.clone())
                .collect(),
        }
    }

    /// Puts the children of `object` back in the recorded order (children not recorded keep
    /// their relative order, after the recorded ones) and restores recorded slotTypes.
    pub(crate) fn apply(&self, object: &mut RegistryObject) {
        for slot in &mut object.slots {
            if slot.slot_type.is_none()
                && let Some((_, t)) = self.slots.iter().find(|(n, _)| *n == slot.name)
            {
                slot.slot_type.clone_from(t);
            }
        }
        let position =
            |keys: &[String], key: &str| keys.iter().position(|k| k == key).unwrap_or(usize::MAX);
        let slot_names: Vec<String> = self.slots.iter().map(|(n, _)| n.clone()).collect();
        object.slots.sort_by_key(|s| position(&slot_names, &s.name));
        object
            .classifications
            .sort_by_key(|c| position(&self.classifications, &c.object.id));
        object
            .external_identifiers
            .sort_by_key(|e| position(&self.external_identifiers, &e.object.id));
    }
}

/// An ebRIM object being taken apart: what is not taken stays as the "extra" content.
pub(crate) struct Parts {
    pub(crate) object: RegistryObject,
    pub(crate) layout: RimLayout,
}

impl Parts {
    pub(crate) fn new(object: &RegistryObject) -> Self {
        Parts {
            layout: RimLayout::of(object),
            object: object.clone(),
        }
    }

    pub(crate) fn error(&self, attribute: &str, rule: MetadataRule) -> MetadataError {
        MetadataError {
            object_id: self.object.id.clone(),
            attribute: attribute.to_owned(),
            rule,
        }
    }

    fn take_slots(&mut self, name: &str) -> Vec<Slot> {
        let (taken, kept) = std::mem::take(&mut self.object.slots)
            .into_iter()
            .partition(|s| s.name == name);
        self.object.slots = kept;
        taken
    }

    /// A slot of at most one slot with exactly one value.
    pub(crate) fn single_slot(
        &mut self,
        name: &str,
        attribute: &str,
    ) -> Result<Option<String>, MetadataError> {
        let mut slots = self.take_slots(name);
        match slots.len() {
            0 => Ok(None),
            1 => {
                let slot = slots.remove(0);
                if slot.values.len() != 1 {
                    return Err(self.error(
                        attribute,
                        MetadataRule::SingleValue {
                            found: slot.values.len(),
                        },
                    ));
                }
                Ok(slot.values.into_iter().next())
            }
            count => Err(self.error(attribute, MetadataRule::Repeated { count })),
        }
    }

    /// A slot of at most one slot with one or more values.
    pub(crate) fn multi_slot(
        &mut self,
        name: &str,
        attribute: &str,
    ) -> Result<Vec<String>, MetadataError> {
        let mut slots = self.take_slots(name);
        match slots.len() {
            0 => Ok(Vec::new()),
            1 => {
                let slot = slots.remove(0);
                if slot.values.is_empty() {
                    return Err(self.error(attribute, MetadataRule::NoValue));
                }
                Ok(slot.values)
            }
            count => Err(self.error(attribute, MetadataRule::Repeated { count })),
        }
    }

    fn take_classifications(
        &mut self,
        keep: impl Fn(&Classification) -> bool,
    ) -> Vec<Classification> {
        let (taken, kept) = std::mem::take(&mut self.object.classifications)
            .into_iter()
            .partition(|c| keep(c));
        self.object.classifications = kept;
        taken
    }

    fn check_classified(&self, c: &Classification, attribute: &str) -> Result<(), MetadataError> {
        if c.classified_object != self.object.id {
            return Err(MetadataError {
                object_id: self.object.id.clone(),
                attribute: attribute.to_owned(),
                rule: MetadataRule::ClassifiedObjectMismatch {
                    found: c.classified_object.clone(),
                },
            });
        }
        Ok(())
    }

    /// Nested classifications of an external classification scheme, as codes.
    pub(crate) fn codes(
        &mut self,
        scheme: &str,
        attribute: &str,
    ) -> Result<Vec<Code>, MetadataError> {
        let taken = self.take_classifications(|c| {
            c.classification_scheme.as_deref() == Some(scheme) && c.classification_node.is_none()
        });
        taken
            .into_iter()
            .map(|c| {
                self.check_classified(&c, attribute)?;
                code_from(c, attribute)
            })
            .collect()
    }

    /// At most one code of a scheme.
    pub(crate) fn single_code(
        &mut self,
        scheme: &str,
        attribute: &str,
    ) -> Result<Option<Code>, MetadataError> {
        let mut codes = self.codes(scheme, attribute)?;
        match codes.len() {
            0 | 1 => Ok(codes.pop()),
            count => Err(self.error(attribute, MetadataRule::Repeated { count })),
        }
    }

    /// Nested author classifications.
    pub(crate) fn authors(
        &mut self,
        scheme: &str,
        attribute: &str,
    ) -> Result<Vec<Author>, MetadataError> {
        let taken = self.take_classifications(|c| {
            c.classification_scheme.as_deref() == Some(scheme) && c.classification_node.is_none()
        });
        taken
            .into_iter()
            .map(|c| {
                self.check_classified(&c, attribute)?;
                author_from(c, attribute)
            })
            .collect()
    }

    /// The nested classification to a classification node (a marker), at most one.
    pub(crate) fn marker(
        &mut self,
        node: &str,
        attribute: &str,
    ) -> Result<Option<Classification>, MetadataError> {
        let mut taken =
            self.take_classifications(|c| c.classification_node.as_deref() == Some(node));
        for c in &taken {
            self.check_classified(c, attribute)?;
        }
        match taken.len() {
            0 | 1 => Ok(taken.pop()),
            count => Err(self.error(attribute, MetadataRule::Repeated { count })),
        }
    }

    /// The external identifier of a scheme, at most one.
    pub(crate) fn external_id(
        &mut self,
        scheme: &str,
        attribute: &str,
    ) -> Result<Option<ExternalId>, MetadataError> {
        let (mut taken, kept): (Vec<ExternalIdentifier>, Vec<ExternalIdentifier>) =
            std::mem::take(&mut self.object.external_identifiers)
                .into_iter()
                .partition(|e| e.identification_scheme == scheme);
        self.object.external_identifiers = kept;
        if taken.len() > 1 {
            return Err(self.error(attribute, MetadataRule::Repeated { count: taken.len() }));
        }
        let Some(e) = taken.pop() else {
            return Ok(None);
        };
        if e.registry_object != self.object.id {
            return Err(self.error(
                attribute,
                MetadataRule::RegistryObjectMismatch {
                    found: e.registry_object,
                },
            ));
        }
        let mut rim = e.object;
        let identifier_id = Some(std::mem::take(&mut rim.id));
        let name = rim.name.take();
        Ok(Some(ExternalId {
            value: e.value,
            identifier_id,
            name,
            rim,
        }))
    }

    /// A required external identifier.
    pub(crate) fn required_external_id(
        &mut self,
        scheme: &str,
        attribute: &str,
    ) -> Result<ExternalId, MetadataError> {
        match self.external_id(scheme, attribute)? {
            Some(e) => Ok(e),
            None => Err(self.error(attribute, MetadataRule::Missing)),
        }
    }
}

fn code_from(c: Classification, attribute: &str) -> Result<Code, MetadataError> {
    let mut parts = Parts::new(&c.object);
    let attr_scheme = format!("{attribute}.codingScheme");
    let coding_scheme = parts
        .single_slot("codingScheme", &attr_scheme)?
        .ok_or_else(|| parts.error(&attr_scheme, MetadataRule::Missing))?;
    let Some(code) = c.node_representation else {
        return Err(parts.error(attribute, MetadataRule::MissingCode));
    };
    let mut rim = parts.object;
    let classification_id = Some(std::mem::take(&mut rim.id));
    let display_name = rim.name.take();
    Ok(Code {
        code,
        coding_scheme,
        display_name,
        classification_id,
        rim,
        layout: parts.layout,
    })
}

fn author_from(c: Classification, attribute: &str) -> Result<Author, MetadataError> {
    let mut parts = Parts::new(&c.object);
    let person = parts.single_slot("authorPerson", &format!("{attribute}.authorPerson"))?;
    let institutions = parts.multi_slot(
        "authorInstitution",
        &format!("{attribute}.authorInstitution"),
    )?;
    let roles = parts.multi_slot("authorRole", &format!("{attribute}.authorRole"))?;
    let specialties =
        parts.multi_slot("authorSpecialty", &format!("{attribute}.authorSpecialty"))?;
    let telecommunications = parts.multi_slot(
        "authorTelecommunication",
        &format!("{attribute}.authorTelecommunication"),
    )?;
    let mut rim = parts.object;
    let classification_id = Some(std::mem::take(&mut rim.id));
    Ok(Author {
        person,
        institutions,
        roles,
        specialties,
        telecommunications,
        node_representation: c.node_representation,
        classification_id,
        rim,
        layout: parts.layout,
    })
}

/// An ebRIM object being put together from XDS attributes.
pub(crate) struct Builder {
    pub(crate) object: RegistryObject,
}

impl Builder {
    pub(crate) fn new(id: &str) -> Self {
        Builder {
            object: RegistryObject {
                id: id.to_owned(),
                ..RegistryObject::default()
            },
        }
    }

    pub(crate) fn slot(&mut self, name: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.object.slots.push(Slot::new(name, [v.clone()]));
        }
    }

    pub(crate) fn slot_values(&mut self, name: &str, values: &[String]) {
        if !values.is_empty() {
            self.object
                .slots
                .push(Slot::new(name, values.iter().cloned()));
        }
    }

    pub(crate) fn code(&mut self, scheme: &str, code: &Code) {
        let mut object = code.rim.clone();
        object.id = code.classification_id.clone().unwrap_or_else(new_id);
        object.name.clone_from(&code.display_name);
        object
            .slots
            .insert(0, Slot::new("codingScheme", [code.coding_scheme.clone()]));
        code.layout.apply(&mut object);
        self.object.classifications.push(Classification {
            object,
            classification_scheme: Some(scheme.to_owned()),
            classified_object: self.object.id.clone(),
            classification_node: None,
            node_representation: Some(code.code.clone()),
        });
    }

    pub(crate) fn codes<'a>(&mut self, scheme: &str, codes: impl IntoIterator<Item = &'a Code>) {
        for code in codes {
            self.code(scheme, code);
        }
    }

    pub(crate) fn authors(&mut self, scheme: &str, authors: &[Author]) {
        for author in authors {
            let mut inner = Builder {
                object: author.rim.clone(),
            };
            inner.object.id = author.classification_id.clone().unwrap_or_else(new_id);
            inner.slot("authorPerson", &author.person);
            inner.slot_values("authorInstitution", &author.institutions);
            inner.slot_values("authorRole", &author.roles);
            inner.slot_values("authorSpecialty", &author.specialties);
            inner.slot_values("authorTelecommunication", &author.telecommunications);
            let mut object = inner.object;
            author.layout.apply(&mut object);
            self.object.classifications.push(Classification {
                object,
                classification_scheme: Some(scheme.to_owned()),
                classified_object: self.object.id.clone(),
                classification_node: None,
                node_representation: author.node_representation.clone(),
            });
        }
    }

    /// A marker classification kept whole; one built in code gets this object as classifiedObject.
    pub(crate) fn marker(&mut self, marker: &Option<Classification>) {
        if let Some(c) = marker {
            self.object.classifications.push(c.clone());
        }
    }

    pub(crate) fn external_id(&mut self, scheme: &str, id: &Option<ExternalId>) {
        if let Some(e) = id {
            let mut object = e.rim.clone();
            object.id = e.identifier_id.clone().unwrap_or_else(new_id);
            object.name.clone_from(&e.name);
            self.object.external_identifiers.push(ExternalIdentifier {
                object,
                registry_object: self.object.id.clone(),
                identification_scheme: scheme.to_owned(),
                value: e.value.clone(),
            });
        }
    }

    /// Appends the extra content and restores the original order.
    pub(crate) fn finish(
        mut self,
        extra_slots: &[Slot],
        extra_classifications: &[Classification],
        extra_external_identifiers: &[ExternalIdentifier],
        layout: &RimLayout,
    ) -> RegistryObject {
        self.object.slots.extend(extra_slots.iter().cloned());
        self.object
            .classifications
            .extend(extra_classifications.iter().cloned());
        self.object
            .external_identifiers
            .extend(extra_external_identifiers.iter().cloned());
        layout.apply(&mut self.object);
        self.object
    }
}

/// A marker classification (SubmissionSet, Folder, limitedMetadata) for an object built in code.
pub(crate) fn new_marker(classified_object: &str, node: &str) -> Classification {
    Classification {
        object: RegistryObject {
            id: new_id(),
            ..RegistryObject::default()
        },
        classification_scheme: None,
        classified_object: classified_object.to_owned(),
        classification_node: Some(node.to_owned()),
        node_representation: None,
    }
}
