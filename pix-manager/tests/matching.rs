//! Matching engine rules (tier 1: no I/O, no ../shared).

use pix_manager::matching::dataset::{accuracy, parse_links, parse_records};
use pix_manager::matching::linkage::{
    SourceRecord, cluster_pairs, link_incrementally, population_model,
};
use pix_manager::matching::{
    Candidate, Decision, Demographics, GUARD_INSUFFICIENT_IDENTITY, GUARD_PARENT_CHILD,
    GUARD_SAME_DOMAIN, GUARD_TWIN, Matcher, Model, Prepared, Zone, blocking_keys, soundex,
};

fn person(given: &str, surname: &str, dob: &str, sex: &str) -> Demographics {
    Demographics {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        date_of_birth: Some(dob.into()),
        sex: Some(sex.into()),
        street_number: Some("12".into()),
        address_1: Some("wattle street".into()),
        suburb: Some("richmond".into()),
        postcode: Some("3121".into()),
        state: Some("vic".into()),
        phone_number: Some("0398765432".into()),
        ..Demographics::default()
    }
}

/// Someone sharing nothing with `person("william", "nguyen", "19800512", "M")`.
fn stranger() -> Demographics {
    let mut b = person("sophie", "clarke", "19630101", "F");
    b.address_1 = Some("banksia road".into());
    b.street_number = Some("3".into());
    b.postcode = Some("6160".into());
    b.suburb = Some("fremantle".into());
    b.state = Some("wa".into());
    b.phone_number = Some("0891112222".into());
    b
}

fn compare(a: &Demographics, b: &Demographics) -> Decision {
    compare_in(("HOSP-A", "1"), a, ("HOSP-B", "7"), b)
}

fn compare_in(
    (domain_a, id_a): (&str, &str),
    a: &Demographics,
    (domain_b, id_b): (&str, &str),
    b: &Demographics,
) -> Decision {
    Matcher::default().compare(
        &Candidate {
            domain: domain_a,
            local_id: id_a,
            demographics: a,
        },
        &Candidate {
            domain: domain_b,
            local_id: id_b,
            demographics: b,
        },
    )
}

fn outcome<'a>(d: &'a Decision, field: &str) -> &'a str {
    d.fields
        .iter()
        .find(|f| f.field == field)
        .map_or("absent", |f| f.outcome.as_str())
}

#[test]
fn same_person_in_two_domains_is_auto_linked() {
    let a = person("william", "nguyen", "19800512", "M");
    let d = compare(&a, &a.clone());
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
    assert_eq!(d.guard, None);
}

/// The feed's assessment (score and zone, field weights not written out) is the comparison:
/// same score as the field weights of the decision it writes out add up to, same zone and
/// guard as the full comparison, on pairs of each zone with a guard and a missing field.
#[test]
fn assessment_scores_and_zones_a_pair_as_the_full_comparison() {
    let a = person("william", "nguyen", "19800512", "M");
    let mut moved = person("william", "nguyen", "19800512", "M");
    moved.phone_number = None;
    moved.address_1 = Some("banksia road".into());
    let pairs = [
        (a.clone(), a.clone()),
        (a.clone(), person("bill", "nguyen", "19801205", "M")),
        (a.clone(), person("william", "nguyen", "19500512", "M")),
        (a.clone(), stranger()),
        (a.clone(), moved),
    ];
    let matcher = Matcher::default();
    let mut zones = Vec::new();
    for (x, y) in &pairs {
        let (px, py) = (Prepared::new(x), Prepared::new(y));
        let assessment = matcher.assess(("HOSP-A", "1", &px), ("HOSP-B", "7", &py));
        let full = compare(x, y);
        let decision = assessment.decision();
        assert_eq!(decision, full);
        assert_eq!(
            assessment.score,
            full.fields.iter().map(|f| f.weight).sum::<f64>()
        );
        assert_eq!(assessment.zone, full.zone);
        zones.push(full.zone);
    }
    assert_eq!(
        zones,
        [
            Zone::AutoLink,
            Zone::AutoLink,
            Zone::Review,
            Zone::NoLink,
            Zone::AutoLink
        ]
    );
}

#[test]
fn unrelated_people_are_not_linked() {
    let a = person("william", "nguyen", "19800512", "M");
    assert_eq!(compare(&a, &stranger()).zone, Zone::NoLink);
}

