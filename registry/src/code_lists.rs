//! The affinity domain's code lists: which codes each coded XDS attribute may carry
//! (ITI TF-3 4.2.3; the values are affinity-domain policy, configured in a TOML file).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

/// The default lists, for imaging (DICOM, LOINC, SNOMED CT codes).
pub const DEFAULT_CODE_LISTS: &str = include_str!("../code-lists.toml");

/// Why a code-list file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CodeListError {
    #[error("cannot read code lists {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("code lists {path} are not valid: {source}")]
    Syntax {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("code lists {path} name an unknown attribute {attribute:?}")]
    UnknownAttribute { path: String, attribute: String },
}

/// The coded attributes a code list can constrain, as named in ITI TF-3 4.2.3.
pub const CODED_ATTRIBUTES: [&str; 9] = [
    "classCode",
    "typeCode",
    "formatCode",
    "confidentialityCode",
    "healthcareFacilityTypeCode",
    "practiceSettingCode",
    "eventCodeList",
    "contentTypeCode",
    "folderCodeList",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    code: String,
    #[serde(rename = "codingScheme")]
    coding_scheme: String,
    #[serde(rename = "displayName")]
    display_name: String,
}

/// Allowed (code, codingScheme) pairs per coded attribute; an attribute without a list is open.
#[derive(Debug, Clone, Default)]
pub struct CodeLists {
    allowed: HashMap<String, HashSet<(String, String)>>,
    display_names: HashMap<(String, String, String), String>,
}

impl CodeLists {
    /// The built-in imaging defaults.
    pub fn imaging_defaults() -> Self {
        // The embedded file is tested below; parsing it cannot fail at run time.
        Self::parse(DEFAULT_CODE_LISTS, "built-in code-lists.toml").unwrap_or_default()
    }

    /// Reads a code-list file.
    pub fn load(path: &Path) -> Result<Self, CodeListError> {
        let text = std::fs::read_to_string(path).map_err(|source| CodeListError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses code lists from TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CodeListError> {
        let lists: HashMap<String, Vec<Entry>> =
            toml::from_str(text).map_err(|source| CodeListError::Syntax {
                path: origin.to_owned(),
                source: Box::new(source),
            })?;
        let mut out = CodeLists::default();
        for (attribute, entries) in lists {
            if !CODED_ATTRIBUTES.contains(&attribute.as_str()) {
                return Err(CodeListError::UnknownAttribute {
                    path: origin.to_owned(),
                    attribute,
                });
            }
            let set = out.allowed.entry(attribute.clone()).or_default();
            for e in entries {
                set.insert((e.code.clone(), e.coding_scheme.clone()));
                out.display_names
                    .insert((attribute.clone(), e.code, e.coding_scheme), e.display_name);
            }
        }
        Ok(out)
    }

    /// True when `attribute` has no list, or its list holds (`code`, `coding_scheme`).
    pub fn allows(&self, attribute: &str, code: &str, coding_scheme: &str) -> bool {
        self.allowed
            .get(attribute)
            .is_none_or(|set| set.contains(&(code.to_owned(), coding_scheme.to_owned())))
    }

    /// The configured display name of a listed code.
    pub fn display_name(&self, attribute: &str, code: &str, coding_scheme: &str) -> Option<&str> {
        self.display_names
            .get(&(
                attribute.to_owned(),
                code.to_owned(),
                coding_scheme.to_owned(),
            ))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lists_parse_and_cover_every_coded_attribute() {
        let lists = CodeLists::parse(DEFAULT_CODE_LISTS, "default").unwrap();
        for attribute in CODED_ATTRIBUTES {
            assert!(lists.allowed.contains_key(attribute), "{attribute}");
        }
    }

    #[test]
    fn kos_format_code_and_ct_modality_are_allowed_by_default() {
        let lists = CodeLists::imaging_defaults();
        assert!(lists.allows(
            "formatCode",
            "1.2.840.10008.5.1.4.1.1.88.59",
            "1.2.840.10008.2.6.1"
        ));
        assert!(lists.allows("eventCodeList", "CT", "1.2.840.10008.2.16.4"));
        assert_eq!(
            lists.display_name("eventCodeList", "CT", "1.2.840.10008.2.16.4"),
            Some("Computed Tomography")
        );
    }

    #[test]
    fn code_from_another_scheme_is_not_allowed() {
        let lists = CodeLists::imaging_defaults();
        assert!(!lists.allows("eventCodeList", "CT", "2.16.840.1.113883.6.96"));
        assert!(!lists.allows("classCode", "UNKNOWN", "1.3.6.1.4.1.19376.1.2.6.1"));
    }

    #[test]
    fn attribute_without_a_list_is_open() {
        let lists = CodeLists::parse(
            "[[classCode]]\ncode='a'\ncodingScheme='b'\ndisplayName='c'\n",
            "t",
        )
        .unwrap();
        assert!(lists.allows("typeCode", "anything", "any"));
        assert!(lists.allows("classCode", "a", "b"));
    }

    #[test]
    fn unknown_attribute_name_is_refused() {
        let r = CodeLists::parse(
            "[[classcode]]\ncode='a'\ncodingScheme='b'\ndisplayName='c'\n",
            "t",
        );
        assert!(matches!(r, Err(CodeListError::UnknownAttribute { .. })));
    }
}
