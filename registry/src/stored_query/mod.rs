//! ITI-18 Registry Stored Query: the request's query id, response option and parameters read into
//! typed values (ITI TF-2a 3.18.4.1.2.3), with the standard XDS error codes (pure functions), and
//! [`execute`], which runs a query on the registry storage and builds the AdhocQueryResponse.
//!
//! Parameter rules applied:
//! - value syntax of ITI TF-2a 3.18.4.1.2.3.5 (see [`value`]); a malformed value is
//!   `XDSRegistryError`;
//! - several values of one slot are OR-ed; several slots of one name are AND-ed and only allowed for
//!   `$XDSDocumentEntryEventCodeList`, `$XDSDocumentEntryConfidentialityCode` and
//!   `$XDSFolderCodeList`, any other repeated slot is `XDSStoredQueryParamNumber`;
//! - a single-valued parameter with several values is `XDSStoredQueryParamNumber`;
//! - a missing required parameter is `XDSStoredQueryMissingParam`; of a "one of" pair, both is
//!   `XDSStoredQueryParamNumber` and neither is `XDSStoredQueryMissingParam`;
//! - an unknown query id is `XDSUnknownStoredQuery`;
//! - parameters a query does not define are ignored (ebRS 3.0 6.3.2.1: "A registry MUST ignore any
//!   parameters specified by the client for a stored query that do not match the parameters
//!   defined by the stored query");
//! - status values the registry does not understand are ignored (ITI TF-2a 3.18.4.1.2.3.6).

mod execute;
pub mod params;
mod queries;
mod slots;
pub mod value;

#[cfg(test)]
mod tests;

use schemas::constants::error_code;
/// The ids of the 14 ITI-18 stored queries (ITI TF-2a 3.18.4.1.2.3.7).
pub use schemas::constants::stored_query as ids;
use schemas::ebrim::{AdhocQueryRequest, RegistryError, ReturnType, Severity};

pub use execute::{ExecuteError, QueryOptions, execute, shortest_dtm};
pub use params::*;

/// Why an ITI-18 request was refused: the XDS error code, what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} at {location}: {message}")]
pub struct QueryError {
    /// One of the ITI-18 codes of [`error_code`].
    pub code: &'static str,
    /// The problem, naming the parameter.
    pub message: String,
    /// The parameter name (`$XDSDocumentEntryPatientId`), or `AdhocQuery/@id`, `ResponseOption/@returnType`.
    pub location: String,
}

impl QueryError {
    fn new(code: &'static str, location: &str, problem: impl std::fmt::Display) -> Self {
        QueryError {
            code,
            message: format!("{location} {problem}"),
            location: location.to_owned(),
        }
    }

    pub(crate) fn param_number(location: &str, problem: impl std::fmt::Display) -> Self {
        Self::new(error_code::XDS_STORED_QUERY_PARAM_NUMBER, location, problem)
    }

    pub(crate) fn missing_param(location: &str, problem: impl std::fmt::Display) -> Self {
        Self::new(
            error_code::XDS_STORED_QUERY_MISSING_PARAM,
            location,
            problem,
        )
    }

    pub(crate) fn invalid_value(location: &str, problem: impl std::fmt::Display) -> Self {
        Self::new(error_code::XDS_REGISTRY_ERROR, location, problem)
    }

    /// The `rs:RegistryError` (severity Error) reporting this problem in an AdhocQueryResponse.
    pub fn to_registry_error(&self) -> RegistryError {
        RegistryError {
            error_code: self.code.to_owned(),
            code_context: self.message.clone(),
            location: Some(self.location.clone()),
            severity: Severity::Error,
            value: None,
        }
    }
}

/// What the response carries (ITI TF-2a 3.18.4.1.2.3, `query:ResponseOption/@returnType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryReturnType {
    /// Full metadata objects.
    LeafClass,
    /// `rim:ObjectRef`s only.
    ObjectRef,
}