#[test]
fn nickname_equivalence_bill_is_william() {
    let a = person("william", "nguyen", "19800512", "M");
    let b = person("Bill", "Nguyen", "19800512", "m");
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "given_name"), "nickname");
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn date_of_birth_day_month_swap_is_recognised() {
    let a = person("william", "nguyen", "19800512", "M");
    let b = person("william", "nguyen", "19801205", "M");
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "date_of_birth"), "swap");
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn date_of_birth_one_digit_typo_is_recognised() {
    let a = person("william", "nguyen", "19800512", "M");
    let b = person("william", "nguyen", "19800513", "M");
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "date_of_birth"), "typo");
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn phonetic_code_is_american_soundex() {
    for (name, code) in [
        ("robert", "R163"),
        ("rupert", "R163"),
        ("tymczak", "T522"),
        ("pfister", "P236"),
        ("ashcraft", "A261"),
        ("lee", "L000"),
    ] {
        assert_eq!(soundex(name).as_deref(), Some(code), "{name}");
    }
    assert_eq!(soundex(""), None);
}

#[test]
fn a_move_counts_once_and_still_auto_links() {
    let a = person("william", "nguyen", "19800512", "M");
    let mut b = person("william", "nguyen", "19800512", "M");
    b.street_number = Some("3".into());
    b.address_1 = Some("banksia road".into());
    b.suburb = Some("fremantle".into());
    b.postcode = Some("6160".into());
    b.state = Some("wa".into());
    b.phone_number = Some("0891112222".into());
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "address"), "disagree");
    for field in ["locality", "state", "phone_number"] {
        assert_eq!(outcome(&d, field), "moved", "{field}");
    }
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn married_name_change_at_one_address_is_auto_linked() {
    let a = person("sophie", "nguyen", "19800512", "F");
    let b = person("sophie", "clarke", "19800512", "F");
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "surname"), "disagree");
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn agreement_on_a_rare_name_weighs_more_than_on_a_common_one() {
    let mut population: Vec<Demographics> = (0..200)
        .map(|i| person("james", "smith", &format!("19{:02}0101", i % 100), "M"))
        .collect();
    population.push(person("james", "quilliam", "19800512", "M"));
    let matcher = Matcher::new(Model::default().with_name_frequencies(&population));
    let surname_weight = |a: &Demographics| {
        let d = matcher.compare(
            &Candidate {
                domain: "A",
                local_id: "1",
                demographics: a,
            },
            &Candidate {
                domain: "B",
                local_id: "1",
                demographics: a,
            },
        );
        d.fields
            .iter()
            .find(|f| f.field == "surname")
            .map_or(f64::NAN, |f| f.weight)
    };
    let common = surname_weight(&population[0]);
    let rare = surname_weight(&population[200]);
    assert!(rare > common + 5.0, "rare {rare}, common {common}");
}

/// Asserts the twin guard keeps the pair out of AutoLink; returns the decision.
fn assert_kept_apart_as_twins(a: &Demographics, b: &Demographics) -> Decision {
    let d = compare(a, b);
    assert_ne!(d.zone, Zone::AutoLink, "{d:?}");
    assert_eq!(d.guard.as_deref(), Some(GUARD_TWIN));
    d
}

#[test]
fn twins_are_not_auto_linked() {
    let a = person("oliver", "nguyen", "20150512", "M");
    let b = person("thomas", "nguyen", "20150512", "M");
    assert_kept_apart_as_twins(&a, &b);
}

#[test]
fn twins_named_alike_at_one_address_are_not_auto_linked() {
    let a = person("catherine", "davis", "20090212", "F");
    let b = person("katherine", "davis", "20090212", "F");
    assert_kept_apart_as_twins(&a, &b);
}

#[test]
fn parent_and_child_with_the_same_name_are_not_auto_linked() {
    let father = person("james", "wilson", "19650304", "M");
    let son = person("james", "wilson", "19931117", "M");
    let d = compare(&father, &son);
    assert_ne!(d.zone, Zone::AutoLink, "{d:?}");
    assert_eq!(d.guard.as_deref(), Some(GUARD_PARENT_CHILD));
}

