//! CX, HD, XCN, XON, XTN and DTM (HL7 v2.5 Chapter 2A) with the XDS rules of ITI TF-3 Table 4.2.3.1.7-2.

use std::fmt;

/// A value that is not a valid HL7 v2 data type, or breaks a rule XDS imposes on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HL7 v2 {data_type} value {value:?}: {rule}")]
pub struct Hl7TypeError {
    /// The data type being read (`"CX"`, `"XON"`, ...).
    pub data_type: &'static str,
    /// The offending value, as received.
    pub value: String,
    /// The rule it breaks.
    pub rule: Hl7Rule,
}

/// The rule an HL7 v2 value breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7Rule {
    /// Only the delimiter escapes `\F\ \S\ \T\ \R\ \E\` are accepted (no `\X..\`, `\H\`, ...).
    #[error("escape sequence at byte {position} is not one of \\F\\ \\S\\ \\T\\ \\R\\ \\E\\")]
    UnsupportedEscape { position: usize },
    /// A field, repetition or sub-component separator where the value cannot have one.
    #[error("unescaped delimiter {delimiter:?} in {component}")]
    UnescapedDelimiter { component: String, delimiter: char },
    /// More components or sub-components than the type has.
    #[error("{component} has {found} parts, at most {max} allowed")]
    TooManyParts {
        component: String,
        max: usize,
        found: usize,
    },
    /// A component XDS requires is empty.
    #[error("{component} is required")]
    MissingComponent { component: String },
    /// A component XDS forbids is present.
    #[error("{component} shall not be present")]
    ForbiddenComponent { component: String },
    /// A universal id type that must be `ISO` is not.
    #[error("{component} must be \"ISO\", found {found:?}")]
    NotIso { component: String, found: String },
    /// A value that must be an ISO OID is not.
    #[error("{component} is not an ISO OID: {found:?}")]
    NotOid { component: String, found: String },
    /// XCN: neither an identifier (XCN.1) nor a name (XCN.2/XCN.3).
    #[error("XCN needs an identifier (XCN.1) or a name (XCN.2 or XCN.3)")]
    XcnNeitherIdNorName,
    /// XTN.3 `Internet` without an e-mail address in XTN.4.
    #[error("XTN.3 is Internet but XTN.4 (e-mail address) is empty")]
    XtnEmailMissing,
    /// A telephone XTN without XTN.7 (local number) or XTN.12 (unformatted number).
    #[error("XTN.3 is a telephone type but neither XTN.7 nor XTN.12 is present")]
    XtnNumberMissing,
    /// DTM length not one of 4, 6, 8, 10, 12, 14.
    #[error("DTM has {length} characters; XDS allows YYYY[MM[DD[hh[mm[ss]]]]] (4 to 14 digits)")]
    DtmLength { length: usize },
    /// DTM with something other than digits (time zone, fraction, separators).
    #[error("DTM must be digits only (UTC, no time zone, no fraction)")]
    DtmNotDigits,
    /// A DTM field outside its range (month 13, day 31 in April, hour 24, ...).
    #[error("DTM {field} {found} is outside {min}..={max}")]
    DtmOutOfRange {
        field: &'static str,
        found: u32,
        min: u32,
        max: u32,
    },
}

impl Hl7TypeError {
    fn new(data_type: &'static str, value: &str, rule: Hl7Rule) -> Self {
        Hl7TypeError {
            data_type,
            value: value.to_owned(),
            rule,
        }
    }
}

/// Escapes the HL7 delimiters `| ^ & ~ \` of a text as `\F\ \S\ \T\ \R\ \E\`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            other => out.push(other),
        }
    }
    out
}

