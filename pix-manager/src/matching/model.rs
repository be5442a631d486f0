//! The Fellegi-Sunter model: m/u probabilities per field outcome, thresholds, and their estimation
//! from the data (u by random sampling, m and the match prior by expectation-maximisation in
//! sessions over blocked candidate pairs).

use super::compare::{self, Field, Prepared, Vector};
use super::{Demographics, blocking_keys, normalize};
use std::collections::{HashMap, HashSet};

/// m (probability among matches) and u (among non-matches) of one outcome level of a field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutcomeModel {
    pub outcome: String,
    pub m: f64,
    pub u: f64,
}

/// The outcome levels of one compared field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldModel {
    pub field: String,
    pub outcomes: Vec<OutcomeModel>,
}

/// A Fellegi-Sunter model: a pair's score is the sum over fields of log2(m/u) of its outcome
/// (0 for a missing value); AutoLink at or above `upper_threshold`, Review at or above
/// `lower_threshold`, NoLink below.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub fields: Vec<FieldModel>,
    pub upper_threshold: f64,
    pub lower_threshold: f64,
    /// Share of matches among the candidate pairs of the last EM session (EM's lambda).
    pub prior: f64,
    /// Name frequencies for term-frequency adjustment (empty: no adjustment).
    #[serde(default)]
    pub name_frequencies: NameFrequencies,
    /// How many records of the population carry each normalised given name (empty: unknown).
    /// Two given names a keying error apart are one name mistyped, not twins named alike, when
    /// the population holds the rarer no more often than keying errors explain (see
    /// [`Model::is_mistyped_given_name`]).
    #[serde(default)]
    pub given_name_counts: HashMap<String, u32>,
    /// What the population shows about families (empty: unknown, as in the service).
    #[serde(default)]
    pub families: Families,
}

/// The families a population shows: whether the records sharing a surname code and date of
/// birth are one person by their given names (no twin in sight), and whether the records sharing
/// a given-name code and surname code whose given name agrees with the one asked about are one
/// person by their dates of birth (no parent or child of the same name in sight). One person means all values pairwise agree (nickname, a keying
/// error, a day/month swap or one-digit typo) and no source domain holds two of the records (a
/// source that registered two of them knows two patients).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Families {
    /// `soundex(surname)` + date of birth → whether the records are one person.
    pub one_given_name: HashMap<String, bool>,
    /// `soundex(given name)` + `soundex(surname)` → the records: a namesake is one whose given
    /// name agrees (exact, nickname, keying error), so whether they are one person is asked of
    /// the records named as the query is (Georgia White's family code holds George and Grace
    /// White, who are no namesakes of hers).
    pub namesakes: HashMap<String, Vec<Namesake>>,
}

/// A record of a family of names: its given name, date of birth and source domain.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Namesake {
    pub given_name: String,
    pub date_of_birth: Option<String>,
    pub domain: String,
}

/// The records of one family: their values of the telling field and their source domains.
#[derive(Default)]
struct Family<'a> {
    values: Vec<String>,
    domains: Vec<&'a str>,
}

impl Family<'_> {
    fn shows_one_person(&self, agree: fn(&str, &str) -> u8) -> bool {
        let values = &self.values;
        let alike = values
            .iter()
            .enumerate()
            .all(|(i, a)| values[i + 1..].iter().all(|b| agree(a, b) <= 2));
        let domains: HashSet<&str> = self.domains.iter().copied().collect();
        alike && domains.len() == self.domains.len()
    }
}

impl Families {
    /// Group the records of a population (source domain, demographics) into families.
    pub fn of(records: &[(&str, &Demographics)]) -> Self {
        let mut births: HashMap<String, Family<'_>> = HashMap::new();
        let mut names: HashMap<String, Vec<Namesake>> = HashMap::new();
        for &(domain, d) in records {
            let given = normalize::name(d.given_name.as_deref());
            let surname = normalize::name(d.surname.as_deref());
            let dob = normalize::date_of_birth(d.date_of_birth.as_deref());
            if let Some(key) = Self::birth_key(surname.as_deref(), dob.as_deref()) {
                let family = births.entry(key).or_default();
                family.domains.push(domain);
                family.values.extend(given.clone());
            }
            if let (Some(key), Some(given_name)) =
                (Self::name_key(given.as_deref(), surname.as_deref()), given)
            {
                names.entry(key).or_default().push(Namesake {
                    given_name,
                    date_of_birth: dob,
                    domain: domain.to_string(),
                });
            }
        }
        Families {
            one_given_name: births
                .into_iter()
                .map(|(key, family)| (key, family.shows_one_person(compare::given_name)))
                .collect(),
            namesakes: names,
        }
    }