#[test]
fn parent_and_child_born_on_the_same_day_a_decade_digit_apart_are_not_auto_linked() {
    let father = person("james", "wilson", "19550304", "M");
    let son = person("james", "wilson", "19850304", "M");
    let d = compare(&father, &son);
    assert_eq!(outcome(&d, "date_of_birth"), "disagree");
    assert_ne!(d.zone, Zone::AutoLink, "{d:?}");
    assert_eq!(d.guard.as_deref(), Some(GUARD_PARENT_CHILD));
}

#[test]
fn date_of_birth_typo_in_the_decade_digit_less_than_a_generation_apart_is_a_typo() {
    let a = person("william", "nguyen", "19800512", "M");
    let b = person("william", "nguyen", "19900512", "M");
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "date_of_birth"), "typo");
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn same_domain_different_local_ids_are_not_auto_linked() {
    let a = person("william", "nguyen", "19800512", "M");
    let d = compare_in(("HOSP-A", "1"), &a, ("HOSP-A", "2"), &a.clone());
    assert_eq!(d.zone, Zone::Review, "{d:?}");
    assert_eq!(d.guard.as_deref(), Some(GUARD_SAME_DOMAIN));
}

#[test]
fn missing_fields_weigh_nothing_and_do_not_block_a_link() {
    let a = person("william", "nguyen", "19800512", "M");
    let b = Demographics {
        given_name: Some("william".into()),
        surname: Some("nguyen".into()),
        date_of_birth: Some("19800512".into()),
        sex: Some("U".into()),
        postcode: Some("3121".into()),
        ..Demographics::default()
    };
    let d = compare(&a, &b);
    for field in ["sex", "address", "state", "phone_number", "soc_sec_id"] {
        let score = d.fields.iter().find(|f| f.field == field);
        assert_eq!(
            score.map(|f| (f.outcome.as_str(), f.weight)),
            Some(("missing", 0.0))
        );
    }
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn missing_date_of_birth_keeps_same_name_at_one_address_out_of_auto_link() {
    let a = person("james", "wilson", "19650304", "M");
    let mut b = a.clone();
    b.date_of_birth = None;
    let d = compare(&a, &b);
    assert_ne!(d.zone, Zone::AutoLink, "{d:?}");
    assert!(d.guard.is_some());
}

#[test]
fn decision_field_weights_sum_to_the_score() {
    let a = person("william", "nguyen", "19800512", "M");
    let mut b = person("bill", "nguyan", "19801205", "M");
    b.postcode = Some("3122".into());
    let d = compare(&a, &b);
    assert_eq!(d.fields.len(), 9);
    let sum: f64 = d.fields.iter().map(|f| f.weight).sum();
    assert!((sum - d.score).abs() < 1e-9, "{sum} != {}", d.score);
    assert!(d.fields.iter().any(|f| f.weight > 0.0));
}

#[test]
fn blocking_keys_share_a_key_for_typo_variants() {
    let a = person("william", "smith", "19800512", "M");
    for b in [
        person("william", "smyth", "19800512", "M"),
        person("william", "smith", "19800513", "M"),
        person("bill", "smith", "19810512", "M"),
        person("wiliam", "schmidt", "19801205", "M"),
    ] {
        let keys_b = blocking_keys(&b);
        assert!(
            blocking_keys(&a).iter().any(|k| keys_b.contains(k)),
            "{a:?} / {b:?}"
        );
    }
    let stranger = Demographics {
        given_name: Some("zoe".into()),
        surname: Some("kaur".into()),
        date_of_birth: Some("20010101".into()),
        postcode: Some("6160".into()),
        ..Demographics::default()
    };
    let keys = blocking_keys(&stranger);
    assert!(!blocking_keys(&a).iter().any(|k| keys.contains(k)));
}

/// A deterministic synthetic population: 300 people, each registered twice, the second time with
/// a typo in about one record in five.
fn synthetic() -> Vec<Demographics> {
    const GIVEN: [&str; 12] = [
        "oliver", "james", "sophie", "grace", "liam", "mia", "noah", "ella", "lucas", "ruby",
        "henry", "zoe",
    ];
    const SURNAME: [&str; 15] = [
        "nguyen", "smith", "wilson", "kelly", "patel", "brown", "walker", "young", "wright",
        "tran", "khan", "reid", "ward", "hall", "cook",
    ];
    let mut state: u64 = 7;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    let mut records = Vec::new();
    for _ in 0..300 {
        let mut p = person(
            GIVEN[next(12) as usize],
            SURNAME[next(15) as usize],
            &format!("{}{:02}{:02}", 1930 + next(90), 1 + next(12), 1 + next(28)),
            if next(2) == 0 { "M" } else { "F" },
        );
        p.street_number = Some((1 + next(200)).to_string());
        p.postcode = Some((3000 + next(900)).to_string());
        p.phone_number = Some(format!("03{:08}", next(100_000_000)));
        let mut twin = p.clone();
        if next(5) == 0 {
            twin.given_name = twin.given_name.map(|g| format!("{g}e"));
        }
        if next(5) == 0 {
            twin.street_number = Some((1 + next(200)).to_string());
        }
        records.push(p);
        records.push(twin);
    }
    records
}

#[test]
fn em_estimate_converges_on_a_small_synthetic_set() {
    let records = synthetic();
    let (model, report) = Model::estimate_with_report(&records);
    assert!(report.converged, "{report:?}");
    assert!(report.candidate_pairs > 0);
    let dob = model
        .fields
        .iter()
        .find(|f| f.field == "date_of_birth")
        .and_then(|f| f.outcomes.iter().find(|o| o.outcome == "agree"));
    let dob = dob.map(|o| (o.m, o.u));
    assert!(
        dob.is_some_and(|(m, u)| m > 0.8 && u < 0.01),
        "date of birth agreement m/u: {dob:?}"
    );
    let matcher = Matcher::new(model);
    let d = matcher.compare(
        &Candidate {
            domain: "A",
            local_id: "1",
            demographics: &records[0],
        },
        &Candidate {
            domain: "B",
            local_id: "1",
            demographics: &records[1],
        },
    );
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn incremental_linking_never_joins_a_person_holding_the_same_domain() {
    let a = person("william", "nguyen", "19800512", "M");
    let records: Vec<SourceRecord> = [("r1", "HOSP-A"), ("r2", "HOSP-B"), ("r3", "HOSP-A")]
        .iter()
        .map(|(id, domain)| SourceRecord {
            rec_id: (*id).into(),
            domain: (*domain).into(),
            demographics: a.clone(),
        })
        .collect();
    let persons = link_incrementally(&records, &Matcher::default());
    assert_eq!(persons[0], persons[1]);
    assert_ne!(persons[0], persons[2]);
    assert_eq!(
        cluster_pairs(&records, &persons),
        vec![("r1".to_string(), "r2".to_string())]
    );
}

#[test]
fn dataset_csv_round_trip_and_accuracy() -> Result<(), Box<dyn std::error::Error>> {
    let records = parse_records(
        "rec_id,given_name,surname,date_of_birth\n\
         a,\"william\",nguyen,19800512\n\
         b,bill,nguyen,19800512\n\
         c,zoe,kaur,20010101\n",
    )?;
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0].domain, "a",
        "no domain column: one domain per record"
    );
    let persons = link_incrementally(&records, &Matcher::default());
    let truth = parse_links("rec_id_1,rec_id_2\nb,a\n")?;
    let a = accuracy(&cluster_pairs(&records, &persons), &truth);
    assert_eq!((a.precision, a.recall), (1.0, 1.0));
    assert!(parse_records("given_name\nx\n").is_err());
    Ok(())
}

