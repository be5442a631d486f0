//! Field comparisons: each compared field of a record pair falls into one outcome level.

use super::Demographics;
use super::normalize;
use strsim::{damerau_levenshtein, jaro_winkler};

/// A compared field of the Fellegi-Sunter model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Given name: exact, nickname, typo, phonetic.
    GivenName,
    /// Family name: exact, typo or contained (double-barrelled), phonetic.
    Surname,
    /// Date of birth: exact, day/month swapped, one-digit typo.
    DateOfBirth,
    /// Administrative sex (M/F only; U and O carry no evidence).
    Sex,
    /// Street number and street (`address_1`, else `address_2`).
    Address,
    /// Postcode and suburb.
    Locality,
    /// State.
    State,
    /// Phone number (last eight digits).
    PhoneNumber,
    /// National id (social-security number).
    SocSecId,
}

impl Field {
    /// Every compared field, in the order of a comparison vector.
    pub const ALL: [Field; 9] = [
        Field::GivenName,
        Field::Surname,
        Field::DateOfBirth,
        Field::Sex,
        Field::Address,
        Field::Locality,
        Field::State,
        Field::PhoneNumber,
        Field::SocSecId,
    ];

    /// The field's name in decisions and models.
    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::Surname => "surname",
            Field::DateOfBirth => "date_of_birth",
            Field::Sex => "sex",
            Field::Address => "address",
            Field::Locality => "locality",
            Field::State => "state",
            Field::PhoneNumber => "phone_number",
            Field::SocSecId => "soc_sec_id",
        }
    }

    /// The outcome levels of the field, strongest agreement first ("missing" is not a level).
    pub fn outcomes(self) -> &'static [&'static str] {
        match self {
            Field::GivenName => &[AGREE, "nickname", CLOSE, PHONETIC, DISAGREE],
            Field::Surname => &[AGREE, CLOSE, PHONETIC, DISAGREE],
            Field::DateOfBirth => &[AGREE, "swap", "typo", DISAGREE],
            Field::Sex => &[AGREE, DISAGREE],
            Field::State => &[AGREE, DISAGREE, MOVED],
            Field::Address => &[AGREE, CLOSE, "street", DISAGREE],
            Field::Locality => &[AGREE, "partial", DISAGREE, MOVED],
            Field::PhoneNumber => &[AGREE, CLOSE, DISAGREE, MOVED],
            Field::SocSecId => &[AGREE, CLOSE, DISAGREE],
        }
    }

    /// The index of a named outcome.
    pub fn outcome_index(self, outcome: &str) -> Option<usize> {
        self.outcomes().iter().position(|o| *o == outcome)
    }
}

const AGREE: &str = "agree";
pub(super) const CLOSE: &str = "close";
const PHONETIC: &str = "phonetic";
/// Locality, state or phone disagreeing after an earlier residence field (street address,
/// locality, state) disagreed: one move, counted once, so the level carries no weight.
pub const MOVED: &str = "moved";
const DISAGREE: &str = "disagree";

/// The outcome name of a field whose value is absent on either side.
pub const MISSING: &str = "missing";

/// Demographics normalised once for many comparisons.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    given: Option<Name>,
    surname: Option<Name>,
    dob: Option<String>,
    sex: Option<char>,
    street_number: Option<String>,
    /// Address line 1 (the street), else line 2.
    street: Option<String>,
    /// Address line 2 when line 1 is present (a building, a property name or the street
    /// entered on the wrong line).
    second_line: Option<String>,
    suburb: Option<String>,
    postcode: Option<String>,
    state: Option<String>,
    phone: Option<String>,
    ssn: Option<String>,
}

impl Prepared {
    /// The normalised given name.
    pub fn given_name(&self) -> Option<&str> {
        self.given.as_ref().map(|n| n.text.as_str())
    }

    /// The normalised surname.
    pub fn surname(&self) -> Option<&str> {
        self.surname.as_ref().map(|n| n.text.as_str())
    }

    /// The date of birth (YYYYMMDD).
    pub fn date_of_birth(&self) -> Option<&str> {
        self.dob.as_deref()
    }