    fn birth_key(surname: Option<&str>, dob: Option<&str>) -> Option<String> {
        Some(format!("{}{}", normalize::soundex(surname?)?, dob?))
    }

    fn name_key(given: Option<&str>, surname: Option<&str>) -> Option<String> {
        Some(format!(
            "{}{}",
            normalize::soundex(given?)?,
            normalize::soundex(surname?)?
        ))
    }

    /// Whether the population shows one given name with this surname and date of birth (false
    /// when it shows none: unknown).
    pub fn shows_one_given_name(&self, surname: Option<&str>, dob: Option<&str>) -> bool {
        Self::birth_key(surname, dob)
            .and_then(|key| self.one_given_name.get(&key).copied())
            .unwrap_or(false)
    }

    /// Whether the population shows one date of birth with this given name and surname (false
    /// when it shows none: unknown).
    pub fn shows_one_date_of_birth(&self, given: Option<&str>, surname: Option<&str>) -> bool {
        let (Some(key), Some(given)) = (Self::name_key(given, surname), given) else {
            return false;
        };
        let Some(records) = self.namesakes.get(&key) else {
            return false;
        };
        let mut family = Family::default();
        for namesake in records
            .iter()
            .filter(|n| compare::given_name(&n.given_name, given) <= 2)
        {
            family.domains.push(&namesake.domain);
            family.values.extend(namesake.date_of_birth.clone());
        }
        !family.domains.is_empty() && family.shows_one_person(compare::date_of_birth)
    }
}

/// Share of records carrying each normalised given name and surname: agreement on a rare name
/// weighs more than agreement on a common one (u of an exact match = the name's frequency).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NameFrequencies {
    pub given_name: HashMap<String, f64>,
    pub surname: HashMap<String, f64>,
}

impl NameFrequencies {
    /// Count the names of a population.
    pub fn of(records: &[Demographics]) -> Self {
        let mut given: HashMap<String, f64> = HashMap::new();
        let mut surname: HashMap<String, f64> = HashMap::new();
        for d in records {
            if let Some(g) = normalize::name(d.given_name.as_deref()) {
                *given.entry(g).or_default() += 1.0;
            }
            if let Some(s) = normalize::name(d.surname.as_deref()) {
                *surname.entry(s).or_default() += 1.0;
            }
        }
        let n = records.len().max(1) as f64;
        for count in given.values_mut().chain(surname.values_mut()) {
            *count /= n;
        }
        NameFrequencies {
            given_name: given,
            surname,
        }
    }
}

/// Default auto-link threshold (log2 Bayes factor).
pub const DEFAULT_UPPER_THRESHOLD: f64 = 24.0;
/// Default review threshold (log2 Bayes factor).
pub const DEFAULT_LOWER_THRESHOLD: f64 = 12.0;

/// Default (m, u) per outcome of each field, in the order of [`Field::outcomes`].
fn default_probabilities(field: Field) -> &'static [(f64, f64)] {
    match field {
        Field::GivenName => &[
            (0.85, 0.005),
            (0.03, 0.0005),
            (0.06, 0.002),
            (0.02, 0.01),
            (0.04, 0.9825),
        ],
        Field::Surname => &[(0.88, 0.002), (0.07, 0.001), (0.02, 0.01), (0.03, 0.987)],
        Field::DateOfBirth => &[
            (0.90, 0.0001),
            (0.02, 0.000_01),
            (0.05, 0.0005),
            (0.03, 0.9994),
        ],
        Field::Sex => &[(0.97, 0.5), (0.03, 0.5)],
        Field::Address => &[(0.75, 0.0005), (0.08, 0.0005), (0.02, 0.002), (0.15, 0.997)],
        Field::Locality => &[(0.82, 0.002), (0.08, 0.01), (0.10, 0.988), (1.0, 1.0)],
        Field::State => &[(0.95, 0.3), (0.05, 0.7), (1.0, 1.0)],
        Field::PhoneNumber => &[(0.85, 0.0001), (0.07, 0.0002), (0.08, 0.9997), (1.0, 1.0)],
        Field::SocSecId => &[(0.85, 0.000_01), (0.08, 0.0001), (0.07, 0.999_89)],
    }
}

