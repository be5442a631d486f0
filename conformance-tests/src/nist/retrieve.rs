//! Checking ITI-43 Retrieve Document Set and RAD-69 Retrieve Imaging Document Set responses as
//! the toolkit does: each `DocumentResponse` with its content (an MTOM attachment or inline
//! base64), compared with the `ReferenceDocument` files (bytes) and the `ReferenceMetadata`
//! DocumentEntries (mimeType, hash, size); `XmlDetailTransaction sameRetImgs` compares a response
//! with the `Standard` the plan gives.

use base64::Engine as _;
use schemas::constants::identification_scheme;
use schemas::mtom::cid_from_href;
use sha1::{Digest, Sha1};

use super::tree::{Element, Node};
use super::wire::{ReceivedAttachment, hex_digest};

/// The content of a retrieved document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub size: u64,
    /// Lower-case hex SHA-1.
    pub sha1: String,
}

/// One `xdsb:DocumentResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentResponse {
    pub repository_unique_id: String,
    pub document_unique_id: String,
    pub mime_type: String,
    /// `None` when the `Document` element is missing or names no attachment that came.
    pub content: Option<Content>,
}

/// A DocumentEntry of a query result, as far as a retrieve is checked against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFacts {
    pub unique_id: String,
    pub mime_type: String,
    pub hash: Option<String>,
    pub size: Option<u64>,
}

