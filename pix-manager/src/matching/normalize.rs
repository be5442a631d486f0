//! Normalisation of demographic values, the Soundex phonetic code and nickname equivalence.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Lower case letters only (names): "O'Brien-Smith " → "obriensmith".
pub fn name(value: Option<&str>) -> Option<String> {
    let out: String = value?
        .chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    (!out.is_empty()).then_some(out)
}

/// Lower case alphanumerics with single spaces (addresses, places).
pub fn text(value: Option<&str>) -> Option<String> {
    let lowered: String = value?
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    let out = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

/// Digits only (dates, postcodes, phone numbers, national ids).
pub fn digits(value: Option<&str>) -> Option<String> {
    let out: String = value?.chars().filter(char::is_ascii_digit).collect();
    (!out.is_empty()).then_some(out)
}

/// A date of birth as YYYYMMDD digits, or `None` when it is not eight digits.
pub fn date_of_birth(value: Option<&str>) -> Option<String> {
    digits(value).filter(|d| d.len() == 8)
}

/// HL7 administrative sex, upper case; `U` (unknown), `O`, `A`, `N` carry no evidence.
pub fn sex(value: Option<&str>) -> Option<char> {
    let c = value?.trim().chars().next()?.to_ascii_uppercase();
    matches!(c, 'M' | 'F').then_some(c)
}

/// American Soundex of a normalised name (a letter and three digits).
pub fn soundex(name: &str) -> Option<String> {
    fn code(c: char) -> char {
        match c {
            'b' | 'f' | 'p' | 'v' => '1',
            'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
            'd' | 't' => '3',
            'l' => '4',
            'm' | 'n' => '5',
            'r' => '6',
            'h' | 'w' => 'h',
            _ => '0',
        }
    }
    let mut chars = name.chars().filter(char::is_ascii_alphabetic);
    let first = chars.next()?;
    let mut out = String::with_capacity(4);
    out.push(first.to_ascii_uppercase());
    let mut last = code(first);
    for c in chars {
        let d = code(c);
        if d == 'h' {
            continue;
        }
        if d != '0' && d != last {
            out.push(d);
            if out.len() == 4 {
                break;
            }
        }
        last = d;
    }
    while out.len() < 4 {
        out.push('0');
    }
    Some(out)
}

/// Groups of given names that name the same person (formal name first).
const NICKNAMES: &[&[&str]] = &[
    &["alexander", "alex", "alec", "sandy", "xander"],
    &["alexandra", "alex", "alexa", "sandra", "sandy", "lexie"],
    &["abigail", "abby", "abbie", "gail"],
    &["albert", "al", "bert", "bertie"],
    &["andrew", "andy", "drew"],
    &["anthony", "tony", "ant"],
    &["barbara", "barb", "babs", "barbie"],
    &["benjamin", "ben", "benny", "benji"],
    &["catherine", "cathy", "kate", "katie", "cat", "kathy", "kit"],
    &["katherine", "kate", "katie", "kathy", "kat", "kitty"],
    &["charles", "charlie", "chuck", "chas", "chaz"],
    &["charlotte", "charlie", "lottie", "lotte"],
    &["christopher", "chris", "kit", "topher"],
    &["christine", "chris", "chrissy", "tina"],
    &["daniel", "dan", "danny"],
    &["david", "dave", "davey", "davy"],
    &["deborah", "deb", "debbie", "debra"],
    &["dorothy", "dot", "dottie", "dolly"],
    &["edward", "ed", "eddie", "ted", "teddy", "ned"],
    &[
        "elizabeth",
        "liz",
        "lizzie",
        "beth",
        "betty",
        "eliza",
        "libby",
        "bess",
        "lisa",
    ],
    &["eleanor", "ellie", "nell", "nora", "elle"],
    &["emily", "em", "emmy", "millie"],
    &["frederick", "fred", "freddie", "freddy"],
    &["gregory", "greg"],
    &["henry", "harry", "hank", "hal"],
    &["isabella", "bella", "izzy", "isabel"],
    &["jacob", "jake", "jack"],
    &["james", "jim", "jimmy", "jamie", "jimbo"],
    &["jennifer", "jen", "jenny", "jenn"],
    &["jessica", "jess", "jessie"],
    &["john", "jack", "johnny", "jon"],
    &["jonathan", "jon", "jonny", "johnny", "nathan"],
    &["joseph", "joe", "joey", "jo"],
    &["joshua", "josh"],
    &["josephine", "jo", "josie", "jody"],
    &["kenneth", "ken", "kenny"],
    &["lawrence", "larry", "laurie"],
    &["leonard", "len", "lenny", "leo"],
    &[
        "margaret", "maggie", "meg", "peggy", "marge", "madge", "greta", "molly", "daisy",
    ],
    &["matthew", "matt", "matty"],
    &["michael", "mike", "mick", "mickey", "micky", "mikey"],
    &["nicholas", "nick", "nicky", "nico"],
    &["patricia", "pat", "patty", "trish", "tricia"],
    &["patrick", "pat", "paddy", "rick"],
    &["peter", "pete"],
    &["philip", "phil", "pip"],
    &["rebecca", "becky", "becca", "bec"],
    &["richard", "rick", "ricky", "dick", "rich", "richie"],
    &["robert", "rob", "bob", "bobby", "robbie", "bert"],
    &["ronald", "ron", "ronnie"],
    &["samuel", "sam", "sammy"],
    &["samantha", "sam", "sammy", "sammie"],
    &["stephen", "steve", "stevie"],
    &["steven", "steve", "stevie"],
    &["susan", "sue", "susie", "suzy"],
    &["theodore", "theo", "ted", "teddy"],
    &["thomas", "tom", "tommy"],
    &["timothy", "tim", "timmy"],
    &["victoria", "vicky", "vic", "tori"],
    &["william", "will", "bill", "billy", "willy", "liam"],
    &["zachary", "zach", "zack", "zac"],
];

/// The indexes in [`NICKNAMES`] of the groups holding each name, built once: the MPI writer
/// asks [`nickname_equivalent`] for nearly every candidate compared, and reading the list whole
/// each time (a string comparison per name of every group) was about half the time of its name
/// comparisons (6% of the writer at 100,000 records).
static NICKNAME_GROUPS: LazyLock<HashMap<&'static str, Vec<usize>>> = LazyLock::new(|| {
    let mut groups: HashMap<&'static str, Vec<usize>> = HashMap::new();
    for (index, group) in NICKNAMES.iter().enumerate() {
        for name in *group {
            groups.entry(name).or_default().push(index);
        }
    }
    groups
});

