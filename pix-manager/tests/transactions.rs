//! ITI-8, ITI-9, ITI-21 and the identity operations, each rule run on SQLite always and on
//! PostgreSQL with `--features postgres-tests`.

mod support;

use pix_manager::config::Config;
use pix_manager::manager::PixManager;
use pix_manager::matching::Demographics;
use pix_manager::matching::{Matcher, Zone};
use pix_manager::notify::Notifier;
use pix_manager::storage::{Database, PatientKey, PersonsMerged};
use support::database::on_both_backends;
use support::{
    AFFINITY, ALICE, BLUE, BOB, GREEN, Person, a40, adt, answer, manager, pdq, pid3, pix_query,
};

fn ids(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(i, d)| ((*i).to_owned(), (*d).to_owned()))
        .collect()
}

/// ITI-8: a new patient is acknowledged AA and gets a person with an affinity-domain id.
async fn iti8_new_patient_gets_an_affinity_domain_id(db: &Database) {
    let m = manager(db);
    let ack = answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert_eq!(ack.get("MSA-2"), Some("MSG-G1-A01"));
    let person = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap()
        .expect("the record has a person");
    assert!(!person.affinity_id.is_empty());
    assert_eq!(person.records, vec![PatientKey::new(GREEN, "G1")]);
}

/// ITI-8 in v2.3.1 (A04) is accepted too.
async fn iti8_accepts_version_2_3_1(db: &Database) {
    let m = manager(db);
    let ack = answer(&adt("A04", "2.3.1", "G1", GREEN, &ALICE), &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert_eq!(ack.get("MSH-12"), Some("2.3.1"));
}

/// ITI-8: the same person fed by another domain joins the first record's person (AutoLink).
async fn iti8_duplicate_in_another_domain_is_linked(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A04", "2.5", "B7", BLUE, &ALICE), &m).await;
    let green = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap();
    let blue = db
        .person_by_key(&PatientKey::new(BLUE, "B7"))
        .await
        .unwrap();
    assert_eq!(green, blue);
}

/// ITI-8: a different person gets a person of its own.
async fn iti8_different_person_is_not_linked(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B1", BLUE, &BOB), &m).await;
    let green = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap()
        .unwrap();
    let blue = db
        .person_by_key(&PatientKey::new(BLUE, "B1"))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(green.affinity_id, blue.affinity_id);
}

/// ITI-8: an auto-link candidate whose person already holds a record of the same domain is not
/// joined; the pair goes to the review queue.
async fn iti8_same_domain_duplicate_goes_to_review(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &ALICE), &m).await;
    let one = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap()
        .unwrap();
    let two = db
        .person_by_key(&PatientKey::new(GREEN, "G2"))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(one.affinity_id, two.affinity_id);
    let reviews = db.pending_reviews(10).await.unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].record.key, PatientKey::new(GREEN, "G2"));
    assert_eq!(reviews[0].candidate.key, PatientKey::new(GREEN, "G1"));
    assert!(
        !reviews[0].decision.fields.is_empty(),
        "field-by-field comparison"
    );
}

/// Review accepted: the record joins the candidate's person, with a history entry.
async fn review_accept_links_the_pair(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &ALICE), &m).await;
    let review = db.pending_reviews(10).await.unwrap().remove(0);
    m.resolve_review(review.id, true).await.unwrap();
    let one = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap();
    let two = db
        .person_by_key(&PatientKey::new(GREEN, "G2"))
        .await
        .unwrap();
    assert_eq!(one, two);
    assert!(db.pending_reviews(10).await.unwrap().is_empty());
    let history = db.history(&PatientKey::new(GREEN, "G2")).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| h.action.as_str())
            .collect::<Vec<_>>(),
        ["new", "link"]
    );
    assert!(matches!(
        m.resolve_review(review.id, true).await,
        Err(pix_manager::storage::StorageError::UnknownReview { .. })
    ));
}