fn text(element: &Element) -> String {
    element
        .children
        .iter()
        .filter_map(|c| match c {
            Node::Text(t) => Some(t.as_str()),
            Node::Element(_) => None,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn child_text(element: &Element, name: &str) -> String {
    element
        .elements()
        .find(|c| c.name == name)
        .map(text)
        .unwrap_or_default()
}

/// The `DocumentResponse`s of a response body, each with its content.
pub fn document_responses(
    body: &Element,
    attachments: &[ReceivedAttachment],
) -> Vec<DocumentResponse> {
    let mut out = Vec::new();
    body.walk(&mut |e| {
        if e.name != "DocumentResponse" {
            return;
        }
        let content =
            e.elements()
                .find(|c| c.name == "Document")
                .and_then(
                    |document| match document.elements().find(|c| c.name == "Include") {
                        Some(include) => {
                            let cid = include.attribute("href").and_then(cid_from_href)?;
                            attachments
                                .iter()
                                .find(|a| a.content_id == cid)
                                .map(|a| Content {
                                    size: a.size,
                                    sha1: a.sha1.clone(),
                                })
                        }
                        None => {
                            let encoded: String =
                                text(document).split_whitespace().collect::<String>();
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(encoded)
                                .ok()?;
                            Some(Content {
                                size: bytes.len() as u64,
                                sha1: hex_digest(&Sha1::digest(&bytes)),
                            })
                        }
                    },
                );
        out.push(DocumentResponse {
            repository_unique_id: child_text(e, "RepositoryUniqueId"),
            document_unique_id: child_text(e, "DocumentUniqueId"),
            mime_type: child_text(e, "mimeType"),
            content,
        });
    });
    out
}

/// The DocumentEntries (ExtrinsicObjects) of a query result.
pub fn entry_facts(result: &Element) -> Vec<EntryFacts> {
    let mut out = Vec::new();
    result.walk(&mut |e| {
        if e.name != "ExtrinsicObject" {
            return;
        }
        let slot = |name: &str| {
            e.elements()
                .find(|s| s.name == "Slot" && s.attribute("name") == Some(name))
                .and_then(|s| {
                    let mut value = None;
                    s.walk(&mut |v| {
                        if value.is_none() && v.name == "Value" {
                            value = Some(text(v));
                        }
                    });
                    value
                })
        };
        let unique_id = e
            .elements()
            .find(|x| {
                x.name == "ExternalIdentifier"
                    && x.attribute("identificationScheme")
                        == Some(identification_scheme::DOCUMENT_ENTRY_UNIQUE_ID)
            })
            .and_then(|x| x.attribute("value"))
            .unwrap_or_default()
            .to_owned();
        out.push(EntryFacts {
            unique_id,
            mime_type: e.attribute("mimeType").unwrap_or_default().to_owned(),
            hash: slot("hash"),
            size: slot("size").and_then(|s| s.parse().ok()),
        });
    });
    out
}

/// `ReferenceDocument`: the retrieved document `unique_id` has exactly the bytes of the file.
pub fn check_reference_document(
    responses: &[DocumentResponse],
    unique_id: &str,
    file_digest: &Content,
) -> Result<(), String> {
    let response = responses
        .iter()
        .find(|r| r.document_unique_id == unique_id)
        .ok_or_else(|| format!("ReferenceDocument: document {unique_id} was not returned"))?;
    let content = response.content.as_ref().ok_or_else(|| {
        format!("ReferenceDocument: document {unique_id} came without content (no attachment)")
    })?;
    if content != file_digest {
        return Err(format!(
            "ReferenceDocument: document {unique_id} differs from the file submitted ({} bytes, sha1 {}; expected {} bytes, sha1 {})",
            content.size, content.sha1, file_digest.size, file_digest.sha1
        ));
    }
    Ok(())
}

/// `ReferenceMetadata`: every DocumentEntry of the query is returned, with its mimeType, and
/// content of its hash and size.
pub fn check_reference_metadata(
    responses: &[DocumentResponse],
    entries: &[EntryFacts],
) -> Result<(), String> {
    if entries.is_empty() {
        return Err("ReferenceMetadata: the query step returned no DocumentEntry".to_owned());
    }
    for entry in entries {
        let uid = &entry.unique_id;
        let response = responses
            .iter()
            .find(|r| &r.document_unique_id == uid)
            .ok_or_else(|| format!("ReferenceMetadata: document {uid} was not returned"))?;
        if response.mime_type != entry.mime_type {
            return Err(format!(
                "ReferenceMetadata: document {uid} returned with mimeType {:?}, registered {:?}",
                response.mime_type, entry.mime_type
            ));
        }
        let content = response
            .content
            .as_ref()
            .ok_or_else(|| format!("ReferenceMetadata: document {uid} came without content"))?;
        if let Some(hash) = &entry.hash
            && !hash.eq_ignore_ascii_case(&content.sha1)
        {
            return Err(format!(
                "ReferenceMetadata: document {uid} has sha1 {}, registered hash {hash}",
                content.sha1
            ));
        }
        if let Some(size) = entry.size
            && size != content.size
        {
            return Err(format!(
                "ReferenceMetadata: document {uid} has {} bytes, registered size {size}",
                content.size
            ));
        }
    }
    Ok(())
}

/// `sameRetImgs`: the response has the status of the `Standard` and returns exactly its
/// documents (repository, uniqueId, mimeType), each with content.
pub fn check_same_as_standard(
    standard: &Element,
    response: &Element,
    attachments: &[ReceivedAttachment],
) -> Result<(), String> {
    let status = |e: &Element| {
        let mut found = e.attribute("status").map(str::to_owned);
        e.walk(&mut |c| {
            if found.is_none() && c.name == "RegistryResponse" {
                found = c.attribute("status").map(str::to_owned);
            }
        });
        found.unwrap_or_default()
    };
    if status(standard) != status(response) {
        return Err(format!(
            "sameRetImgs: status {:?}, the standard has {:?}",
            status(response),
            status(standard)
        ));
    }
    let key = |d: &DocumentResponse| {
        (
            d.repository_unique_id.clone(),
            d.document_unique_id.clone(),
            d.mime_type.clone(),
        )
    };
    let mut wanted: Vec<_> = document_responses(standard, &[]).iter().map(key).collect();
    let returned = document_responses(response, attachments);
    let mut got: Vec<_> = returned.iter().map(key).collect();
    wanted.sort();
    got.sort();
    if wanted != got {
        return Err(format!(
            "sameRetImgs: returned documents {got:?}, the standard has {wanted:?}"
        ));
    }
    if let Some(empty) = returned.iter().find(|d| d.content.is_none()) {
        return Err(format!(
            "sameRetImgs: document {} came without content",
            empty.document_unique_id
        ));
    }
    Ok(())
}

/// `registryErrorListNotEmpty`: the response carries at least one RegistryError.
pub fn check_registry_errors_present(response: &Element) -> Result<(), String> {
    let mut errors = 0;
    response.walk(&mut |e| {
        if e.name == "RegistryError" {
            errors += 1;
        }
    });
    if errors == 0 {
        return Err("registryErrorListNotEmpty: the response has no RegistryError".to_owned());
    }
    Ok(())
}

/// DocumentUniqueId → HomeCommunityId (if any) of each `DocumentResponse`.
fn home_community_ids(body: &Element) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    body.walk(&mut |e| {
        if e.name == "DocumentResponse" {
            let home = e
                .elements()
                .find(|c| c.name == "HomeCommunityId")
                .map(text)
                .filter(|t| !t.is_empty());
            out.push((child_text(e, "DocumentUniqueId"), home));
        }
    });
    out
}

/// `matchHomeCommunityIds`: each document of the `Standard` is returned with the same
/// HomeCommunityId (or none when the standard has none).
pub fn check_home_community_ids(standard: &Element, response: &Element) -> Result<(), String> {
    let returned = home_community_ids(response);
    for (uid, wanted) in home_community_ids(standard) {
        let got = returned
            .iter()
            .find(|(u, _)| *u == uid)
            .ok_or_else(|| format!("matchHomeCommunityIds: document {uid} was not returned"))?;
        if got.1 != wanted {
            return Err(format!(
                "matchHomeCommunityIds: document {uid} returned with HomeCommunityId {:?}, the standard has {wanted:?}",
                got.1
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE: &str = r#"<xdsb:RetrieveDocumentSetResponse xmlns:xdsb="urn:ihe:iti:xds-b:2007" xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0">
      <rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>
      <xdsb:DocumentResponse><xdsb:RepositoryUniqueId>1.1</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>2.2</xdsb:DocumentUniqueId><xdsb:mimeType>text/plain</xdsb:mimeType>
        <xdsb:Document><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:a%40b"/></xdsb:Document></xdsb:DocumentResponse>
      <xdsb:DocumentResponse><xdsb:RepositoryUniqueId>1.1</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>3.3</xdsb:DocumentUniqueId><xdsb:mimeType>text/plain</xdsb:mimeType>
        <xdsb:Document>YWJj</xdsb:Document></xdsb:DocumentResponse>
    </xdsb:RetrieveDocumentSetResponse>"#;

    fn abc() -> Content {
        Content {
            size: 3,
            sha1: "a9993e364706816aba3e25717850c26c9cd0d89d".to_owned(),
        }
    }

    fn attachments() -> Vec<ReceivedAttachment> {
        vec![ReceivedAttachment {
            content_id: "a@b".to_owned(),
            content_type: "text/plain".to_owned(),
            size: 3,
            sha1: abc().sha1,
            saved: None,
        }]
    }

    #[test]
    fn document_content_comes_from_the_attachment_or_inline_base64() {
        let body = Element::parse(RESPONSE).unwrap();
        let responses = document_responses(&body, &attachments());
        assert_eq!(responses.len(), 2);
        assert_eq!(responses[0].content, Some(abc()));
        assert_eq!(responses[1].content, Some(abc()));
        assert!(check_reference_document(&responses, "2.2", &abc()).is_ok());
        let other = Content {
            size: 4,
            sha1: "x".to_owned(),
        };
        assert!(check_reference_document(&responses, "2.2", &other).is_err());
        assert!(check_reference_document(&responses, "9.9", &abc()).is_err());
    }

    #[test]
    fn a_missing_attachment_leaves_the_document_without_content() {
        let body = Element::parse(RESPONSE).unwrap();
        let responses = document_responses(&body, &[]);
        assert_eq!(responses[0].content, None);
    }

    fn entry(hash: &str, size: u64, mime: &str) -> EntryFacts {
        EntryFacts {
            unique_id: "2.2".to_owned(),
            mime_type: mime.to_owned(),
            hash: Some(hash.to_owned()),
            size: Some(size),
        }
    }

    #[test]
    fn reference_metadata_checks_mime_type_hash_any_case_and_size() {
        let body = Element::parse(RESPONSE).unwrap();
        let responses = document_responses(&body, &attachments());
        let upper = abc().sha1.to_uppercase();
        assert!(check_reference_metadata(&responses, &[entry(&upper, 3, "text/plain")]).is_ok());
        assert!(check_reference_metadata(&responses, &[entry(&upper, 4, "text/plain")]).is_err());
        assert!(check_reference_metadata(&responses, &[entry("00", 3, "text/plain")]).is_err());
        assert!(check_reference_metadata(&responses, &[entry(&upper, 3, "text/xml")]).is_err());
    }

    #[test]
    fn entry_facts_read_unique_id_mime_type_hash_and_size() {
        let result = Element::parse(r#"<q xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:ExtrinsicObject id="d" mimeType="text/plain">
          <rim:Slot name="hash"><rim:ValueList><rim:Value>ABC</rim:Value></rim:ValueList></rim:Slot>
          <rim:Slot name="size"><rim:ValueList><rim:Value>3</rim:Value></rim:ValueList></rim:Slot>
          <rim:ExternalIdentifier identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" value="2.2"/></rim:ExtrinsicObject></q>"#).unwrap();
        assert_eq!(
            entry_facts(&result),
            [EntryFacts {
                unique_id: "2.2".to_owned(),
                mime_type: "text/plain".to_owned(),
                hash: Some("ABC".to_owned()),
                size: Some(3),
            }]
        );
    }

    #[test]
    fn registry_error_list_not_empty_wants_an_error() {
        let failed = Element::parse(r#"<r:RegistryResponse xmlns:r="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="F"><r:RegistryErrorList><r:RegistryError errorCode="XDSDocumentUniqueIdError"/></r:RegistryErrorList></r:RegistryResponse>"#).unwrap();
        assert!(check_registry_errors_present(&failed).is_ok());
        assert!(check_registry_errors_present(&Element::parse(RESPONSE).unwrap()).is_err());
    }

    #[test]
    fn home_community_ids_must_match_the_standard() {
        let with = |hci: &str| {
            Element::parse(&format!(
                r#"<x:R xmlns:x="urn:ihe:iti:xds-b:2007"><x:DocumentResponse>{hci}<x:DocumentUniqueId>2.2</x:DocumentUniqueId></x:DocumentResponse></x:R>"#
            ))
            .unwrap()
        };
        let standard = with("<x:HomeCommunityId>urn:oid:1.2</x:HomeCommunityId>");
        assert!(check_home_community_ids(&standard, &standard).is_ok());
        assert!(check_home_community_ids(&standard, &with("")).is_err());
        assert!(check_home_community_ids(&with(""), &with("")).is_ok());
    }

    #[test]
    fn same_ret_imgs_wants_the_standard_documents_and_status() {
        let body = Element::parse(RESPONSE).unwrap();
        let standard = Element::parse(RESPONSE).unwrap();
        assert!(check_same_as_standard(&standard, &body, &attachments()).is_ok());
        let one = Element::parse(
            r#"<xdsb:RetrieveDocumentSetResponse xmlns:xdsb="urn:ihe:iti:xds-b:2007" xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0">
            <rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/></xdsb:RetrieveDocumentSetResponse>"#,
        )
        .unwrap();
        assert!(check_same_as_standard(&one, &body, &attachments()).is_err());
    }
}