/// Whether two normalised given names are nickname-equivalent ("bill" ~ "william"): different
/// names of one group of [`NICKNAMES`].
pub fn nickname_equivalent(a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    match (NICKNAME_GROUPS.get(a), NICKNAME_GROUPS.get(b)) {
        (Some(of_a), Some(of_b)) => of_a.iter().any(|group| of_b.contains(group)),
        _ => false,
    }
}

/// The forms a given name takes: itself and every name nickname-equivalent to it ("betty" →
/// "betty", "elizabeth", "liz", ...), each once.
pub fn name_forms(name: &str) -> Vec<&str> {
    let mut out = vec![name];
    for group in NICKNAMES.iter().filter(|g| g.contains(&name)) {
        for &form in *group {
            if !out.contains(&form) {
                out.push(form);
            }
        }
    }
    out
}

/// The formal names a given name may stand for ("bill" → ["william"]), itself included.
pub fn formal_names(name: &str) -> Vec<&str> {
    let mut out: Vec<&str> = NICKNAMES
        .iter()
        .filter(|g| g.contains(&name))
        .map(|g| g[0])
        .collect();
    if !out.contains(&name) {
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The group index answers as a reading of the whole list: two different names are
    /// equivalent when one group holds both, for every pair of listed names and unlisted ones.
    #[test]
    fn nickname_equivalence_is_that_of_the_list() {
        let mut names: Vec<&str> = NICKNAMES.iter().flat_map(|g| g.iter().copied()).collect();
        names.extend(["smith", "", "alexx"]);
        for a in &names {
            for b in &names {
                let listed = a != b && NICKNAMES.iter().any(|g| g.contains(a) && g.contains(b));
                assert_eq!(nickname_equivalent(a, b), listed, "{a} ~ {b}");
            }
        }
        assert!(nickname_equivalent("sandy", "xander"));
        assert!(nickname_equivalent("sandy", "lexie"));
        assert!(!nickname_equivalent("xander", "lexie"));
    }
}