/// Checks that every escape sequence of `value` is a delimiter escape and that no field or
/// repetition separator occurs unescaped.
fn check_syntax(data_type: &'static str, value: &str) -> Result<(), Hl7TypeError> {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let ok = i + 2 < bytes.len()
                    && matches!(bytes[i + 1], b'F' | b'S' | b'T' | b'R' | b'E')
                    && bytes[i + 2] == b'\\';
                if !ok {
                    return Err(Hl7TypeError::new(
                        data_type,
                        value,
                        Hl7Rule::UnsupportedEscape { position: i },
                    ));
                }
                i += 3;
            }
            b @ (b'|' | b'~') => {
                return Err(Hl7TypeError::new(
                    data_type,
                    value,
                    Hl7Rule::UnescapedDelimiter {
                        component: data_type.to_owned(),
                        delimiter: char::from(b),
                    },
                ));
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Decodes the delimiter escapes of a text already checked by [`check_syntax`].
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let code = rest.as_bytes().get(pos + 1).copied();
        out.push(match code {
            Some(b'F') => '|',
            Some(b'S') => '^',
            Some(b'T') => '&',
            Some(b'R') => '~',
            _ => '\\',
        });
        rest = rest.get(pos + 3..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The components of one value, split on `^` (still escaped).
struct Components<'a> {
    data_type: &'static str,
    value: &'a str,
    parts: Vec<&'a str>,
}

impl<'a> Components<'a> {
    fn split(data_type: &'static str, value: &'a str) -> Result<Self, Hl7TypeError> {
        check_syntax(data_type, value)?;
        Ok(Components {
            data_type,
            value,
            parts: value.split('^').collect(),
        })
    }

    fn error(&self, rule: Hl7Rule) -> Hl7TypeError {
        Hl7TypeError::new(self.data_type, self.value, rule)
    }

    fn raw(&self, n: usize) -> &'a str {
        self.parts.get(n - 1).copied().unwrap_or("")
    }

    /// Component `n` (1-based) as text; a primitive component has no sub-components.
    fn text(&self, n: usize) -> Result<String, Hl7TypeError> {
        let raw = self.raw(n);
        if raw.contains('&') {
            return Err(self.error(Hl7Rule::UnescapedDelimiter {
                component: format!("{}.{n}", self.data_type),
                delimiter: '&',
            }));
        }
        Ok(unescape(raw))
    }

    /// Component `n` (1-based) as an HD in sub-component form.
    fn hd(&self, n: usize) -> Result<Hd, Hl7TypeError> {
        let subs: Vec<&str> = self.raw(n).split('&').collect();
        if subs.len() > 3 {
            return Err(self.error(Hl7Rule::TooManyParts {
                component: format!("{}.{n}", self.data_type),
                max: 3,
                found: subs.len(),
            }));
        }
        Ok(Hd::from_parts(&subs))
    }

    /// Components `n..` kept as written.
    fn further(&self, n: usize) -> Vec<String> {
        self.parts
            .iter()
            .skip(n - 1)
            .map(|s| (*s).to_owned())
            .collect()
    }
}

/// Joins escaped parts with `sep`, writing at least `written` parts and no trailing empty part
/// beyond that.
fn join(parts: &[String], written: usize, sep: char) -> String {
    let last = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    let n = last.max(written).min(parts.len());
    let mut out = String::new();
    for (i, p) in parts.iter().take(n).enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(p);
    }
    for _ in parts.len()..written {
        out.push(sep);
    }
    out
}

/// Appends the raw further components to escaped modeled parts.
fn with_further(mut parts: Vec<String>, further: &[String]) -> Vec<String> {
    parts.extend(further.iter().cloned());
    parts
}

/// True when `s` is an ISO OID: dot-separated numbers, at least two arcs, no leading zeros.
pub fn is_oid(s: &str) -> bool {
    let arcs: Vec<&str> = s.split('.').collect();
    arcs.len() >= 2
        && arcs.iter().all(|a| {
            !a.is_empty()
                && a.bytes().all(|b| b.is_ascii_digit())
                && (a.len() == 1 || !a.starts_with('0'))
        })
}

/// HD: hierarchic designator (namespace id, universal id, universal id type).
///
/// Standalone it is written with `^`; inside CX/XCN/XON it is one component written with `&`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hd {
    /// HD.1 namespace id.
    pub namespace_id: String,
    /// HD.2 universal id (an OID in XDS).
    pub universal_id: String,
    /// HD.3 universal id type (`ISO` in XDS).
    pub universal_id_type: String,
    written: usize,
}

impl Hd {
    /// An HD `&oid&ISO`, the form XDS requires for assigning authorities.
    pub fn iso(oid: impl Into<String>) -> Self {
        Hd {
            namespace_id: String::new(),
            universal_id: oid.into(),
            universal_id_type: "ISO".to_owned(),
            written: 0,
        }
    }

    /// Reads a standalone HD (`namespace^universal id^type`).
    pub fn parse(value: &str) -> Result<Self, Hl7TypeError> {
        let c = Components::split("HD", value)?;
        if c.parts.len() > 3 {
            return Err(c.error(Hl7Rule::TooManyParts {
                component: "HD".to_owned(),
                max: 3,
                found: c.parts.len(),
            }));
        }
        Ok(Hd {
            namespace_id: c.text(1)?,
            universal_id: c.text(2)?,
            universal_id_type: c.text(3)?,
            written: c.parts.len(),
        })
    }

    fn from_parts(subs: &[&str]) -> Self {
        let get = |i: usize| subs.get(i).map(|s| unescape(s)).unwrap_or_default();
        Hd {
            namespace_id: get(0),
            universal_id: get(1),
            universal_id_type: get(2),
            written: if subs == [""] { 0 } else { subs.len() },
        }
    }

    /// True when all three parts are empty.
    pub fn is_empty(&self) -> bool {
        self.namespace_id.is_empty()
            && self.universal_id.is_empty()
            && self.universal_id_type.is_empty()
    }

    fn parts(&self) -> Vec<String> {
        vec![
            escape(&self.namespace_id),
            escape(&self.universal_id),
            escape(&self.universal_id_type),
        ]
    }

    /// Writes the HD as one component (`&`-separated sub-components).
    pub fn to_component(&self) -> String {
        join(&self.parts(), self.written, '&')
    }