/// Three records of one person: X without an address, Y with a one-digit typo in the date of
/// birth (X–Y stays below AutoLink), Z agreeing with both.
fn bridged_person() -> [Demographics; 3] {
    let x = Demographics {
        street_number: None,
        address_1: None,
        suburb: None,
        postcode: None,
        state: None,
        phone_number: None,
        ..person("alice", "smith", "19800101", "F")
    };
    let y = person("alice", "smith", "19800111", "F");
    let z = person("alice", "smith", "19800101", "F");
    [x, y, z]
}

#[test]
fn transposed_given_and_surname_with_a_typo_is_a_name_match() {
    let a = person("madeline", "conaghty", "19850810", "F");
    let b = person("conaghtu", "madeline", "19850810", "F");
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "given_name"), "agree");
    assert_eq!(outcome(&d, "surname"), "close");
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

/// Source records from (record id, domain, demographics).
fn sources<const N: usize>(records: [(&str, &str, Demographics); N]) -> Vec<SourceRecord> {
    records
        .into_iter()
        .map(|(id, domain, demographics)| SourceRecord {
            rec_id: id.into(),
            domain: domain.into(),
            demographics,
        })
        .collect()
}

/// Whether the default matcher lets a third record bridge the persons of `a` and `b`.
fn may_bridge(a: &Demographics, b: &Demographics) -> bool {
    Matcher::default().may_bridge(
        ("HOSP-A", "1", &Prepared::new(a)),
        ("HOSP-B", "2", &Prepared::new(b)),
    )
}

