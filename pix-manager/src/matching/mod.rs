//! Patient matching engine of the MPI (no I/O): blocking keys, field comparisons, a
//! Fellegi-Sunter model estimated by EM, three decision zones and patient-safety guards.
//!
//! A [`Decision`] carries the score, the zone and the per-field weights that sum to the score,
//! so the service can store why two records were (not) linked.

mod compare;
pub mod dataset;
pub mod linkage;
mod model;
mod normalize;

pub use compare::{Field, MISSING, Prepared};
pub use model::{
    DEFAULT_LOWER_THRESHOLD, DEFAULT_UPPER_THRESHOLD, EmReport, Families, FieldModel, Model,
    NameFrequencies, Namesake, OutcomeModel, candidate_pairs,
};
pub use normalize::{nickname_equivalent, soundex};

/// Patient demographics as received in PID (ITI-8) / PRPA (ITI-44) messages.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Demographics {
    pub given_name: Option<String>,
    pub surname: Option<String>,
    /// YYYYMMDD
    pub date_of_birth: Option<String>,
    /// HL7 administrative sex: M, F, O, U (compared case-insensitively).
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

/// A record as the matcher sees it: its source patient-ID domain, local id and demographics.
pub struct Candidate<'a> {
    pub domain: &'a str,
    pub local_id: &'a str,
    pub demographics: &'a Demographics,
}

/// The decision zone of a compared pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Zone {
    AutoLink,
    Review,
    NoLink,
}

/// One field's contribution to a decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldScore {
    pub field: String,
    /// "agree", "nickname", "close", "phonetic", "swap", "typo", "street", "partial",
    /// "disagree" or "missing".
    pub outcome: String,
    /// log2(m/u) of the outcome; 0 when missing.
    pub weight: f64,
}

/// The outcome of comparing two records: score (sum of the field weights), zone, field weights,
/// and the safety rule that kept a pair scoring above the upper threshold out of AutoLink.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decision {
    pub score: f64,
    pub zone: Zone,
    pub fields: Vec<FieldScore>,
    pub guard: Option<String>,
}

/// Guard: two records of one source domain with different local ids are two patients to that
/// source (or a duplicate it must merge itself).
pub const GUARD_SAME_DOMAIN: &str =
    "same-domain: both records come from one patient-ID domain with different local ids";
/// Guard: same family name and date of birth, different given names (or given names spelled
/// differently at one address), and no national id that tells twins apart.
pub const GUARD_TWIN: &str = "possible-twin: surname and date of birth agree but the given names differ (or are spelled differently at one address)";
/// Guard: same names (often the same address) but dates of birth that no typo explains.
pub const GUARD_PARENT_CHILD: &str =
    "possible-parent-child: names agree but the dates of birth differ beyond a typo";
/// Guard: neither given name and date of birth, nor the national id and one of name, date of
/// birth or street address, agree.
pub const GUARD_INSUFFICIENT_IDENTITY: &str = "insufficient-identity: auto-link needs given name and date of birth, or the national id and one of name, date of birth or street address, to agree";