/// Review rejected: both records keep their persons.
async fn review_reject_keeps_the_pair_apart(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &ALICE), &m).await;
    let review = db.pending_reviews(10).await.unwrap().remove(0);
    m.resolve_review(review.id, false).await.unwrap();
    let one = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap();
    let two = db
        .person_by_key(&PatientKey::new(GREEN, "G2"))
        .await
        .unwrap();
    assert_ne!(one, two);
    assert!(db.pending_reviews(10).await.unwrap().is_empty());
}

/// ITI-8 A08: an update keeps the record's person and affinity-domain id.
async fn iti8_a08_update_keeps_the_person(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    let before = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap();
    let renamed = Person {
        surname: "MOORE-SMITH",
        ..ALICE
    };
    let ack = answer(&adt("A08", "2.5", "G1", GREEN, &renamed), &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    let after = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap();
    assert_eq!(before, after);
}

/// ITI-8 A40: the subsumed record is retired; its person's other records join the surviving
/// person, which keeps its affinity-domain id.
async fn iti8_a40_merge_keeps_the_surviving_affinity_id(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &BOB), &m).await;
    answer(&adt("A01", "2.5", "B2", BLUE, &BOB), &m).await;
    let surviving = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap()
        .unwrap();
    let ack = answer(&a40("G1", "G2", GREEN, &ALICE), &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    let merged = db
        .person_by_key(&PatientKey::new(BLUE, "B2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merged.affinity_id, surviving.affinity_id);
    assert_eq!(
        merged.records,
        vec![PatientKey::new(GREEN, "G1"), PatientKey::new(BLUE, "B2")]
    );
    assert_eq!(
        db.person_by_key(&PatientKey::new(GREEN, "G2"))
            .await
            .unwrap(),
        None
    );
}

async fn affinity_id(db: &Database, domain: &str, id: &str) -> String {
    db.person_by_key(&PatientKey::new(domain, id))
        .await
        .unwrap()
        .expect("a person")
        .affinity_id
}

/// ITI-8 A40 of records of two persons: the subsumed person's affinity-domain id is retired
/// into the surviving one (what the registry's feed is then told, ITI TF-2a 3.8).
async fn iti8_a40_of_two_persons_retires_the_subsumed_affinity_id(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &BOB), &m).await;
    let surviving = affinity_id(db, GREEN, "G1").await;
    let retired = affinity_id(db, GREEN, "G2").await;
    let outcome = m
        .merge(
            &PatientKey::new(GREEN, "G1"),
            &PatientKey::new(GREEN, "G2"),
            &Demographics::default(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.merged, [PersonsMerged { retired, surviving }]);
}

/// ITI-8 A40 to a surviving id not yet known renames the record: no person is retired.
async fn iti8_a40_renaming_a_record_retires_no_affinity_id(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G2", GREEN, &BOB), &m).await;
    let outcome = m
        .merge(
            &PatientKey::new(GREEN, "G9"),
            &PatientKey::new(GREEN, "G2"),
            &Demographics::default(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.merged, []);
}

/// A manual link that takes a person's only record retires that person into the target's.
async fn link_of_a_lone_record_retires_its_person(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B2", BLUE, &BOB), &m).await;
    let surviving = affinity_id(db, GREEN, "G1").await;
    let retired = affinity_id(db, BLUE, "B2").await;
    let outcome = m
        .link(&PatientKey::new(BLUE, "B2"), &PatientKey::new(GREEN, "G1"))
        .await
        .unwrap();
    assert_eq!(outcome.merged, [PersonsMerged { retired, surviving }]);
    assert_eq!(outcome.changed.len(), 1, "no A31 for the retired person");
}

/// A manual link from a person that keeps other records retires nothing: both changed.
async fn link_from_a_person_with_other_records_retires_nothing(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B1", BLUE, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &BOB), &m).await;
    let outcome = m
        .link(&PatientKey::new(BLUE, "B1"), &PatientKey::new(GREEN, "G2"))
        .await
        .unwrap();
    assert_eq!(outcome.merged, []);
    assert_eq!(outcome.changed.len(), 2);
}

/// ITI-8 A40 naming an unknown subsumed id: AE 204 at MRG-1, nothing changed.
async fn iti8_a40_unknown_subsumed_id_is_ae_204(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    let ack = answer(&a40("G1", "G404", GREEN, &ALICE), &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("ERR-3"), Some("204"));
    assert_eq!(ack.get("ERR-2"), Some("MRG"));
    assert_eq!(ack.get("ERR-2.3"), Some("1"));
}

/// ITI-8 messages arriving together are each acknowledged on their own: one that fails in
/// storage (a merged-away id) is AE and leaves the others stored (on SQLite they share one group
/// commit, each in its own savepoint).
async fn iti8_concurrent_feeds_succeed_or_fail_each_on_its_own(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &ALICE), &m).await;
    answer(&a40("G1", "G2", GREEN, &ALICE), &m).await;
    let mut messages: Vec<String> = (3..9)
        .map(|i| adt("A01", "2.5", &format!("G{i}"), GREEN, &BOB))
        .collect();
    messages.insert(3, adt("A08", "2.5", "G2", GREEN, &ALICE));
    let acks = futures::future::join_all(messages.iter().map(|msg| answer(msg, &m))).await;
    let codes: Vec<Option<&str>> = acks.iter().map(|ack| ack.get("MSA-1")).collect();
    assert_eq!(
        codes,
        [
            Some("AA"),
            Some("AA"),
            Some("AA"),
            Some("AE"),
            Some("AA"),
            Some("AA"),
            Some("AA")
        ]
    );
    for i in 3..9 {
        let stored = db
            .person_by_key(&PatientKey::new(GREEN, format!("G{i}")))
            .await
            .unwrap();
        assert!(stored.is_some(), "G{i} is stored");
    }
}

