//! The local patient an import reconciles to: given by the operator (CX plus demographics) or
//! read from the PIX Manager's records by ITI-21 Patient Demographics Query.

use schemas::hl7v2::{Cx, is_oid};

use super::rules::LocalPatient;
use crate::pix_client::{PixClient, PixError};

/// Why the local patient cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalPatientError {
    /// The operator's values are not a usable local identity.
    #[error("local patient {value:?}: {reason}")]
    Invalid { value: String, reason: String },
    /// The PIX Manager does not know the patient, or cannot be asked.
    #[error("ITI-21: {0}")]
    Pdq(#[from] PixError),
}

/// The operator's identification of the local patient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorPatient {
    /// Local patient id as a CX: `ID^^^NAMESPACE&OID&ISO` (namespace or OID required).
    pub patient: String,
    /// Patient's Name (DICOM PN `Family^Given`).
    pub name: Option<String>,
    /// Birth date `YYYYMMDD`.
    pub birth_date: Option<String>,
    /// Sex `M`, `F` or `O`.
    pub sex: Option<String>,
}

impl OperatorPatient {
    /// The local patient these values name (syntax checked, nothing asked).
    pub fn local_patient(&self) -> Result<LocalPatient, LocalPatientError> {
        let invalid = |reason: &str| LocalPatientError::Invalid {
            value: self.patient.clone(),
            reason: reason.to_owned(),
        };
        let cx = Cx::parse(&self.patient).map_err(|e| invalid(&e.to_string()))?;
        if cx.id.trim().is_empty() {
            return Err(invalid("CX.1 (the Patient ID) is empty"));
        }
        let authority = &cx.assigning_authority;
        let oid = (!authority.universal_id.is_empty()).then(|| authority.universal_id.clone());
        if let Some(oid) = &oid
            && (!is_oid(oid) || authority.universal_id_type != "ISO")
        {
            return Err(invalid(
                "CX.4 must name an ISO OID assigning authority (&OID&ISO)",
            ));
        }
        let namespace =
            (!authority.namespace_id.is_empty()).then(|| authority.namespace_id.clone());
        if oid.is_none() && namespace.is_none() {
            return Err(invalid(
                "CX.4 (the assigning authority) is required: ID^^^NAMESPACE or ID^^^&OID&ISO",
            ));
        }
        if let Some(date) = &self.birth_date
            && !(date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid("birth date must be YYYYMMDD"));
        }
        if let Some(sex) = &self.sex
            && !matches!(sex.as_str(), "M" | "F" | "O")
        {
            return Err(invalid("sex must be M, F or O"));
        }
        Ok(LocalPatient {
            id: cx.id,
            issuer: namespace,
            issuer_oid: oid,
            name: self.name.clone().filter(|n| !n.is_empty()),
            birth_date: self.birth_date.clone(),
            sex: self.sex.clone(),
        })
    }

    /// The local patient with the demographics of the PIX Manager's record (ITI-21); the
    /// operator's values, when given, take precedence. An unknown patient is an error.
    pub async fn resolve_with_pdq(
        &self,
        pix: &PixClient,
    ) -> Result<LocalPatient, LocalPatientError> {
        let mut patient = self.local_patient()?;
        let oid = patient
            .issuer_oid
            .clone()
            .ok_or_else(|| LocalPatientError::Invalid {
                value: self.patient.clone(),
                reason: "a PDQ lookup needs the assigning authority's OID (ID^^^&OID&ISO)"
                    .to_owned(),
            })?;
        let record = pix.demographics(&patient.id, &oid).await?;
        patient.name = patient.name.or(record.name);
        patient.birth_date = patient.birth_date.or(record.birth_date);
        patient.sex = patient.sex.or(record.sex);
        Ok(patient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator(cx: &str) -> OperatorPatient {
        OperatorPatient {
            patient: cx.to_owned(),
            ..OperatorPatient::default()
        }
    }

    #[test]
    fn cx_with_namespace_and_oid_gives_both_issuers() {
        let p = operator("LOCAL-7^^^HOSPB&1.2.3.4&ISO")
            .local_patient()
            .unwrap();
        assert_eq!(p.id, "LOCAL-7");
        assert_eq!(p.issuer.as_deref(), Some("HOSPB"));
        assert_eq!(p.issuer_oid.as_deref(), Some("1.2.3.4"));
    }

    #[test]
    fn cx_without_assigning_authority_is_refused() {
        assert!(matches!(
            operator("LOCAL-7").local_patient(),
            Err(LocalPatientError::Invalid { .. })
        ));
    }

    #[test]
    fn malformed_birth_date_is_refused() {
        let mut o = operator("LOCAL-7^^^HOSPB");
        o.birth_date = Some("1980-02-14".into());
        assert!(matches!(
            o.local_patient(),
            Err(LocalPatientError::Invalid { .. })
        ));
    }
}