impl Default for Model {
    fn default() -> Self {
        let fields = Field::ALL
            .iter()
            .map(|&field| FieldModel {
                field: field.name().to_string(),
                outcomes: field
                    .outcomes()
                    .iter()
                    .zip(default_probabilities(field))
                    .map(|(outcome, &(m, u))| OutcomeModel {
                        outcome: (*outcome).to_string(),
                        m,
                        u,
                    })
                    .collect(),
            })
            .collect();
        Model {
            fields,
            upper_threshold: DEFAULT_UPPER_THRESHOLD,
            lower_threshold: DEFAULT_LOWER_THRESHOLD,
            prior: 0.1,
            name_frequencies: NameFrequencies::default(),
            given_name_counts: HashMap::new(),
            families: Families::default(),
        }
    }
}

/// How an EM estimation went.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmReport {
    /// Candidate pairs from blocking that EM ran on (summed over sessions).
    pub candidate_pairs: usize,
    /// Random pairs the u probabilities were counted on.
    pub random_pairs: usize,
    /// Iterations of the longest session.
    pub iterations: usize,
    /// Whether, in every session, the largest change of an m probability fell below the tolerance.
    pub converged: bool,
}

/// Blocks larger than this contribute no candidate pairs to estimation (a key that common
/// carries no evidence and would make estimation quadratic).
const MAX_BLOCK: usize = 400;
const MAX_RANDOM_PAIRS: usize = 50_000;
const MAX_ITERATIONS: usize = 200;
const TOLERANCE: f64 = 1e-6;
/// Weight of the default model in the estimate, in pseudo-pairs.
const PSEUDO_COUNT: f64 = 1.0;

impl Model {
    /// Estimate m/u and name frequencies from the records themselves (default thresholds kept).
    pub fn estimate(records: &[Demographics]) -> Model {
        Self::estimate_with_report(records).0
    }

    /// This model with name frequencies counted on `records` (term-frequency adjustment).
    pub fn with_name_frequencies(mut self, records: &[Demographics]) -> Model {
        self.name_frequencies = NameFrequencies::of(records);
        self
    }

    /// This model with the given names of `records` counted (see `given_name_counts`).
    pub fn with_given_name_counts(mut self, records: &[Demographics]) -> Model {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for given in records
            .iter()
            .filter_map(|d| normalize::name(d.given_name.as_deref()))
        {
            *counts.entry(given).or_default() += 1;
        }
        self.given_name_counts = counts;
        self
    }

    /// This model with the families of `records` (source domain, demographics; see
    /// [`Families`]): a record missing its given name or date of birth may then auto-link where
    /// the population shows no twin or namesake parent/child it could be.
    pub fn with_families(mut self, records: &[(&str, &Demographics)]) -> Model {
        self.families = Families::of(records);
        self
    }

    /// Whether two given names are one name, one of them mistyped: one is a keying error of the
    /// other, or of a nickname of it ("bety" for "elizabeth" through "betty"; both four letters
    /// or more, as shorter names are a keying error away from too many other names), and the
    /// population holds the mistyped form no more often than keying errors of the name's records
    /// explain: in at most `keying_error_share` (m of the given name's "close" outcome: the share
    /// of a person's records whose given name is mistyped) of the records carrying the name or a
    /// nickname of it, or once. A twin's own name is what its records carry: it is not rarer
    /// than its sibling's by the keying-error rate unless it is a rare variant of a common name,
    /// which the guard then cannot tell from a misspelling (false when the names were not
    /// counted).
    pub fn is_mistyped_given_name(&self, a: &str, b: &str, keying_error_share: f64) -> bool {
        self.misspells(a, b, keying_error_share) || self.misspells(b, a, keying_error_share)
    }

    /// Whether `typo` is a misspelling of `name` or of a nickname of it (see
    /// [`Model::is_mistyped_given_name`]).
    fn misspells(&self, typo: &str, name: &str, keying_error_share: f64) -> bool {
        let count = |name: &str| self.given_name_counts.get(name).copied().unwrap_or(0);
        let forms = normalize::name_forms(name);
        if forms.contains(&typo) {
            return false;
        }
        let near = forms.iter().any(|&form| {
            compare::typo(typo, form)
                && (form == name || typo.chars().count().min(form.chars().count()) >= 4)
        });
        let seen = count(typo);
        let records: u32 = forms.iter().map(|&form| count(form)).sum();
        near && records >= 2
            && seen < records
            && f64::from(seen) <= (f64::from(records) * keying_error_share).max(1.0)
    }

