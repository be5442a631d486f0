//! Record matching: the API the PIX manager uses. This is a minimal stand-in (exact surname,
//! given name and date of birth → AutoLink); the probabilistic engine replaces it.

use serde::{Deserialize, Serialize};

/// A patient's demographics as the MPI compares them (every part optional, dates `YYYYMMDD`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Demographics {
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub date_of_birth: Option<String>,
    pub sex: Option<String>,
    pub street_number: Option<String>,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub suburb: Option<String>,
    pub postcode: Option<String>,
    pub state: Option<String>,
    pub phone_number: Option<String>,
    pub soc_sec_id: Option<String>,
}

/// One side of a comparison: a record of a patient identifier domain.
pub struct Candidate<'a> {
    pub domain: &'a str,
    pub local_id: &'a str,
    pub demographics: &'a Demographics,
}

/// Where a comparison score falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Zone {
    AutoLink,
    Review,
    NoLink,
}

/// One field's contribution to a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldScore {
    pub field: String,
    pub outcome: String,
    pub weight: f64,
}

/// The outcome of comparing two records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub score: f64,
    pub zone: Zone,
    pub fields: Vec<FieldScore>,
    pub guard: Option<String>,
}

/// Matching parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {}

impl Model {
    /// Estimates the parameters from a sample of records.
    pub fn estimate(_records: &[Demographics]) -> Model {
        Model::default()
    }
}

/// Blocking keys: records sharing a key are compared.
pub fn blocking_keys(d: &Demographics) -> Vec<String> {
    d.surname
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Compares two records.
#[derive(Debug, Default)]
pub struct Matcher {
    _model: Model,
}

impl Matcher {
    pub fn new(model: Model) -> Self {
        Matcher { _model: model }
    }

    /// Exact surname, given name and date of birth → AutoLink, else NoLink.
    pub fn compare(&self, a: &Candidate<'_>, b: &Candidate<'_>) -> Decision {
        let (x, y) = (a.demographics, b.demographics);
        let parts = [
            ("surname", &x.surname, &y.surname),
            ("given_name", &x.given_name, &y.given_name),
            ("date_of_birth", &x.date_of_birth, &y.date_of_birth),
        ];
        let fields: Vec<FieldScore> = parts
            .iter()
            .map(|(field, p, q)| {
                let same = p.is_some() && p == q;
                FieldScore {
                    field: (*field).to_owned(),
                    outcome: if same { "agree" } else { "disagree" }.to_owned(),
                    weight: if same { 1.0 } else { -1.0 },
                }
            })
            .collect();
        let score: f64 = fields.iter().map(|f| f.weight).sum();
        let zone = if fields.iter().all(|f| f.weight > 0.0) {
            Zone::AutoLink
        } else {
            Zone::NoLink
        };
        Decision {
            score,
            zone,
            fields,
            guard: None,
        }
    }
}
