//! Shared test support: databases on both backends, managers and HL7 v2 messages.

#![allow(dead_code, unused_macros, unused_imports)]

pub mod database;

use pix_manager::config::Config;
use pix_manager::manager::PixManager;
use pix_manager::matching::Matcher;
use pix_manager::notify::Notifier;
use pix_manager::server::PixServer;
use pix_manager::storage::Database;
use schemas::hl7v2::message::Message;

/// The affinity domain (the registry's default).
pub const AFFINITY: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";
/// Two source domains.
pub const GREEN: &str = "1.3.6.1.4.1.21367.2005.13.20.2000";
pub const BLUE: &str = "1.3.6.1.4.1.21367.2005.13.20.3000";

/// A manager over `db` with the default configuration and no subscribers.
pub fn manager(db: &Database) -> PixManager {
    PixManager::new(
        db.clone(),
        Matcher::default(),
        &Config::default(),
        Notifier::none(),
    )
}

/// A running PIX manager on ephemeral loopback ports, its SQLite database in `dir`, no ITI-10
/// or merge subscribers.
pub async fn start_pix(dir: &std::path::Path) -> PixServer {
    let config = Config {
        mllp_port: 0,
        http_port: 0,
        subscribers: Vec::new(),
        merge_subscribers: Vec::new(),
        ..Config::default()
    };
    pix_manager::server::start(
        &config,
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        dir,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("PIX manager starts")
}

/// A patient's name and birth date.
pub struct Person<'a> {
    pub surname: &'a str,
    pub given: &'a str,
    pub dob: &'a str,
}

pub const ALICE: Person = Person {
    surname: "MOORE",
    given: "ALICE",
    dob: "19700312",
};
pub const BOB: Person = Person {
    surname: "NAKAMURA",
    given: "BOB",
    dob: "19851120",
};

/// An ITI-8 ADT message of `event` in HL7 `version` for `id` of `domain`.
pub fn adt(event: &str, version: &str, id: &str, domain: &str, p: &Person) -> String {
    let structure = if version == "2.3.1" {
        format!("ADT^{event}")
    } else {
        format!("ADT^{event}^ADT_A01")
    };
    format!(
        "MSH|^~\\&|SRC|FAC|PIX|HIE|20260101120000||{structure}|MSG-{id}-{event}|P|{version}\r\
         EVN|{event}|20260101120000\r\
         PID|||{id}^^^&{domain}&ISO||{}^{}||{}|F|||1 MAIN ST^^SPRINGFIELD^IL^62701\r\
         PV1||O\r",
        p.surname, p.given, p.dob
    )
}

/// An ITI-8 A40 (v2.5): `subsumed` merged into `surviving`, both of `domain`.
pub fn a40(surviving: &str, subsumed: &str, domain: &str, p: &Person) -> String {
    format!(
        "MSH|^~\\&|SRC|FAC|PIX|HIE|20260101120000||ADT^A40^ADT_A39|MSG-MERGE-{subsumed}|P|2.5\r\
         EVN|A40|20260101120000\r\
         PID|||{surviving}^^^&{domain}&ISO||{}^{}||{}|F\r\
         MRG|{subsumed}^^^&{domain}&ISO\r",
        p.surname, p.given, p.dob
    )
}

/// An ITI-9 QBP^Q23 for `id` of `domain`, asking for `what_domains` (none: all).
pub fn pix_query(id: &str, domain: &str, what_domains: &[&str]) -> String {
    let wanted: Vec<String> = what_domains
        .iter()
        .map(|d| format!("^^^&{d}&ISO"))
        .collect();
    format!(
        "MSH|^~\\&|CONSUMER|FAC|PIX|HIE|20260101120000||QBP^Q23^QBP_Q21|Q-{id}|P|2.5\r\
         QPD|IHE PIX Query|TAG-{id}|{id}^^^&{domain}&ISO|{}\r\
         RCP|I\r",
        wanted.join("~")
    )
}

/// An ITI-21 QBP^Q22 with `parameters` (`@PID.5.1^MOORE` ...).
pub fn pdq(parameters: &[&str]) -> String {
    format!(
        "MSH|^~\\&|CONSUMER|FAC|PIX|HIE|20260101120000||QBP^Q22^QBP_Q21|PDQ-1|P|2.5\r\
         QPD|IHE PDQ Query|PDQ-TAG|{}\r\
         RCP|I|10^RD\r",
        parameters.join("~")
    )
}

/// The answer to `message`, parsed.
pub async fn answer(message: &str, manager: &PixManager) -> Message {
    let bytes = pix_manager::v2::handle_v2(message.as_bytes(), manager).await;
    Message::parse(&bytes).expect("the answer parses")
}

/// The PID-3 identifiers of a query response: (id, domain), in order.
pub fn pid3(msg: &Message) -> Vec<(String, String)> {
    msg.segment("PID")
        .and_then(|s| s.field(3))
        .map(|f| {
            f.repetitions()
                .iter()
                .map(|cx| {
                    (
                        cx.value(1).to_owned(),
                        cx.component(4)
                            .and_then(|c| c.subcomponent(2))
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