    /// [`Model::estimate`] and how the estimation went.
    ///
    /// u comes from random pairs (nearly all non-matches). m comes from EM sessions, as in
    /// splink: each session runs on the pairs of one kind of blocking key and leaves the fields
    /// of that key out (they agree by construction), so each field's m is estimated where it was
    /// free to disagree; a field's m is the mean over the sessions that estimated it.
    pub fn estimate_with_report(records: &[Demographics]) -> (Model, EmReport) {
        let prepared: Vec<Prepared> = records.iter().map(Prepared::new).collect();
        let defaults = Model::default();
        let random = random_pairs(prepared.len());
        let u = count_u(&prepared, &random, &defaults);
        let table = defaults.table();
        let mut m_sum: Vec<Vec<f64>> = table.iter().map(|f| vec![0.0; f.len()]).collect();
        let mut sessions_of = vec![0usize; Field::ALL.len()];
        let mut report = EmReport {
            candidate_pairs: 0,
            random_pairs: random.len(),
            iterations: 0,
            converged: true,
        };
        let mut prior = defaults.prior;
        for (prefix, excluded) in SESSIONS {
            let vectors: Vec<Vector> = candidate_pairs_of(records, Some(prefix))
                .into_iter()
                .map(|(i, j)| {
                    let mut v =
                        for_estimation(compare::compare_independently(&prepared[i], &prepared[j]));
                    for field in excluded {
                        v[*field as usize] = None;
                    }
                    v
                })
                .collect();
            if vectors.is_empty() {
                continue;
            }
            let (m, session_prior, iterations, converged) =
                expectation_maximisation(&vectors, &u, &defaults);
            report.candidate_pairs += vectors.len();
            report.iterations = report.iterations.max(iterations);
            report.converged &= converged;
            prior = session_prior;
            for (f, field) in Field::ALL.iter().enumerate() {
                if !excluded.contains(field) {
                    sessions_of[f] += 1;
                    for (sum, value) in m_sum[f].iter_mut().zip(&m[f]) {
                        *sum += value;
                    }
                }
            }
        }
        let mut model = defaults;
        for ((f, field), kind) in model.fields.iter_mut().enumerate().zip(Field::ALL) {
            for (o, outcome) in field.outcomes.iter_mut().enumerate() {
                if u8::try_from(o).is_ok_and(|o| compare::is_neutral(kind, o)) {
                    continue;
                }
                outcome.u = u[f][o];
                if sessions_of[f] > 0 {
                    outcome.m = m_sum[f][o] / sessions_of[f] as f64;
                }
            }
        }
        model.prior = prior;
        (model.with_name_frequencies(records), report)
    }

    /// The probability table of a field, in the order of [`Field::ALL`] and [`Field::outcomes`];
    /// a field or outcome absent from a deserialised model falls back to the default.
    pub(crate) fn table(&self) -> Vec<Vec<(f64, f64)>> {
        Field::ALL
            .iter()
            .map(|&field| {
                let stored = self.fields.iter().find(|f| f.field == field.name());
                field
                    .outcomes()
                    .iter()
                    .zip(default_probabilities(field))
                    .map(|(name, &default)| {
                        stored
                            .and_then(|f| f.outcomes.iter().find(|o| o.outcome == *name))
                            .map_or(default, |o| (o.m, o.u))
                    })
                    .collect()
            })
            .collect()
    }
}

/// EM sessions: the blocking-key kind (prefix) and the fields it fixes, left out of the session.
const SESSIONS: [(&str, &[Field]); 2] = [
    ("db:", &[Field::DateOfBirth]),
    ("gs:", &[Field::GivenName, Field::Surname]),
];

/// Candidate pairs (i < j) of records sharing a blocking key, from blocks of at most `MAX_BLOCK`.
pub fn candidate_pairs(records: &[Demographics]) -> Vec<(usize, usize)> {
    candidate_pairs_of(records, None)
}

