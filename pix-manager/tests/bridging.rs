//! ITI-8 auto-link bridges in the stored MPI: a record that auto-links to two persons joins them
//! when no guard stands between their records. SQLite always, PostgreSQL with
//! `--features postgres-tests`.

mod support;

use pix_manager::matching::{Demographics, Matcher};
use pix_manager::storage::{Database, PatientKey, PersonsMerged};
use support::database::on_both_backends;

fn record(dob: &str, with_address: bool) -> Demographics {
    let address = |v: &str| with_address.then(|| v.to_owned());
    Demographics {
        given_name: Some("alice".into()),
        surname: Some("smith".into()),
        date_of_birth: Some(dob.into()),
        sex: Some("F".into()),
        street_number: address("12"),
        address_1: address("wattle street"),
        suburb: address("richmond"),
        postcode: address("3121"),
        state: address("vic"),
        ..Demographics::default()
    }
}

async fn person(db: &Database, domain: &str, id: &str) -> String {
    db.person_by_key(&PatientKey::new(domain, id))
        .await
        .expect("query")
        .expect("a person")
        .affinity_id
}

/// ITI-8: X (no address) and Y (date of birth a digit apart) stay apart; Z, agreeing with
/// both, joins Y's person and X's person is bridged into it, which keeps its affinity id.
async fn iti8_record_auto_linked_to_two_persons_bridges_them(db: &Database) {
    let matcher = std::sync::Arc::new(Matcher::default());
    let feed = |domain: &'static str, demographics: Demographics| {
        let matcher = &matcher;
        async move {
            db.feed(&PatientKey::new(domain, "1"), &demographics, matcher, 100)
                .await
                .expect("feed")
        }
    };
    feed("A", record("19800101", false)).await;
    feed("B", record("19800111", true)).await;
    let before = person(db, "B", "1").await;
    let bridged = person(db, "A", "1").await;
    assert_ne!(bridged, before, "X and Y alone stay apart");
    let outcome = feed("C", record("19800101", true)).await;
    assert_eq!(outcome.affinity_id, before);
    assert_eq!(person(db, "A", "1").await, before);
    assert_eq!(outcome.changed[0].records.len(), 3);
    assert_eq!(
        outcome.merged,
        [PersonsMerged {
            retired: bridged,
            surviving: before
        }],
        "X's affinity-domain id is retired into Y's"
    );
}

/// ITI-8: a bridge never joins two records of one domain.
async fn iti8_bridge_never_joins_two_records_of_one_domain(db: &Database) {
    let matcher = std::sync::Arc::new(Matcher::default());
    for (domain, id) in [("A", "1"), ("A", "2"), ("B", "1")] {
        db.feed(
            &PatientKey::new(domain, id),
            &record("19800101", true),
            &matcher,
            100,
        )
        .await
        .expect("feed");
    }
    assert_ne!(person(db, "A", "1").await, person(db, "A", "2").await);
}

on_both_backends!(
    iti8_record_auto_linked_to_two_persons_bridges_them,
    iti8_bridge_never_joins_two_records_of_one_domain,
);