/// ITI-8 feeds of one person from two domains arriving at the same moment are linked: each
/// feed is matched against every record stored before it, as if they had arrived one after the
/// other (on PostgreSQL identity changes are serialized by a transaction-level advisory lock, on
/// SQLite by its single writer); without that, two concurrent feeds each miss the other and
/// leave one person with two affinity-domain ids.
async fn iti8_simultaneous_feeds_of_one_person_from_two_domains_are_linked(db: &Database) {
    let m = manager(db);
    let surnames = [
        "MOORE",
        "OKAFOR",
        "LINDQVIST",
        "FERREIRA",
        "KOWALSKI",
        "HALVORSEN",
        "DUBOIS",
        "TANAKA",
    ];
    let births: Vec<String> = (0..surnames.len())
        .map(|i| format!("19{:02}0{}1{}", 40 + 7 * i, 1 + i % 9, i % 10))
        .collect();
    let people: Vec<Person> = surnames
        .iter()
        .zip(&births)
        .map(|(surname, dob)| Person {
            surname,
            given: "ALICE",
            dob,
        })
        .collect();
    let messages: Vec<String> = people
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            [
                adt("A01", "2.5", &format!("G{i}"), GREEN, p),
                adt("A01", "2.5", &format!("B{i}"), BLUE, p),
            ]
        })
        .collect();
    let acks = futures::future::join_all(messages.iter().map(|msg| answer(msg, &m))).await;
    assert!(acks.iter().all(|ack| ack.get("MSA-1") == Some("AA")));
    for (i, surname) in surnames.iter().enumerate() {
        let green = db
            .person_by_key(&PatientKey::new(GREEN, format!("G{i}")))
            .await
            .unwrap();
        let blue = db
            .person_by_key(&PatientKey::new(BLUE, format!("B{i}")))
            .await
            .unwrap();
        assert!(green.is_some());
        assert_eq!(green, blue, "{surname} fed by GREEN and BLUE together");
    }
}

/// ITI-8 with an identifier of an unconfigured domain: AE 204 at PID-3, nothing stored.
async fn iti8_unknown_domain_is_ae_204_and_stores_nothing(db: &Database) {
    let m = manager(db);
    let ack = answer(&adt("A01", "2.5", "X1", "1.2.3.4.5", &ALICE), &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("ERR-2"), Some("PID"));
    assert_eq!(ack.get("ERR-2.3"), Some("3"));
    assert_eq!(ack.get("ERR-3"), Some("204"));
    assert!(db.all_links().await.unwrap().is_empty());
}