#[test]
fn a_record_auto_linked_to_two_persons_bridges_them() {
    let [x, y, z] = bridged_person();
    assert_eq!(compare(&x, &y).zone, Zone::Review);
    let records = sources([("x", "HOSP-A", x), ("y", "HOSP-B", y), ("z", "HOSP-C", z)]);
    let persons = link_incrementally(&records, &Matcher::default());
    assert_eq!(cluster_pairs(&records, &persons).len(), 3, "{persons:?}");
}

#[test]
fn a_bridge_never_joins_two_records_of_one_domain() {
    let a = person("william", "nguyen", "19800512", "M");
    let records: Vec<SourceRecord> = [("r1", "HOSP-A"), ("r2", "HOSP-A"), ("r3", "HOSP-B")]
        .iter()
        .map(|(id, domain)| SourceRecord {
            rec_id: (*id).into(),
            domain: (*domain).into(),
            demographics: a.clone(),
        })
        .collect();
    let persons = link_incrementally(&records, &Matcher::default());
    assert_ne!(persons[0], persons[1]);
    assert_eq!(cluster_pairs(&records, &persons).len(), 1);
}

#[test]
fn a_bridge_never_joins_twins() {
    let a = person("olivia", "tran", "20100304", "F");
    let b = person("sophie", "tran", "20100304", "F");
    assert!(!may_bridge(&a, &b), "twins may not be bridged");
}

#[test]
fn given_name_seen_once_next_to_a_common_one_is_a_typo_not_a_twin() {
    let a = person("jasper", "desilva", "19310208", "M");
    let b = person("jaspre", "desilva", "19310208", "M");
    assert_eq!(compare(&a, &b).guard.as_deref(), Some(GUARD_TWIN));
    let mut population = vec![a.clone(), a.clone(), b.clone()];
    let matcher = Matcher::new(Model::default().with_given_name_counts(&population));
    let decide = |m: &Matcher| {
        m.compare(
            &Candidate {
                domain: "HOSP-A",
                local_id: "1",
                demographics: &a,
            },
            &Candidate {
                domain: "HOSP-B",
                local_id: "2",
                demographics: &b,
            },
        )
    };
    assert_eq!(decide(&matcher).zone, Zone::AutoLink);
    // both names seen more than once: twins named alike stay out of auto-link
    population.push(b.clone());
    let matcher = Matcher::new(Model::default().with_given_name_counts(&population));
    assert_eq!(decide(&matcher).guard.as_deref(), Some(GUARD_TWIN));
}

/// The decision of a (HOSP-A) – b (HOSP-B) under a model with the given names of a population
/// counted: `common` records of `a`'s given name and `rare` of `b`'s.
fn compare_with_given_names(
    a: &Demographics,
    b: &Demographics,
    common: usize,
    rare: usize,
) -> Decision {
    let population: Vec<Demographics> = std::iter::repeat_n(a.clone(), common)
        .chain(std::iter::repeat_n(b.clone(), rare))
        .collect();
    compare_under(Model::default().with_given_name_counts(&population), a, b)
}

/// The decision of a (HOSP-A) – b (HOSP-B) under `model`.
fn compare_under(model: Model, a: &Demographics, b: &Demographics) -> Decision {
    Matcher::new(model).compare(
        &Candidate {
            domain: "HOSP-A",
            local_id: "1",
            demographics: a,
        },
        &Candidate {
            domain: "HOSP-B",
            local_id: "2",
            demographics: b,
        },
    )
}