    /// XDS rule: universal id is an ISO OID and universal id type is `ISO`.
    pub fn check_iso_oid(&self, component: &str) -> Result<(), Hl7Rule> {
        if self.universal_id.is_empty() {
            return Err(Hl7Rule::MissingComponent {
                component: format!("{component}.2"),
            });
        }
        if !is_oid(&self.universal_id) {
            return Err(Hl7Rule::NotOid {
                component: format!("{component}.2"),
                found: self.universal_id.clone(),
            });
        }
        if self.universal_id_type != "ISO" {
            return Err(Hl7Rule::NotIso {
                component: format!("{component}.3"),
                found: self.universal_id_type.clone(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Hd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join(&self.parts(), self.written, '^'))
    }
}

/// CX: extended composite id with check digit (patientId, sourcePatientId) and its CXi form
/// (referenceIdList).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cx {
    /// CX.1 id number.
    pub id: String,
    /// CX.2 check digit.
    pub check_digit: String,
    /// CX.3 check digit scheme.
    pub check_digit_scheme: String,
    /// CX.4 assigning authority.
    pub assigning_authority: Hd,
    /// CX.5 identifier type code (CXi: the reference id type, e.g. `urn:ihe:iti:xds:2013:accession`).
    pub identifier_type_code: String,
    /// CX.6 assigning facility (CXi: the homeCommunityId in HD.2).
    pub assigning_facility: Hd,
    /// CX.7 and later components, kept as written (escaped).
    pub further: Vec<String>,
    written: usize,
}

impl Cx {
    /// A patient identifier `id^^^&oid&ISO`.
    pub fn patient_id(id: impl Into<String>, authority_oid: impl Into<String>) -> Self {
        Cx {
            id: id.into(),
            assigning_authority: Hd::iso(authority_oid),
            ..Cx::default()
        }
    }

    /// Reads a CX (syntax only; see [`Cx::parse_patient_id`] and [`Cx::parse_reference_id`]).
    pub fn parse(value: &str) -> Result<Self, Hl7TypeError> {
        let c = Components::split("CX", value)?;
        Ok(Cx {
            id: c.text(1)?,
            check_digit: c.text(2)?,
            check_digit_scheme: c.text(3)?,
            assigning_authority: c.hd(4)?,
            identifier_type_code: c.text(5)?,
            assigning_facility: c.hd(6)?,
            further: c.further(7),
            written: c.parts.len(),
        })
    }

    /// Reads a patient id (DocumentEntry/SubmissionSet/Folder.patientId, sourcePatientId) with the
    /// XDS rules: CX.1 present, CX.4 an ISO OID assigning authority, no other component.
    pub fn parse_patient_id(value: &str) -> Result<Self, Hl7TypeError> {
        let cx = Cx::parse(value)?;
        let err = |rule| Hl7TypeError::new("CX", value, rule);
        if cx.id.is_empty() {
            return Err(err(Hl7Rule::MissingComponent {
                component: "CX.1".to_owned(),
            }));
        }
        let extra = [
            (!cx.check_digit.is_empty(), "CX.2"),
            (!cx.check_digit_scheme.is_empty(), "CX.3"),
            (!cx.identifier_type_code.is_empty(), "CX.5"),
            (!cx.assigning_facility.is_empty(), "CX.6"),
        ];
        if let Some((_, component)) = extra.iter().find(|(present, _)| *present) {
            return Err(err(Hl7Rule::ForbiddenComponent {
                component: (*component).to_owned(),
            }));
        }
        if let Some(i) = cx.further.iter().position(|p| !p.is_empty()) {
            return Err(err(Hl7Rule::ForbiddenComponent {
                component: format!("CX.{}", i + 7),
            }));
        }
        cx.assigning_authority.check_iso_oid("CX.4").map_err(err)?;
        Ok(cx)
    }

    /// Reads a CXi of DocumentEntry.referenceIdList: CX.1 and CX.5 present, CX.2/CX.3 and CX.7+
    /// absent; CX.4 and CX.6 optional.
    pub fn parse_reference_id(value: &str) -> Result<Self, Hl7TypeError> {
        let cx = Cx::parse(value)?;
        let err = |rule| Hl7TypeError::new("CXi", value, rule);
        for (empty, component) in [
            (cx.id.is_empty(), "CX.1"),
            (cx.identifier_type_code.is_empty(), "CX.5"),
        ] {
            if empty {
                return Err(err(Hl7Rule::MissingComponent {
                    component: component.to_owned(),
                }));
            }
        }
        for (present, component) in [
            (!cx.check_digit.is_empty(), "CX.2"),
            (!cx.check_digit_scheme.is_empty(), "CX.3"),
        ] {
            if present {
                return Err(err(Hl7Rule::ForbiddenComponent {
                    component: component.to_owned(),
                }));
            }
        }
        if let Some(i) = cx.further.iter().position(|p| !p.is_empty()) {
            return Err(err(Hl7Rule::ForbiddenComponent {
                component: format!("CX.{}", i + 7),
            }));
        }
        Ok(cx)
    }
}

impl fmt::Display for Cx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = vec![
            escape(&self.id),
            escape(&self.check_digit),
            escape(&self.check_digit_scheme),
            self.assigning_authority.to_component(),
            escape(&self.identifier_type_code),
            self.assigning_facility.to_component(),
        ];
        f.write_str(&join(
            &with_further(parts, &self.further),
            self.written,
            '^',
        ))
    }
}