/// ITI-8 without PID-3: AE 101 naming PID-3.
async fn iti8_missing_pid3_is_ae_101(db: &Database) {
    let m = manager(db);
    let message = adt("A01", "2.5", "G1", GREEN, &ALICE).replace(&format!("G1^^^&{GREEN}&ISO"), "");
    let ack = answer(&message, &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("ERR-3"), Some("101"));
    assert_eq!(ack.get("ERR-2"), Some("PID"));
    assert_eq!(ack.get("ERR-2.3"), Some("3"));
    assert!(db.all_links().await.unwrap().is_empty());
}

/// ITI-8 with an event the feed does not take: AR 201.
async fn iti8_unsupported_event_is_ar_201(db: &Database) {
    let m = manager(db);
    let ack = answer(&adt("A03", "2.5", "G1", GREEN, &ALICE), &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(ack.get("ERR-3"), Some("201"));
}

/// A message type the manager does not take: AR 200.
async fn unsupported_message_type_is_ar_200(db: &Database) {
    let m = manager(db);
    let message = adt("A01", "2.5", "G1", GREEN, &ALICE).replace("ADT^A01^ADT_A01", "ORM^O01");
    let ack = answer(&message, &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(ack.get("ERR-3"), Some("200"));
}

/// A frame that is not HL7 v2: AR with ERR 100, and nothing stored.
async fn frame_without_msh_is_ar_100(db: &Database) {
    let m = manager(db);
    let ack = answer("PID|||G1^^^&1.2&ISO\r", &m).await;
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(ack.get("ERR-3"), Some("100"));
}

/// ITI-9: the person's other identifiers and its affinity-domain id, the queried one left out.
async fn iti9_returns_the_other_identifiers(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B1", BLUE, &ALICE), &m).await;
    let person = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap()
        .unwrap();
    let rsp = answer(&pix_query("G1", GREEN, &[]), &m).await;
    assert_eq!(rsp.get("MSH-9"), Some("RSP"));
    assert_eq!(rsp.get("MSH-9.2"), Some("K23"));
    assert_eq!(rsp.get("MSA-1"), Some("AA"));
    assert_eq!(rsp.get("QAK-1"), Some("TAG-G1"));
    assert_eq!(rsp.get("QAK-2"), Some("OK"));
    assert_eq!(rsp.get("QPD-2"), Some("TAG-G1"), "QPD echoed");
    assert_eq!(
        pid3(&rsp),
        ids(&[("B1", BLUE), (person.affinity_id.as_str(), AFFINITY)]),
        "sorted by domain, then the affinity-domain id"
    );
}

/// ITI-9 with what-domains-returned: only identifiers of those domains.
async fn iti9_what_domains_returned_filters(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B1", BLUE, &ALICE), &m).await;
    let rsp = answer(&pix_query("G1", GREEN, &[BLUE]), &m).await;
    assert_eq!(pid3(&rsp), ids(&[("B1", BLUE)]));
}

/// ITI-9 by affinity-domain id: the person's source identifiers.
async fn iti9_query_by_affinity_id(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    let person = db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap()
        .unwrap();
    let rsp = answer(&pix_query(&person.affinity_id, AFFINITY, &[]), &m).await;
    assert_eq!(pid3(&rsp), ids(&[("G1", GREEN)]));
}

/// ITI-9 with an unknown identifier of a known domain (ITI TF-2a 3.9.4.2.2.6 case 3): AE, QAK-2
/// AE, ERR 204 at QPD-3 component 1, no PID.
async fn iti9_unknown_identifier_is_ae_204(db: &Database) {
    let m = manager(db);
    let rsp = answer(&pix_query("G404", GREEN, &[]), &m).await;
    assert_eq!(rsp.get("MSA-1"), Some("AE"));
    assert_eq!(rsp.get("QAK-2"), Some("AE"));
    assert_eq!(rsp.get("ERR-2"), Some("QPD"));
    assert_eq!(rsp.get("ERR-2.3"), Some("3"));
    assert_eq!(rsp.get("ERR-2.5"), Some("1"));
    assert_eq!(rsp.get("ERR-3"), Some("204"));
    assert!(rsp.segment("PID").is_none());
}

/// ITI-9 when the person has no identifier in the requested domains: AA, NF.
async fn iti9_no_identifier_in_requested_domains_is_aa_nf(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    let rsp = answer(&pix_query("G1", GREEN, &[BLUE]), &m).await;
    assert_eq!(rsp.get("MSA-1"), Some("AA"));
    assert_eq!(rsp.get("QAK-2"), Some("NF"));
}

/// ITI-9 with an unknown domain in QPD-3: AE, QAK-2 AE, ERR 204 at QPD-3 component 4.
async fn iti9_unknown_domain_is_ae_204(db: &Database) {
    let m = manager(db);
    let rsp = answer(&pix_query("G1", "9.9.9", &[]), &m).await;
    assert_eq!(rsp.get("MSH-9.2"), Some("K23"));
    assert_eq!(rsp.get("MSA-1"), Some("AE"));
    assert_eq!(rsp.get("QAK-2"), Some("AE"));
    assert_eq!(rsp.get("ERR-2"), Some("QPD"));
    assert_eq!(rsp.get("ERR-2.3"), Some("3"));
    assert_eq!(rsp.get("ERR-2.5"), Some("4"));
    assert_eq!(rsp.get("ERR-3"), Some("204"));
}

/// ITI-9 with an unknown domain in QPD-4: AE 204 at QPD-4.
async fn iti9_unknown_what_domain_is_ae_204(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    let rsp = answer(&pix_query("G1", GREEN, &["9.9.9"]), &m).await;
    assert_eq!(rsp.get("MSA-1"), Some("AE"));
    assert_eq!(rsp.get("ERR-2.3"), Some("4"));
    assert_eq!(rsp.get("ERR-3"), Some("204"));
}

/// ITI-21: records agreeing with every parameter, each a PID and a QRI with the score.
async fn iti21_returns_matching_records(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B9", BLUE, &BOB), &m).await;
    let rsp = answer(&pdq(&["@PID.5.1^MOORE", "@PID.7^19700312"]), &m).await;
    assert_eq!(rsp.get("MSH-9.2"), Some("K22"));
    assert_eq!(rsp.get("MSA-1"), Some("AA"));
    assert_eq!(rsp.get("QAK-2"), Some("OK"));
    assert_eq!(rsp.segments("PID").count(), 1);
    assert_eq!(pid3(&rsp), ids(&[("G1", GREEN)]));
    assert_eq!(rsp.get("PID-5.2"), Some("ALICE"));
    assert!(rsp.segment("QRI").is_some());
}

/// A manager reading at most 50 ITI-21 candidates (`max_candidates` 1), fed ALEX born on
/// 1970-03-12 with each of `surnames`, as G0, G1... of GREEN.
async fn alexes_born_the_same_day(db: &Database, surnames: &[String]) -> PixManager {
    let config = Config {
        max_candidates: 1,
        ..Config::default()
    };
    let m = PixManager::new(db.clone(), Matcher::default(), &config, Notifier::none());
    for (i, surname) in surnames.iter().enumerate() {
        let person = Person {
            surname,
            given: "ALEX",
            dob: "19700312",
        };
        answer(&adt("A01", "2.5", &format!("G{i}"), GREEN, &person), &m).await;
    }
    m
}

/// ITI-21 by identifier finds its record however many records the MPI holds (not only among
/// the first candidates a demographics search would read).
async fn iti21_by_identifier_finds_the_record_beyond_the_candidate_limit(db: &Database) {
    let surnames: Vec<String> = (0..60).map(|i| format!("SURNAME{i:02}")).collect();
    let m = alexes_born_the_same_day(db, &surnames).await;
    let rsp = answer(&pdq(&["@PID.3.1^G59", &format!("@PID.3.4.2^{GREEN}")]), &m).await;
    assert_eq!(rsp.get("QAK-2"), Some("OK"));
    assert_eq!(pid3(&rsp), ids(&[("G59", GREEN)]));
    assert_eq!(rsp.get("PID-5.1"), Some("SURNAME59"));
}

/// ITI-21 with exact demographics finds its record however many records share one of its
/// blocking keys: the candidates are the records holding every key of the exact values, not the
/// first of those sharing any one key (here 60 people born the same day, over the limit of 50,
/// no two of whose surnames share a Soundex code); a value given as a prefix (`BA*`) constrains
/// no key.
async fn iti21_exact_demographics_find_the_record_beyond_the_candidate_limit(db: &Database) {
    let (first, second) = (
        ["B", "D", "F", "G", "K", "L", "M", "N", "P", "R", "S", "T"],
        ["B", "D", "L", "M", "R"],
    );
    let surnames: Vec<String> = (0..60)
        .map(|i| format!("{}A{}O", first[i % 12], second[i / 12]))
        .collect();
    let m = alexes_born_the_same_day(db, &surnames).await;
    assert_eq!(surnames[59], "TARO");
    let rsp = answer(
        &pdq(&["@PID.5.1^Taro", "@PID.5.2^ALEX", "@PID.7^19700312"]),
        &m,
    )
    .await;
    assert_eq!(rsp.get("QAK-2"), Some("OK"));
    assert_eq!(pid3(&rsp), ids(&[("G59", GREEN)]));
    // BABO (G0), BADO (G12)...: Soundex B100, B300..., none B000 (that of "BA")
    let rsp = answer(
        &pdq(&["@PID.5.1^BA*", "@PID.5.2^ALEX", "@PID.7^19700312"]),
        &m,
    )
    .await;
    assert_eq!(rsp.get("QAK-2"), Some("OK"));
}

/// ITI-21 with no matching record: AA, NF.
async fn iti21_no_match_is_aa_nf(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    let rsp = answer(&pdq(&["@PID.5.1^ZZZ"]), &m).await;
    assert_eq!(rsp.get("MSA-1"), Some("AA"));
    assert_eq!(rsp.get("QAK-2"), Some("NF"));
}

/// ITI-21 with a parameter the manager does not support: AE naming QPD-3.
async fn iti21_unsupported_parameter_is_ae(db: &Database) {
    let m = manager(db);
    let rsp = answer(&pdq(&["@PID.99^X"]), &m).await;
    assert_eq!(rsp.get("MSA-1"), Some("AE"));
    assert_eq!(rsp.get("QAK-2"), Some("AE"));
    assert_eq!(rsp.get("ERR-2.3"), Some("3"));
}

/// People born the same day as ALICE, named otherwise: candidates (they share her date-of-birth
/// blocking key) that do not match her.
const SAME_DAY: [Person; 2] = [
    Person {
        surname: "NAKAMURA",
        given: "BOB",
        dob: "19700312",
    },
    Person {
        surname: "OKONKWO",
        given: "CHIDI",
        dob: "19700312",
    },
];

/// An ITI-8 A01 (v2.5) for `id` of `domain` without the address `adt` gives everyone (people
/// at one address who share a birthday are worth a review).
fn a01_without_address(id: &str, domain: &str, p: &Person) -> String {
    adt("A01", "2.5", id, domain, p).replace("|||1 MAIN ST^^SPRINGFIELD^IL^62701", "")
}

/// ITI-8: every decision of a new record is stored with its score and field weights; the NoLink
/// ones as one row, the closest, counting the others (compared, none closer).
async fn iti8_no_link_decisions_are_stored_as_the_closest_counting_the_others(db: &Database) {
    let m = manager(db);
    answer(&a01_without_address("G1", GREEN, &SAME_DAY[0]), &m).await;
    answer(&a01_without_address("G2", GREEN, &SAME_DAY[1]), &m).await;
    answer(&a01_without_address("G3", GREEN, &ALICE), &m).await;
    let key = PatientKey::new(GREEN, "G3");
    let stored = db.decisions(&key).await.unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let closest = &stored[0];
    assert_eq!(closest.decision.zone, Zone::NoLink);
    assert_eq!(closest.other_no_links, 1, "the other NoLink candidate");
    let weights: f64 = closest.decision.fields.iter().map(|f| f.weight).sum();
    assert!((weights - closest.decision.score).abs() < 1e-9);
    let history = db.history(&key).await.unwrap();
    assert_eq!(history[0].reason, "no auto-link candidate among 2 compared");
}

/// ITI-8: an AutoLink decision is stored on its own row, beside the NoLink summary.
async fn iti8_auto_link_decision_is_stored_on_its_own_row(db: &Database) {
    let m = manager(db);
    answer(&a01_without_address("G1", GREEN, &ALICE), &m).await;
    answer(&a01_without_address("G2", GREEN, &SAME_DAY[0]), &m).await;
    answer(&a01_without_address("B1", BLUE, &ALICE), &m).await;
    let stored = db.decisions(&PatientKey::new(BLUE, "B1")).await.unwrap();
    let rows: Vec<(PatientKey, Zone, i64)> = stored
        .into_iter()
        .map(|s| (s.candidate, s.decision.zone, s.other_no_links))
        .collect();
    assert_eq!(
        rows,
        [
            (PatientKey::new(GREEN, "G1"), Zone::AutoLink, 0),
            (PatientKey::new(GREEN, "G2"), Zone::NoLink, 0),
        ]
    );
}

/// ITI-8: a record updated (A08) after it was compared is matched with its new demographics.
async fn iti8_updated_record_is_matched_with_its_new_demographics(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B1", BLUE, &SAME_DAY[0]), &m).await;
    answer(&adt("A08", "2.5", "G1", GREEN, &SAME_DAY[1]), &m).await;
    answer(&adt("A01", "2.5", "B2", BLUE, &SAME_DAY[1]), &m).await;
    assert_eq!(
        db.person_by_key(&PatientKey::new(BLUE, "B2"))
            .await
            .unwrap(),
        db.person_by_key(&PatientKey::new(GREEN, "G1"))
            .await
            .unwrap()
    );
}

/// ITI-8 A40: the surviving record is matched with the demographics of the merge.
async fn iti8_a40_survivor_is_matched_with_the_merged_demographics(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "G2", GREEN, &SAME_DAY[0]), &m).await;
    answer(&adt("A01", "2.5", "B1", BLUE, &SAME_DAY[0]), &m).await;
    answer(&a40("G1", "G2", GREEN, &SAME_DAY[1]), &m).await;
    answer(&adt("A01", "2.5", "B2", BLUE, &SAME_DAY[1]), &m).await;
    let stored = db.decisions(&PatientKey::new(BLUE, "B2")).await.unwrap();
    let g1 = stored
        .iter()
        .find(|s| s.candidate == PatientKey::new(GREEN, "G1"))
        .expect("G1 compared");
    assert_eq!(g1.decision.zone, Zone::AutoLink, "{stored:?}");
}