/// Blocking keys of a record: the service indexes them, and candidates for a match query are
/// the stored records sharing at least one key.
pub fn blocking_keys(d: &Demographics) -> Vec<String> {
    let given = normalize::name(d.given_name.as_deref());
    let surname = normalize::name(d.surname.as_deref());
    let dob = normalize::date_of_birth(d.date_of_birth.as_deref());
    let postcode = normalize::digits(d.postcode.as_deref());
    let surname_code = surname.as_deref().and_then(normalize::soundex);
    let mut keys = Vec::new();
    if let (Some(g), Some(s)) = (&given, &surname_code) {
        for formal in normalize::formal_names(g) {
            if let Some(code) = normalize::soundex(formal) {
                keys.push(format!("gs:{code}{s}"));
            }
        }
        // given and family name entered the wrong way round meet the other record's name key
        if let Some(code) = normalize::soundex(g) {
            keys.push(format!("gs:{s}{code}"));
        }
    }
    if let Some(dob) = &dob {
        let (year, month, day) = (&dob[..4], &dob[4..6], &dob[6..8]);
        let (lo, hi) = if month <= day {
            (month, day)
        } else {
            (day, month)
        };
        keys.push(format!("db:{year}{lo}{hi}"));
        if let Some(s) = &surname_code {
            keys.push(format!("sy:{s}{year}"));
        }
    }
    if let Some(p) = &postcode {
        if let Some(s) = &surname_code {
            keys.push(format!("ps:{p}{s}"));
        }
        if let Some(initial) = given.as_deref().and_then(|g| g.chars().next()) {
            keys.push(format!("pg:{p}{initial}"));
        }
    }
    if let Some(id) = normalize::digits(d.soc_sec_id.as_deref()) {
        keys.push(format!("id:{id}"));
    }
    if let Some(phone) = normalize::digits(d.phone_number.as_deref()).filter(|p| p.len() >= 6) {
        keys.push(format!("ph:{}", &phone[phone.len().saturating_sub(8)..]));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Compares records with a Fellegi-Sunter model and applies the safety guards.
pub struct Matcher {
    model: Model,
    /// log2(m/u) per field of [`Field::ALL`] and outcome.
    weights: Vec<Vec<f64>>,
    /// m of exact agreement per field (term-frequency adjusted names).
    m_agree: Vec<f64>,
    /// m of the given name's "close" outcome: the share of a person's records whose given name
    /// carries a keying error.
    keying_error_share: f64,
}

/// The smallest name frequency used as u of an exact name match (a name seen once in a small
/// population is not that strong evidence).
const MIN_NAME_FREQUENCY: f64 = 0.001;

impl Default for Matcher {
    fn default() -> Self {
        Matcher::new(Model::default())
    }
}

impl Matcher {
    /// A matcher with the given model.
    pub fn new(model: Model) -> Self {
        // a partial agreement never weighs more than full agreement (a rare level, such as a
        // day/month swap, gets an extreme u estimate from a sample)
        let table = model.table();
        let weights = table
            .iter()
            .map(|field| {
                let weight = |&(m, u): &(f64, f64)| (m.max(1e-12) / u.max(1e-12)).log2();
                let agree = field.first().map_or(f64::INFINITY, weight);
                field.iter().map(|level| weight(level).min(agree)).collect()
            })
            .collect();
        let m_agree = table
            .iter()
            .map(|field| field.first().map_or(1.0, |&(m, _)| m))
            .collect();
        let keying_error_share = Field::GivenName
            .outcome_index(compare::CLOSE)
            .and_then(|o| table[Field::GivenName as usize].get(o))
            .map_or(0.0, |&(m, _)| m);
        Matcher {
            model,
            weights,
            m_agree,
            keying_error_share,
        }
    }

    /// The model in use.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Compare two records.
    pub fn compare(&self, a: &Candidate<'_>, b: &Candidate<'_>) -> Decision {
        let pa = Prepared::new(a.demographics);
        let pb = Prepared::new(b.demographics);
        self.compare_prepared((a.domain, a.local_id, &pa), (b.domain, b.local_id, &pb))
    }

    /// The weight of a field outcome; for names, agreement on a name of known frequency weighs
    /// log2(m / frequency) (floored at `MIN_NAME_FREQUENCY`), and no level of a common name
    /// weighs more than exact agreement on it.
    fn name_weight(&self, field: Field, outcome: u8, a: &Prepared, b: &Prepared, f: usize) -> f64 {
        let weight = self.weights[f][usize::from(outcome)];
        let (table, value_a, value_b) = match field {
            Field::GivenName => (
                &self.model.name_frequencies.given_name,
                a.given_name(),
                b.given_name(),
            ),
            Field::Surname => (
                &self.model.name_frequencies.surname,
                a.surname(),
                b.surname(),
            ),
            _ => return weight,
        };
        let frequency = [value_a, value_b]
            .into_iter()
            .flatten()
            .filter_map(|v| table.get(v))
            .fold(None, |acc: Option<f64>, &x| {
                Some(acc.map_or(x, |a| a.max(x)))
            });
        let Some(frequency) = frequency else {
            return weight;
        };
        let agree = (self.m_agree[f].max(1e-12) / frequency.max(MIN_NAME_FREQUENCY)).log2();
        if outcome == 0 {
            agree
        } else {
            weight.min(agree)
        }
    }

    /// Compare two records normalised beforehand (domain, local id, prepared demographics).
    pub fn compare_prepared(
        &self,
        a: (&str, &str, &Prepared),
        b: (&str, &str, &Prepared),
    ) -> Decision {
        self.assess(a, b).decision()
    }

    /// Compare two records normalised beforehand, without writing out the field weights: the
    /// score and zone of [`compare_prepared`](Self::compare_prepared), whose [`Decision`]
    /// [`Assessment::decision`] gives when it is wanted (the feed stores few of the decisions
    /// it makes).
    pub fn assess(&self, a: (&str, &str, &Prepared), b: (&str, &str, &Prepared)) -> Assessment {
        let vector = compare::compare(a.2, b.2);
        let mut weights = [0.0; Field::ALL.len()];
        for (f, (field, outcome)) in Field::ALL.iter().zip(vector.iter()).enumerate() {
            if let Some(o) = outcome {
                weights[f] = self.name_weight(*field, *o, a.2, b.2, f);
            }
        }
        let score: f64 = weights.iter().copied().sum();
        let guard = if score >= self.model.upper_threshold {
            guard(
                a.0,
                a.1,
                b.0,
                b.1,
                &vector,
                self.mistyped_given_name(a.2, b.2),
                compare::national_ids_in_sequence(a.2, b.2),
            )
            .filter(|&g| {
                g != GUARD_INSUFFICIENT_IDENTITY || !self.population_vouches(a.2, b.2, &vector)
            })
        } else {
            None
        };
        let zone = if score >= self.model.upper_threshold && guard.is_none() {
            Zone::AutoLink
        } else if score >= self.model.lower_threshold {
            Zone::Review
        } else {
            Zone::NoLink
        };
        Assessment {
            vector,
            weights,
            score,
            zone,
            guard,
        }
    }
}

/// A compared pair as [`Matcher::assess`] leaves it: score and zone, and what the full
/// [`Decision`] is written from.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    vector: compare::Vector,
    /// Per field of [`Field::ALL`], its weight (0 when missing).
    weights: [f64; Field::ALL.len()],
    pub score: f64,
    pub zone: Zone,
    guard: Option<&'static str>,
}

impl Assessment {
    /// The decision with its field weights written out.
    pub fn decision(&self) -> Decision {
        let fields = Field::ALL
            .iter()
            .zip(self.vector.iter().zip(self.weights))
            .map(|(field, (outcome, weight))| match outcome {
                Some(o) => FieldScore {
                    field: field.name().to_string(),
                    outcome: field.outcomes()[usize::from(*o)].to_string(),
                    weight,
                },
                None => FieldScore {
                    field: field.name().to_string(),
                    outcome: MISSING.to_string(),
                    weight: 0.0,
                },
            })
            .collect();
        Decision {
            score: self.score,
            zone: self.zone,
            fields,
            guard: self.guard.map(str::to_string),
        }
    }
}

impl Matcher {
    /// Whether two records held by two persons may become one person because a third record
    /// auto-links to both (transitive closure, as a clustering of the auto-links): their own
    /// comparison must reach the review zone and trip none of the guards against two different
    /// people (same domain, twin, parent/child). Insufficient identity is not required here:
    /// the bridging record carries it.
    pub fn may_bridge(&self, a: (&str, &str, &Prepared), b: (&str, &str, &Prepared)) -> bool {
        let vector = compare::compare(a.2, b.2);
        let score: f64 = Field::ALL
            .iter()
            .zip(vector.iter())
            .enumerate()
            .filter_map(|(f, (field, o))| o.map(|o| self.name_weight(*field, o, a.2, b.2, f)))
            .sum();
        let mistyped = self.mistyped_given_name(a.2, b.2);
        score >= self.model.lower_threshold
            && guard(
                a.0,
                a.1,
                b.0,
                b.1,
                &vector,
                mistyped,
                compare::national_ids_in_sequence(a.2, b.2),
            )
            .is_none_or(|g| g == GUARD_INSUFFICIENT_IDENTITY)
    }

    /// Whether the population vouches for a pair whose given name or date of birth is missing
    /// (the insufficient-identity guard): surname and street address agree, sex
    /// does not disagree, and either the dates of birth agree exactly and the population shows
    /// one given name with that surname and date of birth (no twin it could be), or the given
    /// names agree and the population shows one date of birth with that name (no parent or
    /// child of the same name it could be). Without a counted population it never does.
    fn population_vouches(&self, a: &Prepared, b: &Prepared, v: &compare::Vector) -> bool {
        let outcome = |field: Field| v[field as usize];
        let families = &self.model.families;
        let residence = compare::agrees(Field::Surname, outcome(Field::Surname))
            && matches!(outcome(Field::Address), Some(0 | 1))
            && outcome(Field::Sex) != Some(1);
        let no_twin = |p: &Prepared| families.shows_one_given_name(p.surname(), p.date_of_birth());
        let no_namesake =
            |p: &Prepared| families.shows_one_date_of_birth(p.given_name(), p.surname());
        residence
            && match (outcome(Field::GivenName), outcome(Field::DateOfBirth)) {
                (None, Some(0)) => no_twin(a) && no_twin(b),
                (given @ Some(_), None) => {
                    compare::agrees(Field::GivenName, given) && no_namesake(a) && no_namesake(b)
                }
                _ => false,
            }
    }

    fn mistyped_given_name(&self, a: &Prepared, b: &Prepared) -> bool {
        // the names as compared: given and family name may have been entered the wrong way round
        match compare::compared_given_names(a, b) {
            (Some(x), Some(y)) => self
                .model
                .is_mistyped_given_name(x, y, self.keying_error_share),
            _ => false,
        }
    }
}

/// Whether the national ids of a pair with the twins' pattern (surname and date of birth agree,
/// the given names differ) show one person whose given name was replaced or mistyped rather
/// than twins: the ids agree, or are a keying error apart (a transposition, an insertion, a
/// deletion, a changed digit other than the last), and the records' sexes do not disagree.
///
/// Twins hold two ids, so agreeing ids are strong evidence of one person: without this, a
/// record whose given name was replaced (a preferred or middle name, a data-entry slip) never
/// auto-links with the person's other records (FEBRL recall 0.996 / 0.995 / 0.986 falls to
/// 0.914 / 0.900 / 0.895 at precision 1.0). What it risks is an id copied from one twin's record
/// onto the other's, or twins whose ids were issued one after the other:
/// * ids differing in the last digit only are the next id issued (twins registered together get
///   consecutive numbers) as much as a keying error, so they do not tell twins apart;
/// * twins of opposite sex sharing an id hold a copied id (one person's sex and given name both
///   changed is two further errors), so a disagreeing sex keeps the guard;
/// * same-sex twins with an id copied exactly from one to the other remain indistinguishable
///   from a replaced given name in the record: the risk accepted, for an id that is personal
///   (a family number, such as a Medicare card's shared by the family, must not be sent as the
///   national id).
fn national_id_tells_twins_apart(ssn: Option<u8>, ids_in_sequence: bool, sex: Option<u8>) -> bool {
    let ids = match ssn {
        Some(0) => true,
        Some(1) => !ids_in_sequence,
        _ => false,
    };
    ids && !compare::disagrees(Field::Sex, sex)
}

/// The first safety rule that forbids auto-linking the pair, if any.
fn guard(
    domain_a: &str,
    id_a: &str,
    domain_b: &str,
    id_b: &str,
    v: &compare::Vector,
    given_mistyped: bool,
    ids_in_sequence: bool,
) -> Option<&'static str> {
    // Field::ALL lists the fields in declaration order, so a field's discriminant is its index.
    let outcome = |field: Field| v[field as usize];
    let given = outcome(Field::GivenName);
    let surname = outcome(Field::Surname);
    let dob = outcome(Field::DateOfBirth);
    let ssn = outcome(Field::SocSecId);
    let given_agrees = compare::agrees(Field::GivenName, given);
    let surname_agrees = compare::agrees(Field::Surname, surname);
    let dob_agrees = compare::agrees(Field::DateOfBirth, dob);
    // exact or one keying error away: parents and children hold unrelated national ids (twins
    // too, but ids issued one after the other or copied: see `national_id_tells_twins_apart`)
    let national_id = matches!(ssn, Some(0 | 1));
    // a misspelling the population vouches for is the same given name (see
    // `Model::is_mistyped_given_name`)
    let given_same = given_agrees || given_mistyped;
    let given_spelled_differently = given.is_some_and(|g| g >= 2);
    let address = outcome(Field::Address);
    // different given names, or a letter apart: twins (named alike: Catherine, Katherine),
    // unless the population shows one of them to be a misspelling of the other
    let twins = surname_agrees && dob_agrees && given_spelled_differently && !given_mistyped;
    if domain_a == domain_b && id_a != id_b {
        Some(GUARD_SAME_DOMAIN)
    } else if twins && !national_id_tells_twins_apart(ssn, ids_in_sequence, outcome(Field::Sex)) {
        Some(GUARD_TWIN)
    } else if national_id
        && (given_agrees || surname_agrees || dob_agrees || matches!(address, Some(0 | 1)))
    {
        None
    } else if given_same && surname_agrees && compare::disagrees(Field::DateOfBirth, dob) {
        Some(GUARD_PARENT_CHILD)
    } else if !(given_same && dob_agrees) {
        Some(GUARD_INSUFFICIENT_IDENTITY)
    } else {
        None
    }
}