/// Candidate pairs from the keys starting with `prefix` (all keys for `None`).
fn candidate_pairs_of(records: &[Demographics], prefix: Option<&str>) -> Vec<(usize, usize)> {
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        let keys = blocking_keys(record);
        for key in keys
            .into_iter()
            .filter(|k| prefix.is_none_or(|p| k.starts_with(p)))
        {
            blocks.entry(key).or_default().push(i);
        }
    }
    let mut pairs = HashSet::new();
    for members in blocks.values().filter(|m| m.len() <= MAX_BLOCK) {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_unstable();
    pairs
}

/// A deterministic sample of distinct-record pairs (all of them for small inputs).
fn random_pairs(n: usize) -> Vec<(usize, usize)> {
    let total = n.saturating_mul(n.saturating_sub(1)) / 2;
    if total <= MAX_RANDOM_PAIRS {
        return (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect();
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let n64 = n as u64;
    let mut pairs = Vec::with_capacity(MAX_RANDOM_PAIRS);
    while pairs.len() < MAX_RANDOM_PAIRS {
        let i = (next() % n64) as usize;
        let j = (next() % n64) as usize;
        if i != j {
            pairs.push((i.min(j), i.max(j)));
        }
    }
    pairs
}

/// u per field outcome: outcome frequencies among random pairs (nearly all non-matches),
/// smoothed towards the default u.
fn count_u(prepared: &[Prepared], pairs: &[(usize, usize)], defaults: &Model) -> Vec<Vec<f64>> {
    let table = defaults.table();
    let mut counts: Vec<Vec<f64>> = table.iter().map(|f| vec![0.0; f.len()]).collect();
    for &(i, j) in pairs {
        let vector = for_estimation(compare::compare_independently(&prepared[i], &prepared[j]));
        for (f, outcome) in vector.iter().enumerate() {
            if let Some(o) = outcome {
                counts[f][usize::from(*o)] += 1.0;
            }
        }
    }
    normalise(&counts, &table, |(_, u)| u)
}

/// Frequencies per field, each smoothed with `PSEUDO_COUNT` pseudo-pairs distributed as the default.
fn normalise(
    counts: &[Vec<f64>],
    table: &[Vec<(f64, f64)>],
    default: impl Fn((f64, f64)) -> f64,
) -> Vec<Vec<f64>> {
    counts
        .iter()
        .zip(table)
        .map(|(field, defaults)| {
            let total: f64 = field.iter().sum::<f64>() + PSEUDO_COUNT;
            field
                .iter()
                .zip(defaults)
                .map(|(c, &d)| (c + PSEUDO_COUNT * default(d)) / total)
                .collect()
        })
        .collect()
}

/// EM for m and the prior with u fixed; returns (m, prior, iterations, converged).
fn expectation_maximisation(
    vectors: &[Vector],
    u: &[Vec<f64>],
    defaults: &Model,
) -> (Vec<Vec<f64>>, f64, usize, bool) {
    let table = defaults.table();
    let mut m: Vec<Vec<f64>> = table
        .iter()
        .map(|f| f.iter().map(|&(m, _)| m).collect())
        .collect();
    let mut prior = defaults.prior;
    for iteration in 1..=MAX_ITERATIONS {
        let mut counts: Vec<Vec<f64>> = table.iter().map(|f| vec![0.0; f.len()]).collect();
        let mut matches = 0.0;
        for vector in vectors {
            let mut log_ratio = (prior / (1.0 - prior)).ln();
            for (f, outcome) in vector.iter().enumerate() {
                if let Some(o) = outcome {
                    let o = usize::from(*o);
                    log_ratio += (m[f][o] / u[f][o]).ln();
                }
            }
            let p = 1.0 / (1.0 + (-log_ratio.clamp(-700.0, 700.0)).exp());
            matches += p;
            for (f, outcome) in vector.iter().enumerate() {
                if let Some(o) = outcome {
                    counts[f][usize::from(*o)] += p;
                }
            }
        }
        let next = normalise(&counts, &table, |(m, _)| m);
        let change = next
            .iter()
            .flatten()
            .zip(m.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        m = next;
        prior = (matches / vectors.len().max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
        if change < TOLERANCE {
            return (m, prior, iteration, true);
        }
    }
    (m, prior, MAX_ITERATIONS, false)
}

/// A comparison vector with the neutral (fixed-weight) levels left out of estimation.
fn for_estimation(vector: Vector) -> Vector {
    let mut out = vector;
    for (slot, field) in out.iter_mut().zip(Field::ALL) {
        if slot.is_some_and(|o| compare::is_neutral(field, o)) {
            *slot = None;
        }
    }
    out
}