    /// Normalise a record's demographics.
    pub fn new(d: &Demographics) -> Self {
        let phone = normalize::digits(d.phone_number.as_deref()).map(|p| {
            let skip = p.len().saturating_sub(8);
            p[skip..].to_string()
        });
        let line_1 = normalize::text(d.address_1.as_deref());
        let line_2 = normalize::text(d.address_2.as_deref());
        Prepared {
            given: normalize::name(d.given_name.as_deref()).map(Name::new),
            surname: normalize::name(d.surname.as_deref()).map(Name::new),
            dob: normalize::date_of_birth(d.date_of_birth.as_deref()),
            sex: normalize::sex(d.sex.as_deref()),
            street_number: normalize::text(d.street_number.as_deref()),
            street: line_1.clone().or_else(|| line_2.clone()),
            second_line: line_1.and(line_2),
            suburb: normalize::text(d.suburb.as_deref()),
            postcode: normalize::text(d.postcode.as_deref()),
            state: normalize::text(d.state.as_deref()),
            phone,
            ssn: normalize::digits(d.soc_sec_id.as_deref()),
        }
    }
}

/// A normalised name with its Soundex code, worked out once: the phonetic level of every
/// comparison the name takes part in reads it.
#[derive(Debug, Clone, Default)]
struct Name {
    text: String,
    soundex: Option<String>,
}

impl Name {
    fn new(text: String) -> Self {
        let soundex = normalize::soundex(&text);
        Name { text, soundex }
    }

    /// Whether the two names sound alike (the same Soundex code).
    fn sounds_like(&self, other: &Name) -> bool {
        self.soundex == other.soundex
    }
}

/// The comparison vector of a pair: per field of [`Field::ALL`], the outcome index or `None` (missing).
pub type Vector = [Option<u8>; 9];

/// Compare two prepared records field by field.
pub fn compare(a: &Prepared, b: &Prepared) -> Vector {
    compare_fields(a, b, true)
}

/// Compare field by field without the "moved" levels: every field on its own, as estimation
/// needs it (a move's later residence fields then show their plain "disagree").
pub fn compare_independently(a: &Prepared, b: &Prepared) -> Vector {
    compare_fields(a, b, false)
}

fn compare_fields(a: &Prepared, b: &Prepared, count_moves_once: bool) -> Vector {
    let (given, surname) = names(a, b);
    // A move changes street, locality, state and (landline) phone together: the first of these
    // that disagrees carries the evidence, the later ones are "moved" and weigh nothing.
    let address = address(a, b);
    let mut moved = address == Some(3);
    let mut residence = |outcome: Option<u8>, disagree: u8| {
        if count_moves_once && outcome == Some(disagree) {
            if moved {
                return Some(disagree + 1);
            }
            moved = true;
        }
        outcome
    };
    let locality = residence(locality(a, b), 2);
    let state = residence(both(&a.state, &b.state, |x, y| u8::from(x != y)), 1);
    let phone = residence(both(&a.phone, &b.phone, identifier), 2);
    [
        given,
        surname,
        both(&a.dob, &b.dob, date_of_birth),
        match (a.sex, b.sex) {
            (Some(x), Some(y)) => Some(u8::from(x != y)),
            _ => None,
        },
        address,
        locality,
        state,
        phone,
        both(&a.ssn, &b.ssn, identifier),
    ]
}

fn both(a: &Option<String>, b: &Option<String>, f: impl Fn(&str, &str) -> u8) -> Option<u8> {
    Some(f(a.as_deref()?, b.as_deref()?))
}

/// Names, allowing given and family name entered the wrong way round (each with at most a
/// keying error: a transposition and a typo are independent errors of the same clerk).
fn names(a: &Prepared, b: &Prepared) -> (Option<u8>, Option<u8>) {
    let (straight, swapped) = name_orientations(a, b);
    if prefers_swapped(straight, swapped) {
        swapped
    } else {
        straight
    }
}

/// The (given name, surname) outcomes of the straight and of the swapped comparison.
type Orientations = ((Option<u8>, Option<u8>), (Option<u8>, Option<u8>));