/// One of the 14 ITI-18 stored queries with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredQuery {
    FindDocuments(FindDocuments),
    FindDocumentsByReferenceId(FindDocumentsByReferenceId),
    FindSubmissionSets(FindSubmissionSets),
    FindFolders(FindFolders),
    GetAll(GetAll),
    GetDocuments(GetDocuments),
    GetFolders(GetFolders),
    GetAssociations(GetAssociations),
    GetDocumentsAndAssociations(GetDocumentsAndAssociations),
    GetSubmissionSets(GetSubmissionSets),
    GetSubmissionSetAndContents(GetSubmissionSetAndContents),
    GetFolderAndContents(GetFolderAndContents),
    GetFoldersForDocument(GetFoldersForDocument),
    GetRelatedDocuments(GetRelatedDocuments),
}

impl StoredQuery {
    /// The stored query id (`rim:AdhocQuery/@id`).
    pub fn id(&self) -> &'static str {
        match self {
            StoredQuery::FindDocuments(_) => ids::FIND_DOCUMENTS,
            StoredQuery::FindDocumentsByReferenceId(_) => ids::FIND_DOCUMENTS_BY_REFERENCE_ID,
            StoredQuery::FindSubmissionSets(_) => ids::FIND_SUBMISSION_SETS,
            StoredQuery::FindFolders(_) => ids::FIND_FOLDERS,
            StoredQuery::GetAll(_) => ids::GET_ALL,
            StoredQuery::GetDocuments(_) => ids::GET_DOCUMENTS,
            StoredQuery::GetFolders(_) => ids::GET_FOLDERS,
            StoredQuery::GetAssociations(_) => ids::GET_ASSOCIATIONS,
            StoredQuery::GetDocumentsAndAssociations(_) => ids::GET_DOCUMENTS_AND_ASSOCIATIONS,
            StoredQuery::GetSubmissionSets(_) => ids::GET_SUBMISSION_SETS,
            StoredQuery::GetSubmissionSetAndContents(_) => ids::GET_SUBMISSION_SET_AND_CONTENTS,
            StoredQuery::GetFolderAndContents(_) => ids::GET_FOLDER_AND_CONTENTS,
            StoredQuery::GetFoldersForDocument(_) => ids::GET_FOLDERS_FOR_DOCUMENT,
            StoredQuery::GetRelatedDocuments(_) => ids::GET_RELATED_DOCUMENTS,
        }
    }

    /// The home community the request named (`$homeCommunityId`), for the queries that take one.
    pub fn home_community_id(&self) -> Option<&HomeCommunityId> {
        match self {
            StoredQuery::GetDocuments(q) => q.home_community_id.as_ref(),
            StoredQuery::GetFolders(q) => q.home_community_id.as_ref(),
            StoredQuery::GetAssociations(q) => q.home_community_id.as_ref(),
            StoredQuery::GetDocumentsAndAssociations(q) => q.home_community_id.as_ref(),
            StoredQuery::GetSubmissionSets(q) => q.home_community_id.as_ref(),
            StoredQuery::GetSubmissionSetAndContents(q) => q.home_community_id.as_ref(),
            StoredQuery::GetFolderAndContents(q) => q.home_community_id.as_ref(),
            StoredQuery::GetFoldersForDocument(q) => q.home_community_id.as_ref(),
            StoredQuery::GetRelatedDocuments(q) => q.home_community_id.as_ref(),
            StoredQuery::FindDocuments(_)
            | StoredQuery::FindDocumentsByReferenceId(_)
            | StoredQuery::FindSubmissionSets(_)
            | StoredQuery::FindFolders(_)
            | StoredQuery::GetAll(_) => None,
        }
    }
}

/// A validated ITI-18 request: what to return and which query to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQueryRequest {
    pub return_type: QueryReturnType,
    pub query: StoredQuery,
}

/// ITI-18: reads and validates a Registry Stored Query request (query id, returnType, parameters).
pub fn parse(request: &AdhocQueryRequest) -> Result<StoredQueryRequest, QueryError> {
    let query = queries::parse_query(&request.query.id, &request.query.slots)?;
    let return_type = match request.return_type {
        ReturnType::LeafClass => QueryReturnType::LeafClass,
        ReturnType::ObjectRef => QueryReturnType::ObjectRef,
        ReturnType::Other(other) => {
            return Err(QueryError::invalid_value(
                "ResponseOption/@returnType",
                format!("is {other}, ITI-18 accepts LeafClass or ObjectRef"),
            ));
        }
    };
    Ok(StoredQueryRequest { return_type, query })
}