/// ITI-8: the outcome of a feed (what ITI-10 announces) is the person as stored, whether the
/// record got a new person or joined one.
async fn iti8_feed_outcome_is_the_stored_person(db: &Database) {
    let matcher = std::sync::Arc::new(Matcher::default());
    let alice = Demographics {
        given_name: Some(ALICE.given.to_owned()),
        surname: Some(ALICE.surname.to_owned()),
        date_of_birth: Some(ALICE.dob.to_owned()),
        sex: Some("F".to_owned()),
        address_1: Some("1 MAIN ST".to_owned()),
        suburb: Some("SPRINGFIELD".to_owned()),
        state: Some("IL".to_owned()),
        postcode: Some("62701".to_owned()),
        ..Demographics::default()
    };
    let green = PatientKey::new(GREEN, "G1");
    let blue = PatientKey::new(BLUE, "B1");
    for key in [&green, &blue] {
        let outcome = db.feed(key, &alice, &matcher, 200).await.unwrap();
        let stored = db.person_by_key(key).await.unwrap().expect("a person");
        assert_eq!(outcome.affinity_id, stored.affinity_id);
        assert_eq!(outcome.changed, vec![stored]);
    }
    let person = db.person_by_key(&green).await.unwrap().expect("a person");
    assert_eq!(person.records, [green, blue], "linked");
}