/// The swapped comparison counts only when both of its names agree ([`prefers_swapped`]): its
/// surname is compared only when its given name agrees, and neither needs its phonetic level
/// (an outcome that does not agree stands for every other).
fn name_orientations(a: &Prepared, b: &Prepared) -> Orientations {
    let names = |x: &Option<Name>, y: &Option<Name>, f: fn(&Name, &Name) -> u8| match (x, y) {
        (Some(x), Some(y)) => Some(f(x, y)),
        _ => None,
    };
    let swapped_given = names(&a.given, &b.surname, |x, y| {
        given_name_agreement(&x.text, &y.text)
    });
    let swapped_surname = if agrees(Field::GivenName, swapped_given) {
        names(&a.surname, &b.given, surname_agreement)
    } else {
        None
    };
    (
        (
            names(&a.given, &b.given, given_name_of),
            names(&a.surname, &b.surname, surname_of),
        ),
        (swapped_given, swapped_surname),
    )
}

/// Whether the swapped comparison is the one that counts: both of its names agree and it is
/// stronger than the straight one.
fn prefers_swapped(straight: (Option<u8>, Option<u8>), swapped: (Option<u8>, Option<u8>)) -> bool {
    let strength = |(g, s): (Option<u8>, Option<u8>)| {
        // lower index is stronger agreement; an absent side counts as weak
        let rank = |o: Option<u8>, worst: u8| o.map_or(worst, |v| v);
        u16::from(rank(g, 4)) + u16::from(rank(s, 3))
    };
    let swapped_agree = agrees(Field::GivenName, swapped.0) && agrees(Field::Surname, swapped.1);
    swapped_agree && strength(swapped) < strength(straight)
}

/// The two values compared as given names: `b`'s surname stands for its given name when the
/// names were entered the wrong way round (as [`compare`] decides).
pub(super) fn compared_given_names<'a>(
    a: &'a Prepared,
    b: &'a Prepared,
) -> (Option<&'a str>, Option<&'a str>) {
    let (straight, swapped) = name_orientations(a, b);
    let theirs = if prefers_swapped(straight, swapped) {
        &b.surname
    } else {
        &b.given
    };
    (
        a.given.as_ref().map(|n| n.text.as_str()),
        theirs.as_ref().map(|n| n.text.as_str()),
    )
}

/// The outcome index of two given names (see [`Field::outcomes`]).
pub(super) fn given_name(a: &str, b: &str) -> u8 {
    match given_name_agreement(a, b) {
        4 if normalize::soundex(a) == normalize::soundex(b) => 3,
        outcome => outcome,
    }
}

/// [`given_name`] of two prepared names.
fn given_name_of(a: &Name, b: &Name) -> u8 {
    match given_name_agreement(&a.text, &b.text) {
        4 if a.sounds_like(b) => 3,
        outcome => outcome,
    }
}

/// The outcome index of two given names up to their agreeing levels (exact, nickname, typo);
/// 4 (disagree) for any other, the phonetic level included.
fn given_name_agreement(a: &str, b: &str) -> u8 {
    if a == b {
        0
    } else if normalize::nickname_equivalent(a, b) {
        1
    } else if typo(a, b) {
        2
    } else {
        4
    }
}

/// The outcome index of two surnames (see [`Field::outcomes`]).
fn surname_of(a: &Name, b: &Name) -> u8 {
    match surname_agreement(a, b) {
        3 if a.sounds_like(b) => 2,
        outcome => outcome,
    }
}

/// The outcome index of two surnames up to their agreeing levels (exact, typo or contained);
/// 3 (disagree) for any other, the phonetic level included.
fn surname_agreement(a: &Name, b: &Name) -> u8 {
    let (a, b) = (a.text.as_str(), b.text.as_str());
    let contained = a.len().min(b.len()) >= 4 && (a.contains(b) || b.contains(a));
    if a == b {
        0
    } else if typo(a, b) || contained {
        1
    } else {
        3
    }
}

