//! The errors an ITI-42 registration reports: one `rs:RegistryError` each (ITI TF-3 4.2.4.1).

use schemas::constants::error_code;
use schemas::ebrim::{RegistryError, Severity};
use schemas::xds::MetadataError;

/// One reason to refuse a submission: errorCode, a human-readable codeContext naming the object,
/// the attribute and the rule, and the location (the id of the object as the submitter sent it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub(crate) error_code: &'static str,
    pub(crate) code_context: String,
    pub(crate) location: String,
}

impl Issue {
    pub(crate) fn new(
        error_code: &'static str,
        location: impl Into<String>,
        code_context: impl Into<String>,
    ) -> Self {
        Issue {
            error_code,
            code_context: code_context.into(),
            location: location.into(),
        }
    }

    /// XDSRegistryMetadataError on `attribute` of the object `location`, breaking `rule`.
    pub(crate) fn metadata(location: &str, attribute: &str, rule: impl std::fmt::Display) -> Self {
        Issue::new(
            error_code::XDS_REGISTRY_METADATA_ERROR,
            location,
            format!("{location}: {attribute}: {rule}"),
        )
    }

    /// XDSRegistryMetadataError from a schemas conversion or rule error; `location` is the
    /// object's id as submitted.
    pub(crate) fn from_metadata_error(error: &MetadataError, location: &str) -> Self {
        Issue::new(
            error.error_code(),
            location,
            format!("{location}: {}: {}", error.attribute, error.rule),
        )
    }

    /// The `rs:RegistryError` with severity Error.
    pub(crate) fn into_registry_error(self) -> RegistryError {
        RegistryError {
            error_code: self.error_code.to_owned(),
            code_context: self.code_context,
            location: Some(self.location),
            severity: Severity::Error,
            value: None,
        }
    }
}