/// XCN: extended composite id number and name for persons (authorPerson, legalAuthenticator).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Xcn {
    /// XCN.1 id number.
    pub id: String,
    /// XCN.2 family name (surname only; FN sub-components are not supported).
    pub family_name: String,
    /// XCN.3 given name.
    pub given_name: String,
    /// XCN.4 second and further given names or initials.
    pub further_given_names: String,
    /// XCN.5 suffix.
    pub suffix: String,
    /// XCN.6 prefix.
    pub prefix: String,
    /// XCN.7 degree.
    pub degree: String,
    /// XCN.8 source table.
    pub source_table: String,
    /// XCN.9 assigning authority.
    pub assigning_authority: Hd,
    /// XCN.10 and later components, kept as written (escaped).
    pub further: Vec<String>,
    written: usize,
}

impl Xcn {
    /// Reads an XCN (syntax only; see [`Xcn::check_xds`]).
    pub fn parse(value: &str) -> Result<Self, Hl7TypeError> {
        let c = Components::split("XCN", value)?;
        Ok(Xcn {
            id: c.text(1)?,
            family_name: c.text(2)?,
            given_name: c.text(3)?,
            further_given_names: c.text(4)?,
            suffix: c.text(5)?,
            prefix: c.text(6)?,
            degree: c.text(7)?,
            source_table: c.text(8)?,
            assigning_authority: c.hd(9)?,
            further: c.further(10),
            written: c.parts.len(),
        })
    }

    /// XDS rule: an identifier (XCN.1) or a name (XCN.2 or XCN.3) is present.
    pub fn check_xds(&self) -> Result<(), Hl7TypeError> {
        if self.id.is_empty() && self.family_name.is_empty() && self.given_name.is_empty() {
            return Err(Hl7TypeError::new(
                "XCN",
                &self.to_string(),
                Hl7Rule::XcnNeitherIdNorName,
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Xcn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = vec![
            escape(&self.id),
            escape(&self.family_name),
            escape(&self.given_name),
            escape(&self.further_given_names),
            escape(&self.suffix),
            escape(&self.prefix),
            escape(&self.degree),
            escape(&self.source_table),
            self.assigning_authority.to_component(),
        ];
        f.write_str(&join(
            &with_further(parts, &self.further),
            self.written,
            '^',
        ))
    }
}

/// XON: extended composite name and id for organizations (authorInstitution).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Xon {
    /// XON.1 organization name.
    pub organization_name: String,
    /// XON.2 organization name type code.
    pub name_type_code: String,
    /// XON.3 id number (deprecated in v2.5).
    pub id_number: String,
    /// XON.4 check digit.
    pub check_digit: String,
    /// XON.5 check digit scheme.
    pub check_digit_scheme: String,
    /// XON.6 assigning authority.
    pub assigning_authority: Hd,
    /// XON.7 identifier type code.
    pub identifier_type_code: String,
    /// XON.8 assigning facility.
    pub assigning_facility: Hd,
    /// XON.9 name representation code.
    pub name_representation_code: String,
    /// XON.10 organization identifier.
    pub organization_identifier: String,
    /// XON.11 and later components, kept as written (escaped).
    pub further: Vec<String>,
    written: usize,
}

impl Xon {
    /// Reads an XON (syntax only; see [`Xon::check_xds`]).
    pub fn parse(value: &str) -> Result<Self, Hl7TypeError> {
        let c = Components::split("XON", value)?;
        Ok(Xon {
            organization_name: c.text(1)?,
            name_type_code: c.text(2)?,
            id_number: c.text(3)?,
            check_digit: c.text(4)?,
            check_digit_scheme: c.text(5)?,
            assigning_authority: c.hd(6)?,
            identifier_type_code: c.text(7)?,
            assigning_facility: c.hd(8)?,
            name_representation_code: c.text(9)?,
            organization_identifier: c.text(10)?,
            further: c.further(11),
            written: c.parts.len(),
        })
    }

    /// XDS rules: XON.1 present; an XON.10 organization identifier that is not itself an OID
    /// needs XON.6 with an ISO OID assigning authority.
    pub fn check_xds(&self) -> Result<(), Hl7TypeError> {
        let err = |rule| Hl7TypeError::new("XON", &self.to_string(), rule);
        if self.organization_name.is_empty() {
            return Err(err(Hl7Rule::MissingComponent {
                component: "XON.1".to_owned(),
            }));
        }
        if !self.organization_identifier.is_empty() && !is_oid(&self.organization_identifier) {
            self.assigning_authority
                .check_iso_oid("XON.6")
                .map_err(err)?;
        }
        Ok(())
    }
}

impl fmt::Display for Xon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = vec![
            escape(&self.organization_name),
            escape(&self.name_type_code),
            escape(&self.id_number),
            escape(&self.check_digit),
            escape(&self.check_digit_scheme),
            self.assigning_authority.to_component(),
            escape(&self.identifier_type_code),
            self.assigning_facility.to_component(),
            escape(&self.name_representation_code),
            escape(&self.organization_identifier),
        ];
        f.write_str(&join(
            &with_further(parts, &self.further),
            self.written,
            '^',
        ))
    }
}