/// A keying error: one edit (Damerau) or a Jaro-Winkler similarity of at least 0.92 on names
/// long enough for the measure to mean something.
pub(super) fn typo(a: &str, b: &str) -> bool {
    let shorter = a.chars().count().min(b.chars().count());
    (shorter >= 3 && within_one_edit(a, b)) || (shorter >= 5 && jaro_winkler(a, b) >= 0.92)
}

/// `damerau_levenshtein(a, b) <= 1` without building the distance matrix (the matcher asks it
/// of every candidate pair's names): equal, or one insertion, deletion, substitution or
/// transposition of neighbours apart.
fn within_one_edit(a: &str, b: &str) -> bool {
    if !(a.is_ascii() && b.is_ascii()) {
        return damerau_levenshtein(a, b) <= 1;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match (a.len(), b.len()) {
        (0, 0) | (0, 1) | (1, 0) => true,
        (la, lb) if la == lb => {
            a[1..] == b[1..] || (la >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
        (la, lb) if la + 1 == lb => a == &b[1..],
        (la, lb) if lb + 1 == la => &a[1..] == b,
        _ => false,
    }
}

/// The outcome index of two dates of birth (see [`Field::outcomes`]).
pub(super) fn date_of_birth(a: &str, b: &str) -> u8 {
    if a == b {
        return 0;
    }
    let (ya, ma, da) = (&a[..4], &a[4..6], &a[6..8]);
    let (yb, mb, db) = (&b[..4], &b[4..6], &b[6..8]);
    if ya == yb && ma == db && da == mb {
        return 1;
    }
    let differing: Vec<usize> = a
        .bytes()
        .zip(b.bytes())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i)
        .collect();
    let transposed = differing.len() == 2
        && differing[1] == differing[0] + 1
        && a.as_bytes()[differing[0]] == b.as_bytes()[differing[1]]
        && a.as_bytes()[differing[1]] == b.as_bytes()[differing[0]];
    if (differing.len() == 1 && !a_generation_apart(ya, yb)) || transposed {
        2
    } else {
        3
    }
}

/// Years a generation apart or more, which one changed digit (the decade's or the century's)
/// can make look like a keying error: a namesake parent and child born on the same day of the
/// year (James Wilson born 1955-03-04 and his son born 1985-03-04) are two people, whatever the
/// likelihood of a typo in that digit.
const GENERATION_YEARS: u32 = 12;

fn a_generation_apart(ya: &str, yb: &str) -> bool {
    match (ya.parse::<u32>(), yb.parse::<u32>()) {
        (Ok(a), Ok(b)) => a.abs_diff(b) >= GENERATION_YEARS,
        _ => false,
    }
}

/// Street addresses. Address lines are compared like with like: a record with one address line
/// meets the other's line 2 as well as its line 1 (the better counts: the line may be the
/// building or the street, entered on either line), and two records whose lines 1 and 2 each
/// match the other's other line had them entered the wrong way round.
fn address(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (sa, sb) = (a.street.as_deref()?, b.street.as_deref()?);
    let straight = street_address(sa, sb, a, b);
    let lone_line =
        |x: &Prepared, y: &Prepared| match (x.second_line.as_deref(), y.second_line.as_deref()) {
            (None, Some(other)) => Some(street_address(x.street.as_deref()?, other, x, y)),
            _ => None,
        };
    let swapped = match (a.second_line.as_deref(), b.second_line.as_deref()) {
        (Some(a2), Some(b2)) if straight == 3 && lines_close(sa, b2) && lines_close(a2, sb) => {
            Some(street_address(sa, b2, a, b))
        }
        _ => None,
    };
    let best = [lone_line(a, b), lone_line(b, a), swapped]
        .into_iter()
        .flatten()
        .fold(straight, u8::min);
    Some(best)
}

/// Two address lines alike: the same, or at most two edits apart, or a Jaro-Winkler similarity
/// of at least 0.9.
fn lines_close(a: &str, b: &str) -> bool {
    a == b || damerau_levenshtein(a, b) <= 2 || jaro_winkler(a, b) >= 0.9
}

/// The outcome of two street lines with the records' street numbers.
fn street_address(sa: &str, sb: &str, a: &Prepared, b: &Prepared) -> u8 {
    let numbers_differ =
        matches!((&a.street_number, &b.street_number), (Some(x), Some(y)) if x != y);
    let numbers_agree =
        matches!((&a.street_number, &b.street_number), (Some(x), Some(y)) if x == y);
    let street_same = sa == sb;
    let street_close = lines_close(sa, sb);
    if street_same && numbers_agree {
        0
    } else if street_close && !numbers_differ {
        1
    } else if street_close {
        2
    } else {
        3
    }
}

fn locality(a: &Prepared, b: &Prepared) -> Option<u8> {
    let postcode = both(&a.postcode, &b.postcode, |x, y| {
        if x == y {
            0
        } else if x.len() == y.len() && damerau_levenshtein(x, y) <= 1 {
            1
        } else {
            2
        }
    });
    let suburb = both(&a.suburb, &b.suburb, |x, y| {
        if x == y || jaro_winkler(x, y) >= 0.9 {
            0
        } else {
            2
        }
    });
    match (postcode, suburb) {
        (None, None) => None,
        (Some(0), Some(0) | None) | (None, Some(0)) => Some(0),
        (Some(0), _) | (Some(1), Some(0)) | (Some(2), Some(0)) => Some(1),
        _ => Some(2),
    }
}

/// Identifiers (phone, national id): exact, one edit, different.
fn identifier(a: &str, b: &str) -> u8 {
    if a == b {
        0
    } else if a.len() >= 5 && damerau_levenshtein(a, b) <= 1 {
        1
    } else {
        2
    }
}

/// Whether two national ids differ in their last digit only: the next id issued (twins
/// registered together get consecutive numbers) as much as a keying error.
pub(super) fn national_ids_in_sequence(a: &Prepared, b: &Prepared) -> bool {
    match (a.ssn.as_deref(), b.ssn.as_deref()) {
        (Some(x), Some(y)) => match (x.as_bytes().split_last(), y.as_bytes().split_last()) {
            (Some((last_x, x)), Some((last_y, y))) => !x.is_empty() && x == y && last_x != last_y,
            _ => false,
        },
        _ => false,
    }
}

/// Whether the outcome index of a field counts as agreement on identity (given name, surname,
/// date of birth): everything stronger than "phonetic"/"disagree".
pub fn agrees(field: Field, outcome: Option<u8>) -> bool {
    match (field, outcome) {
        (Field::GivenName, Some(o)) => o <= 2,
        (Field::Surname, Some(o)) => o <= 1,
        (Field::DateOfBirth, Some(o)) => o <= 2,
        (_, Some(o)) => o == 0,
        (_, None) => false,
    }
}

/// Whether the outcome is the field's plain "disagree" level.
pub fn disagrees(field: Field, outcome: Option<u8>) -> bool {
    outcome.is_some_and(|o| field.outcomes().get(usize::from(o)) == Some(&DISAGREE))
}

/// Whether the outcome level has a fixed weight of 0 (not estimated).
pub fn is_neutral(field: Field, outcome: u8) -> bool {
    field.outcomes().get(usize::from(outcome)) == Some(&MOVED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick one-edit test answers as the Damerau-Levenshtein distance does, on every pair
    /// of a set of names and their keying errors (ASCII and not).
    #[test]
    fn one_edit_test_agrees_with_the_damerau_levenshtein_distance() {
        let words = [
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "acb",
            "bac",
            "abd",
            "abcd",
            "abdc",
            "acbd",
            "abc",
            "ab",
            "catherine",
            "katherine",
            "cathrine",
            "catherien",
            "catherines",
            "atherine",
            "smith",
            "smyth",
            "smiht",
            "msith",
            "smithe",
            "jose",
            "josé",
            "joés",
            "josée",
            "zoë",
            "zoe",
        ];
        for a in words {
            for b in words {
                assert_eq!(
                    within_one_edit(a, b),
                    damerau_levenshtein(a, b) <= 1,
                    "{a:?} / {b:?}"
                );
            }
        }
    }
}