/// b's given name is a's mistyped while the population holds it `rare` times next to `common`
/// records of a's (auto-link), a name of its own when it holds it `often` times (twin guard).
fn assert_typo_only_while_rare(
    a: &Demographics,
    b: &Demographics,
    (common, rare, often): (usize, usize, usize),
) {
    let d = compare_with_given_names(a, b, common, rare);
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
    let d = compare_with_given_names(a, b, common, often);
    assert_eq!(d.guard.as_deref(), Some(GUARD_TWIN), "{d:?}");
}

#[test]
fn misspelling_held_no_more_often_than_keying_errors_explain_is_a_typo_not_a_twin() {
    // "jams" among 100 "james": keying errors (m of "close", 6 %) explain up to 6
    let james = person("james", "jones", "19921211", "M");
    assert_typo_only_while_rare(
        &james,
        &person("jams", "jones", "19921211", "M"),
        (100, 2, 7),
    );
    // twins named alike, both names common
    let c = person("catherine", "davis", "20090212", "F");
    let k = person("katherine", "davis", "20090212", "F");
    assert_eq!(
        compare_with_given_names(&c, &k, 40, 30).guard.as_deref(),
        Some(GUARD_TWIN)
    );
}

#[test]
fn names_the_wrong_way_round_with_a_misspelt_given_name_are_a_typo_not_a_twin() {
    let a = person("jack", "shepherd", "19930210", "M");
    let b = person("shepherd", "jaxk", "19930210", "M");
    let mut population = vec![a.clone(); 100];
    population.push(b.clone());
    let d = compare_under(Model::default().with_given_name_counts(&population), &a, &b);
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
    // "jaxk" the given name of 20 others: a name of its own, the record may be a twin's
    population.extend(std::iter::repeat_n(
        person("jaxk", "moore", "19700101", "M"),
        20,
    ));
    let d = compare_under(Model::default().with_given_name_counts(&population), &a, &b);
    assert_eq!(d.guard.as_deref(), Some(GUARD_TWIN), "{d:?}");
}

#[test]
fn nickname_with_a_keying_error_is_the_same_given_name_not_a_twin() {
    // "bety": "betty" (Elizabeth) mistyped
    let a = person("elizabeth", "walsh", "19790307", "F");
    let b = person("bety", "walsh", "19790307", "F");
    assert_eq!(compare(&a, &b).guard.as_deref(), Some(GUARD_TWIN));
    assert_typo_only_while_rare(&a, &b, (100, 2, 20));
    // a name of three letters is a keying error away from too many others: "ian" is not
    // "dan" (Daniel) mistyped, however rare
    let daniel = person("daniel", "walsh", "19790307", "M");
    let ian = person("ian", "walsh", "19790307", "M");
    assert_eq!(
        compare_with_given_names(&daniel, &ian, 100, 1)
            .guard
            .as_deref(),
        Some(GUARD_TWIN)
    );
}

#[test]
fn nickname_with_a_keying_error_and_another_date_of_birth_is_a_possible_parent_or_child() {
    let mother = person("elizabeth", "walsh", "19650307", "F");
    let daughter = person("bety", "walsh", "19930611", "F");
    let d = compare_with_given_names(&mother, &daughter, 100, 1);
    assert_ne!(d.zone, Zone::AutoLink, "{d:?}");
    assert_eq!(d.guard.as_deref(), Some(GUARD_PARENT_CHILD));
}

/// The decision of a (HOSP-A) – b (HOSP-B) under a model with the families of a population
/// (source domain, demographics) counted.
fn compare_in_population(
    a: &Demographics,
    b: &Demographics,
    population: &[(&str, &Demographics)],
) -> Decision {
    compare_under(Model::default().with_families(population), a, b)
}

/// b lacks an identity field of a: insufficient identity without a population; auto-linked when
/// the population (a, b and `alike`, each from its own domain) shows one person; guarded again
/// when `other` (another person of the family) takes the place of `alike`.
fn assert_vouched_only_for_one_person(
    a: &Demographics,
    b: &Demographics,
    alike: &Demographics,
    other: &Demographics,
) {
    assert_eq!(
        compare(a, b).guard.as_deref(),
        Some(GUARD_INSUFFICIENT_IDENTITY)
    );
    let d = compare_in_population(a, b, &[("HOSP-A", a), ("HOSP-B", b), ("HOSP-C", alike)]);
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
    let d = compare_in_population(a, b, &[("HOSP-A", a), ("HOSP-B", b), ("HOSP-C", other)]);
    assert_eq!(d.guard.as_deref(), Some(GUARD_INSUFFICIENT_IDENTITY));
}