/// XTN: extended telecommunication number (authorTelecommunication, intendedRecipient).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Xtn {
    /// XTN.1 telephone number (deprecated free text).
    pub telephone_number: String,
    /// XTN.2 telecommunication use code (`NET`, `WPN`, ...).
    pub use_code: String,
    /// XTN.3 telecommunication equipment type (`Internet`, `PH`, `CP`, `FX`, ...).
    pub equipment_type: String,
    /// XTN.4 e-mail address.
    pub email: String,
    /// XTN.5 country code.
    pub country_code: String,
    /// XTN.6 area/city code.
    pub area_code: String,
    /// XTN.7 local number.
    pub local_number: String,
    /// XTN.8 extension.
    pub extension: String,
    /// XTN.9 any text.
    pub any_text: String,
    /// XTN.10 extension prefix.
    pub extension_prefix: String,
    /// XTN.11 speed dial code.
    pub speed_dial_code: String,
    /// XTN.12 unformatted telephone number.
    pub unformatted: String,
    /// XTN.13 and later components, kept as written (escaped).
    pub further: Vec<String>,
    written: usize,
}

impl Xtn {
    /// An e-mail address `^NET^Internet^address`.
    pub fn email(address: impl Into<String>) -> Self {
        Xtn {
            use_code: "NET".to_owned(),
            equipment_type: "Internet".to_owned(),
            email: address.into(),
            ..Xtn::default()
        }
    }

    /// Reads an XTN (syntax only; see [`Xtn::check_xds`]).
    pub fn parse(value: &str) -> Result<Self, Hl7TypeError> {
        let c = Components::split("XTN", value)?;
        Ok(Xtn {
            telephone_number: c.text(1)?,
            use_code: c.text(2)?,
            equipment_type: c.text(3)?,
            email: c.text(4)?,
            country_code: c.text(5)?,
            area_code: c.text(6)?,
            local_number: c.text(7)?,
            extension: c.text(8)?,
            any_text: c.text(9)?,
            extension_prefix: c.text(10)?,
            speed_dial_code: c.text(11)?,
            unformatted: c.text(12)?,
            further: c.further(13),
            written: c.parts.len(),
        })
    }

    /// XDS rules: XTN.3 present; `Internet` needs XTN.4; any other (telephone) type needs XTN.7
    /// or XTN.12.
    pub fn check_xds(&self) -> Result<(), Hl7TypeError> {
        let err = |rule| Hl7TypeError::new("XTN", &self.to_string(), rule);
        if self.equipment_type.is_empty() {
            return Err(err(Hl7Rule::MissingComponent {
                component: "XTN.3".to_owned(),
            }));
        }
        if self.equipment_type == "Internet" || self.equipment_type == "X.400" {
            if self.email.is_empty() {
                return Err(err(Hl7Rule::XtnEmailMissing));
            }
        } else if self.local_number.is_empty() && self.unformatted.is_empty() {
            return Err(err(Hl7Rule::XtnNumberMissing));
        }
        Ok(())
    }
}

impl fmt::Display for Xtn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = vec![
            escape(&self.telephone_number),
            escape(&self.use_code),
            escape(&self.equipment_type),
            escape(&self.email),
            escape(&self.country_code),
            escape(&self.area_code),
            escape(&self.local_number),
            escape(&self.extension),
            escape(&self.any_text),
            escape(&self.extension_prefix),
            escape(&self.speed_dial_code),
            escape(&self.unformatted),
        ];
        f.write_str(&join(
            &with_further(parts, &self.further),
            self.written,
            '^',
        ))
    }
}

/// Precision of a [`Dtm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DtmPrecision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

/// DTM as XDS uses it (ITI TF-3 4.2.3.1.7): `YYYY[MM[DD[hh[mm[ss]]]]]`, UTC, precision kept.
///
/// Ordering is the lexical order of the text, which is how time-range stored query parameters
/// (`...TimeFrom` inclusive, `...TimeTo` exclusive, ITI TF-2a 3.18.4.1.2.3.7) compare: a value
/// sorts before every longer value it is a prefix of (`2004` < `20040101`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dtm {
    text: String,
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