/// Manual unlink gives the record a new person; link puts it back; both in the history.
async fn unlink_then_link_with_history(db: &Database) {
    let m = manager(db);
    answer(&adt("A01", "2.5", "G1", GREEN, &ALICE), &m).await;
    answer(&adt("A01", "2.5", "B1", BLUE, &ALICE), &m).await;
    let blue = PatientKey::new(BLUE, "B1");
    let green = PatientKey::new(GREEN, "G1");
    let unlinked = m.unlink(&blue).await.unwrap();
    assert_eq!(unlinked.changed.len(), 2, "both persons changed");
    assert_ne!(
        db.person_by_key(&blue).await.unwrap(),
        db.person_by_key(&green).await.unwrap()
    );
    m.link(&blue, &green).await.unwrap();
    assert_eq!(
        db.person_by_key(&blue).await.unwrap(),
        db.person_by_key(&green).await.unwrap()
    );
    let actions: Vec<String> = db
        .history(&blue)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(actions, ["link", "unlink", "link"]);
}

on_both_backends!(
    iti8_new_patient_gets_an_affinity_domain_id,
    iti8_accepts_version_2_3_1,
    iti8_duplicate_in_another_domain_is_linked,
    iti8_different_person_is_not_linked,
    iti8_same_domain_duplicate_goes_to_review,
    review_accept_links_the_pair,
    review_reject_keeps_the_pair_apart,
    iti8_a08_update_keeps_the_person,
    iti8_a40_merge_keeps_the_surviving_affinity_id,
    iti8_a40_unknown_subsumed_id_is_ae_204,
    iti8_a40_of_two_persons_retires_the_subsumed_affinity_id,
    iti8_a40_renaming_a_record_retires_no_affinity_id,
    link_of_a_lone_record_retires_its_person,
    link_from_a_person_with_other_records_retires_nothing,
    iti8_concurrent_feeds_succeed_or_fail_each_on_its_own,
    iti8_simultaneous_feeds_of_one_person_from_two_domains_are_linked,
    iti8_unknown_domain_is_ae_204_and_stores_nothing,
    iti8_missing_pid3_is_ae_101,
    iti8_unsupported_event_is_ar_201,
    unsupported_message_type_is_ar_200,
    frame_without_msh_is_ar_100,
    iti9_returns_the_other_identifiers,
    iti9_what_domains_returned_filters,
    iti9_query_by_affinity_id,
    iti9_unknown_identifier_is_ae_204,
    iti9_no_identifier_in_requested_domains_is_aa_nf,
    iti9_unknown_domain_is_ae_204,
    iti9_unknown_what_domain_is_ae_204,
    iti21_returns_matching_records,
    iti21_by_identifier_finds_the_record_beyond_the_candidate_limit,
    iti21_exact_demographics_find_the_record_beyond_the_candidate_limit,
    iti21_no_match_is_aa_nf,
    iti21_unsupported_parameter_is_ae,
    unlink_then_link_with_history,
    iti8_feed_outcome_is_the_stored_person,
    iti8_no_link_decisions_are_stored_as_the_closest_counting_the_others,
    iti8_auto_link_decision_is_stored_on_its_own_row,
    iti8_updated_record_is_matched_with_its_new_demographics,
    iti8_a40_survivor_is_matched_with_the_merged_demographics,
);

/// The setting `SHOW plan_cache_mode` reads.
#[cfg(feature = "postgres-tests")]
#[derive(diesel::QueryableByName)]
struct PlanCacheMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    plan_cache_mode: String,
}

/// PostgreSQL: every connection of the MPI plans each statement with its values, so a plan
/// made while the tables were nearly empty (a scan) is not kept once they have grown.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_connections_plan_each_statement_with_its_values() {
    use support::database::{Backend, TestDatabase};
    let db = TestDatabase::open(
        Backend::Postgres,
        "transactions::postgres_connections_plan_each_statement_with_its_values",
    )
    .await;
    let Database::Postgres(pool) = &db.db else {
        panic!("a PostgreSQL MPI");
    };
    let mut conn = pool.get().await.expect("a pooled connection");
    let mode: Vec<PlanCacheMode> =
        diesel_async::RunQueryDsl::load(diesel::sql_query("SHOW plan_cache_mode"), &mut *conn)
            .await
            .expect("SHOW plan_cache_mode");
    assert_eq!(mode[0].plan_cache_mode, "force_custom_plan");
    drop(conn);
    db.close().await;
}