#[test]
fn missing_given_name_auto_links_when_the_population_shows_no_twin() {
    let a = person("matthew", "green", "19410114", "M");
    let b = Demographics {
        given_name: None,
        ..a.clone()
    };
    // a twin (same surname and date of birth, another given name): b could be either twin
    let twin = person("holly", "green", "19410114", "F");
    assert_vouched_only_for_one_person(&a, &b, &person("mathew", "green", "19410114", "M"), &twin);
}

#[test]
fn missing_date_of_birth_auto_links_when_the_population_shows_no_namesake_parent_or_child() {
    let a = person("nicholas", "campbell", "19041212", "M");
    let b = Demographics {
        date_of_birth: None,
        ..a.clone()
    };
    // a junior of the same name at the address: b could be father or son
    let junior = person("nicholas", "campbell", "19370605", "M");
    let typo = person("nicholas", "campbell", "19041112", "M");
    assert_vouched_only_for_one_person(&a, &b, &typo, &junior);
}

#[test]
fn missing_identity_field_is_never_vouched_for_at_another_address() {
    let a = person("matthew", "green", "19410114", "M");
    let b = Demographics {
        given_name: None,
        street_number: Some("3".into()),
        address_1: Some("larpent street".into()),
        ..a.clone()
    };
    let d = compare_in_population(&a, &b, &[("HOSP-A", &a), ("HOSP-B", &b)]);
    assert_ne!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn missing_given_name_is_not_vouched_for_when_its_source_holds_another_record_of_the_family() {
    let a = person("catherine", "allen", "20040120", "F");
    let b = Demographics {
        given_name: None,
        ..a.clone()
    };
    // the source that sent b also sent a record of the family under another id: two patients
    let sibling = person("cactherine", "allen", "20040120", "F");
    let d = compare_in_population(
        &a,
        &b,
        &[("HOSP-A", &a), ("HOSP-B", &b), ("HOSP-B", &sibling)],
    );
    assert_eq!(d.guard.as_deref(), Some(GUARD_INSUFFICIENT_IDENTITY));
}

#[test]
fn given_and_family_name_the_wrong_way_round_share_a_blocking_key() {
    let a = Demographics {
        given_name: Some("ruby".into()),
        surname: Some("vincent".into()),
        ..Demographics::default()
    };
    let b = Demographics {
        given_name: Some("vincent".into()),
        surname: Some("ruby".into()),
        ..Demographics::default()
    };
    let keys_b = blocking_keys(&b);
    assert!(blocking_keys(&a).iter().any(|k| keys_b.contains(k)));
}

#[test]
fn missing_date_of_birth_is_vouched_for_when_the_name_code_holds_only_other_given_names() {
    // Georgia, George and Grace share a Soundex code: George White born elsewhere in time is no
    // namesake of Georgia White's, another Georgia White is
    let a = person("georgia", "white", "19440918", "F");
    let b = Demographics {
        date_of_birth: None,
        ..a.clone()
    };
    let george = person("george", "white", "19501126", "M");
    let namesake = person("georgia", "white", "19720305", "F");
    assert_vouched_only_for_one_person(&a, &b, &george, &namesake);
}

/// `person` with the street on the given address lines.
fn at_lines(given: &str, line_1: Option<&str>, line_2: Option<&str>) -> Demographics {
    Demographics {
        address_1: line_1.map(str::to_string),
        address_2: line_2.map(str::to_string),
        ..person(given, "salt", "19270329", "M")
    }
}

#[test]
fn address_lines_are_compared_like_with_like() {
    let full = at_lines("lachlan", Some("port jackson circuit"), Some("elenera"));
    // the building alone, on line 2, meets the other record's line 2
    let building_only = at_lines("lachlan", None, Some("elenera"));
    assert_eq!(outcome(&compare(&full, &building_only), "address"), "agree");
    // lines 1 and 2 entered the wrong way round
    let swapped = at_lines("lachlan", Some("elenera"), Some("port jackson circuit"));
    assert_eq!(outcome(&compare(&full, &swapped), "address"), "agree");
    // the same building on two different streets is not the same address
    let other_street = at_lines("lachlan", Some("banksia road"), Some("elenera"));
    assert_eq!(
        outcome(&compare(&full, &other_street), "address"),
        "disagree"
    );
    // one line each, different: as before
    let street_only = at_lines("lachlan", Some("port jackson circuit"), None);
    assert_eq!(
        outcome(&compare(&building_only, &street_only), "address"),
        "disagree"
    );
}

fn with_national_id(d: Demographics, id: &str) -> Demographics {
    Demographics {
        soc_sec_id: Some(id.into()),
        ..d
    }
}

#[test]
fn twins_with_unrelated_national_ids_are_not_auto_linked() {
    let a = with_national_id(person("oliver", "nguyen", "20150512", "M"), "4392917");
    let b = with_national_id(person("thomas", "nguyen", "20150512", "M"), "1613259");
    assert_kept_apart_as_twins(&a, &b);
}

#[test]
fn a_replaced_given_name_is_auto_linked_on_an_agreeing_national_id() {
    let a = with_national_id(person("oliver", "nguyen", "20150512", "M"), "4392917");
    let b = with_national_id(person("thomas", "nguyen", "20150512", "M"), "4392917");
    let d = compare(&a, &b);
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
    assert_eq!(d.guard, None);
}

#[test]
fn a_replaced_given_name_is_auto_linked_on_a_national_id_a_keying_error_apart() {
    let a = with_national_id(person("oliver", "nguyen", "20150512", "M"), "4392917");
    // two neighbouring digits swapped: a keying error, not an id issued in sequence
    let b = with_national_id(person("thomas", "nguyen", "20150512", "M"), "4329917");
    let d = compare(&a, &b);
    assert_eq!(outcome(&d, "soc_sec_id"), "close");
    assert_eq!(d.zone, Zone::AutoLink, "{d:?}");
}

#[test]
fn twins_with_national_ids_issued_in_sequence_are_not_auto_linked() {
    let a = with_national_id(person("oliver", "nguyen", "20150512", "M"), "4392917");
    let b = with_national_id(person("thomas", "nguyen", "20150512", "M"), "4392918");
    let d = assert_kept_apart_as_twins(&a, &b);
    assert_eq!(outcome(&d, "soc_sec_id"), "close");
    assert!(
        !may_bridge(&a, &b),
        "twins with ids in sequence may not be bridged"
    );
}

#[test]
fn twins_of_opposite_sex_sharing_a_national_id_are_not_auto_linked() {
    let a = with_national_id(person("olivia", "nguyen", "20150512", "F"), "4392917");
    let b = with_national_id(person("oliver", "nguyen", "20150512", "M"), "4392917");
    assert_kept_apart_as_twins(&a, &b);
}

/// Twins as `conformance-tests/mpi/generate.py` makes them (same surname, date of birth,
/// address and phone, different given names, no national id), each registered at two sources,
/// one registration with a keying error in the given name, linked by `hie mpi link`'s model.
#[test]
fn generated_twins_registered_at_several_sources_stay_two_persons() {
    let twin_a = person("harrison", "okafor", "20120918", "M");
    let twin_b = person("charlotte", "okafor", "20120918", "F");
    let mistyped_a = Demographics {
        given_name: Some("harrsion".into()),
        ..twin_a.clone()
    };
    let records = sources([
        ("a1", "CLINIC-A", twin_a.clone()),
        ("b1", "CLINIC-B", twin_b.clone()),
        ("a2", "HOSP-C", mistyped_a),
        ("b2", "HOSP-D", twin_b),
        ("a3", "HOSP-E", twin_a),
    ]);
    let model = population_model(&records);
    let persons = link_incrementally(&records, &Matcher::new(model));
    let pairs = cluster_pairs(&records, &persons);
    let expected: Vec<(String, String)> = [("a1", "a2"), ("a1", "a3"), ("a2", "a3"), ("b1", "b2")]
        .iter()
        .map(|(x, y)| ((*x).to_string(), (*y).to_string()))
        .collect();
    assert_eq!(pairs, expected, "{persons:?}");
}