impl Dtm {
    /// Reads and validates a DTM.
    pub fn parse(value: &str) -> Result<Self, Hl7TypeError> {
        let err = |rule| Hl7TypeError::new("DTM", value, rule);
        if !matches!(value.len(), 4 | 6 | 8 | 10 | 12 | 14) {
            if !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(Hl7Rule::DtmNotDigits));
            }
            return Err(err(Hl7Rule::DtmLength {
                length: value.len(),
            }));
        }
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(Hl7Rule::DtmNotDigits));
        }
        let num = |from: usize, len: usize| -> u32 {
            value.as_bytes()[from..from + len]
                .iter()
                .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
        };
        let year = num(0, 4);
        let mut checks: Vec<(&'static str, u32, u32, u32)> = Vec::new();
        if value.len() >= 6 {
            checks.push(("month", num(4, 2), 1, 12));
        }
        if value.len() >= 8 {
            let month = num(4, 2);
            checks.push(("day", num(6, 2), 1, days_in_month(year, month)));
        }
        if value.len() >= 10 {
            checks.push(("hour", num(8, 2), 0, 23));
        }
        if value.len() >= 12 {
            checks.push(("minute", num(10, 2), 0, 59));
        }
        if value.len() >= 14 {
            checks.push(("second", num(12, 2), 0, 59));
        }
        for (field, found, min, max) in checks {
            if found < min || found > max {
                return Err(err(Hl7Rule::DtmOutOfRange {
                    field,
                    found,
                    min,
                    max,
                }));
            }
        }
        Ok(Dtm {
            text: value.to_owned(),
        })
    }

    /// The value as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The precision the value was given with.
    pub fn precision(&self) -> DtmPrecision {
        match self.text.len() {
            4 => DtmPrecision::Year,
            6 => DtmPrecision::Month,
            8 => DtmPrecision::Day,
            10 => DtmPrecision::Hour,
            12 => DtmPrecision::Minute,
            _ => DtmPrecision::Second,
        }
    }

    /// ITI-18 `...TimeFrom`: the value is at or after `from` (inclusive, lexical).
    pub fn is_at_or_after(&self, from: &Dtm) -> bool {
        self >= from
    }

    /// ITI-18 `...TimeTo`: the value is before `to` (exclusive, lexical).
    pub fn is_before(&self, to: &Dtm) -> bool {
        self < to
    }
}

impl fmt::Display for Dtm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of<T: std::fmt::Debug>(r: Result<T, Hl7TypeError>) -> Hl7Rule {
        match r {
            Err(e) => e.rule,
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn cx_patient_id_round_trips_exactly() {
        let v = "X1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
        let cx = Cx::parse_patient_id(v).unwrap();
        assert_eq!(cx.id, "X1");
        assert_eq!(
            cx.assigning_authority.universal_id,
            "1.3.6.1.4.1.21367.2005.13.20.1000"
        );
        assert_eq!(cx.assigning_authority.universal_id_type, "ISO");
        assert_eq!(cx.to_string(), v);
    }

    #[test]
    fn cx_built_in_code_writes_the_xds_form() {
        assert_eq!(Cx::patient_id("P1", "1.2.3").to_string(), "P1^^^&1.2.3&ISO");
    }

    #[test]
    fn cx_with_extra_components_is_rejected() {
        let rule = rule_of(Cx::parse_patient_id("X1^^^&1.2.3&ISO^PI"));
        assert_eq!(
            rule,
            Hl7Rule::ForbiddenComponent {
                component: "CX.5".into()
            }
        );
        let rule = rule_of(Cx::parse_patient_id("X1^5^M10^&1.2.3&ISO"));
        assert_eq!(
            rule,
            Hl7Rule::ForbiddenComponent {
                component: "CX.2".into()
            }
        );
        let rule = rule_of(Cx::parse_patient_id("X1^^^&1.2.3&ISO^^^^x"));
        assert_eq!(
            rule,
            Hl7Rule::ForbiddenComponent {
                component: "CX.8".into()
            }
        );
    }

    #[test]
    fn cx_patient_id_without_id_is_rejected() {
        let rule = rule_of(Cx::parse_patient_id("^^^&1.2.3&ISO"));
        assert_eq!(
            rule,
            Hl7Rule::MissingComponent {
                component: "CX.1".into()
            }
        );
    }

    #[test]
    fn cx_patient_id_authority_must_be_iso() {
        let rule = rule_of(Cx::parse_patient_id("X1^^^&1.2.3&DNS"));
        assert_eq!(
            rule,
            Hl7Rule::NotIso {
                component: "CX.4.3".into(),
                found: "DNS".into()
            }
        );
    }

    #[test]
    fn cx_patient_id_authority_must_be_an_oid() {
        let rule = rule_of(Cx::parse_patient_id("X1^^^HOSP&hosp.example&ISO"));
        assert!(matches!(rule, Hl7Rule::NotOid { .. }), "{rule:?}");
        let rule = rule_of(Cx::parse_patient_id("X1"));
        assert_eq!(
            rule,
            Hl7Rule::MissingComponent {
                component: "CX.4.2".into()
            }
        );
    }

    #[test]
    fn cxi_reference_id_needs_type_code() {
        let v = "ACC1^^^&1.2.3.4.5.6.7.8.2&ISO^urn:ihe:iti:xds:2013:accession";
        let cx = Cx::parse_reference_id(v).unwrap();
        assert_eq!(cx.identifier_type_code, "urn:ihe:iti:xds:2013:accession");
        assert_eq!(cx.to_string(), v);
        let rule = rule_of(Cx::parse_reference_id("ACC1^^^&1.2.3&ISO"));
        assert_eq!(
            rule,
            Hl7Rule::MissingComponent {
                component: "CX.5".into()
            }
        );
    }

    #[test]
    fn cxi_assigning_facility_carries_home_community_id() {
        let v = "ACC1^^^^urn:ihe:iti:xds:2013:accession^&urn:oid:1.2.3&URN";
        let cx = Cx::parse_reference_id(v).unwrap();
        assert_eq!(cx.assigning_facility.universal_id, "urn:oid:1.2.3");
        assert_eq!(cx.to_string(), v);
    }

    #[test]
    fn hl7_escape_sequences_round_trip() {
        let v = r"A\F\B\S\C\T\D\R\E\E\F^^^&1.2.3&ISO";
        let cx = Cx::parse(v).unwrap();
        assert_eq!(cx.id, r"A|B^C&D~E\F");
        assert_eq!(cx.to_string(), v);
        assert_eq!(escape(r"|^&~\"), r"\F\\S\\T\\R\\E\");
    }

    #[test]
    fn unsupported_escape_is_rejected() {
        let rule = rule_of(Cx::parse(r"A\X0D\^^^&1.2.3&ISO"));
        assert_eq!(rule, Hl7Rule::UnsupportedEscape { position: 1 });
        let rule = rule_of(Cx::parse(r"A\"));
        assert_eq!(rule, Hl7Rule::UnsupportedEscape { position: 1 });
    }

    #[test]
    fn unescaped_field_separator_is_rejected() {
        let rule = rule_of(Cx::parse("A|B^^^&1.2.3&ISO"));
        assert_eq!(
            rule,
            Hl7Rule::UnescapedDelimiter {
                component: "CX".into(),
                delimiter: '|'
            }
        );
        let rule = rule_of(Cx::parse("A&B^^^&1.2.3&ISO"));
        assert_eq!(
            rule,
            Hl7Rule::UnescapedDelimiter {
                component: "CX.1".into(),
                delimiter: '&'
            }
        );
    }

    #[test]
    fn hd_with_four_sub_components_is_rejected() {
        let rule = rule_of(Cx::parse("A^^^a&1.2.3&ISO&x"));
        assert_eq!(
            rule,
            Hl7Rule::TooManyParts {
                component: "CX.4".into(),
                max: 3,
                found: 4
            }
        );
    }

    #[test]
    fn hd_standalone_round_trips() {
        let hd = Hd::parse("NS^1.2.3^ISO").unwrap();
        assert_eq!(hd.namespace_id, "NS");
        assert_eq!(hd.to_string(), "NS^1.2.3^ISO");
        assert_eq!(hd.to_component(), "NS&1.2.3&ISO");
    }

    #[test]
    fn trailing_empty_components_are_written_back() {
        let xcn = Xcn::parse("DOE^JANE^^^").unwrap();
        assert_eq!(xcn.to_string(), "DOE^JANE^^^");
    }

    #[test]
    fn xcn_author_person_round_trips() {
        let v = "^Welby^Marcus^^^Dr";
        let xcn = Xcn::parse(v).unwrap();
        assert_eq!(
            (
                xcn.family_name.as_str(),
                xcn.given_name.as_str(),
                xcn.prefix.as_str()
            ),
            ("Welby", "Marcus", "Dr")
        );
        xcn.check_xds().unwrap();
        assert_eq!(xcn.to_string(), v);
        let with_id =
            Xcn::parse("11375^Welby^Marcus^J^Jr. MD^Dr^^^&1.2.840.113619.6.197&ISO").unwrap();
        assert_eq!(
            with_id.assigning_authority.universal_id,
            "1.2.840.113619.6.197"
        );
    }

    #[test]
    fn xcn_without_id_or_name_is_rejected() {
        let xcn = Xcn::parse("^^^^^Dr").unwrap();
        assert_eq!(
            xcn.check_xds().unwrap_err().rule,
            Hl7Rule::XcnNeitherIdNorName
        );
    }

    #[test]
    fn xon_author_institution_round_trips() {
        let v = "Hospital A^^^^^&1.2.3.4.5.6.7.8.9&ISO^^^^1.2.3.4.5.6.7.8.9";
        let xon = Xon::parse(v).unwrap();
        assert_eq!(xon.organization_name, "Hospital A");
        assert_eq!(xon.organization_identifier, "1.2.3.4.5.6.7.8.9");
        xon.check_xds().unwrap();
        assert_eq!(xon.to_string(), v);
        Xon::parse("Some Hospital").unwrap().check_xds().unwrap();
    }

    #[test]
    fn xon_identifier_that_is_not_an_oid_needs_assigning_authority() {
        let xon = Xon::parse("Some Hospital^^^^^^^^^45").unwrap();
        assert_eq!(
            xon.check_xds().unwrap_err().rule,
            Hl7Rule::MissingComponent {
                component: "XON.6.2".into()
            }
        );
        Xon::parse("Some Hospital^^^^^&1.2.3&ISO^^^^45")
            .unwrap()
            .check_xds()
            .unwrap();
    }

    #[test]
    fn xon_without_name_is_rejected() {
        let xon = Xon::parse("^^^^^^^^^1.2.3").unwrap();
        assert_eq!(
            xon.check_xds().unwrap_err().rule,
            Hl7Rule::MissingComponent {
                component: "XON.1".into()
            }
        );
    }

    #[test]
    fn xtn_email_and_phone_forms_round_trip() {
        let email = Xtn::parse("^NET^Internet^john@example.org").unwrap();
        email.check_xds().unwrap();
        assert_eq!(email.to_string(), "^NET^Internet^john@example.org");
        assert_eq!(
            Xtn::email("john@example.org"),
            Xtn {
                written: 0,
                ..email
            }
        );
        let phone = Xtn::parse("^WPN^PH^^1^555^1234567").unwrap();
        phone.check_xds().unwrap();
        assert_eq!(phone.to_string(), "^WPN^PH^^1^555^1234567");
        Xtn::parse("^^PH^^^^^^^^^+15551234567")
            .unwrap()
            .check_xds()
            .unwrap();
    }

    #[test]
    fn xtn_internet_without_email_is_rejected() {
        let xtn = Xtn::parse("^NET^Internet").unwrap();
        assert_eq!(xtn.check_xds().unwrap_err().rule, Hl7Rule::XtnEmailMissing);
    }

    #[test]
    fn xtn_phone_without_number_is_rejected() {
        let xtn = Xtn::parse("^WPN^PH^^1^555").unwrap();
        assert_eq!(xtn.check_xds().unwrap_err().rule, Hl7Rule::XtnNumberMissing);
        let xtn = Xtn::parse("^WPN").unwrap();
        assert_eq!(
            xtn.check_xds().unwrap_err().rule,
            Hl7Rule::MissingComponent {
                component: "XTN.3".into()
            }
        );
    }

    #[test]
    fn dtm_keeps_precision() {
        for (v, p) in [
            ("2004", DtmPrecision::Year),
            ("200402", DtmPrecision::Month),
            ("20040229", DtmPrecision::Day),
            ("2004022913", DtmPrecision::Hour),
            ("200402291359", DtmPrecision::Minute),
            ("20040229135959", DtmPrecision::Second),
        ] {
            let d = Dtm::parse(v).unwrap();
            assert_eq!(d.precision(), p);
            assert_eq!(d.to_string(), v);
        }
    }

    #[test]
    fn dtm_month_13_is_rejected() {
        let rule = rule_of(Dtm::parse("200413"));
        assert_eq!(
            rule,
            Hl7Rule::DtmOutOfRange {
                field: "month",
                found: 13,
                min: 1,
                max: 12
            }
        );
    }

    #[test]
    fn dtm_february_29_of_a_common_year_is_rejected() {
        let rule = rule_of(Dtm::parse("20030229"));
        assert_eq!(
            rule,
            Hl7Rule::DtmOutOfRange {
                field: "day",
                found: 29,
                min: 1,
                max: 28
            }
        );
        assert!(Dtm::parse("20000229").is_ok());
        assert!(Dtm::parse("19000229").is_err());
    }

    #[test]
    fn dtm_hour_minute_second_ranges_are_checked() {
        assert!(matches!(
            rule_of(Dtm::parse("2004010124")),
            Hl7Rule::DtmOutOfRange { field: "hour", .. }
        ));
        assert!(matches!(
            rule_of(Dtm::parse("200401012360")),
            Hl7Rule::DtmOutOfRange {
                field: "minute",
                ..
            }
        ));
        assert!(matches!(
            rule_of(Dtm::parse("20040101235960")),
            Hl7Rule::DtmOutOfRange {
                field: "second",
                ..
            }
        ));
    }

    #[test]
    fn dtm_with_time_zone_or_bad_length_is_rejected() {
        assert_eq!(
            rule_of(Dtm::parse("20040101120000+0100")),
            Hl7Rule::DtmNotDigits
        );
        assert_eq!(rule_of(Dtm::parse("2004-01-01")), Hl7Rule::DtmNotDigits);
        assert_eq!(
            rule_of(Dtm::parse("2004010")),
            Hl7Rule::DtmLength { length: 7 }
        );
    }

    #[test]
    fn dtm_time_range_comparison_is_lexical() {
        let d = |s| Dtm::parse(s).unwrap();
        assert!(d("20040101").is_at_or_after(&d("2004")));
        assert!(d("2004").is_at_or_after(&d("2004")));
        assert!(!d("2003123123").is_at_or_after(&d("2004")));
        assert!(d("20041231235959").is_before(&d("2005")));
        assert!(!d("20050101").is_before(&d("2005")));
    }
}
