//! `hie import-cd DIR` without `--patient`: the disc is listed with the identity it would use and
//! nothing is published; `--pdq` lists the PIX Manager's records found by ITI-21, and a search
//! that cannot be made ends the command with an error after the listing.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Output};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use pix_manager::config::Config;
use pix_manager::matching::Demographics;
use pix_manager::storage::PatientKey;
use tokio_util::sync::CancellationToken;

const HOSPITAL: &str = "1.3.6.1.4.1.21367.2005.13.20.2000";

/// A disc holding one CT image of Doe^Jane, born 1970-01-01.
fn disc(dir: &Path) {
    let text = |tag, vr, value: &str| DataElement::new(tag, vr, PrimitiveValue::from(value));
    let sop_uid = "2.25.7001.1.1";
    let image = InMemDicomObject::from_element_iter([
        text(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        text(tags::SOP_INSTANCE_UID, VR::UI, sop_uid),
        text(tags::STUDY_DATE, VR::DA, "20261101"),
        text(tags::MODALITY, VR::CS, "CT"),
        text(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
        text(tags::PATIENT_ID, VR::LO, "CD-17"),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
        text(tags::PATIENT_SEX, VR::CS, "F"),
        text(tags::STUDY_INSTANCE_UID, VR::UI, "2.25.7001"),
        text(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.7001.1"),
    ]);
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(sop_uid);
    image
        .with_meta(meta)
        .expect("file meta")
        .write_to_file(dir.join("IMG1"))
        .expect("write the disc's image");
}

fn import_cd(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hie"))
        .arg("import-cd")
        .arg(dir)
        .args(args)
        .output()
        .expect("run hie")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn without_patient_the_disc_is_listed_and_nothing_is_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    disc(dir.path());
    let out = import_cd(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("1 study (file scan), 0 problem file(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("Doe^Jane"), "{stdout}");
    assert!(stdout.contains("nothing published"), "{stdout}");
}

#[test]
fn pdq_needs_the_pix_manager_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    disc(dir.path());
    let out = import_cd(dir.path(), &["--pdq"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(text(&out.stderr).contains("--pix"), "{}", text(&out.stderr));
}

#[test]
fn pdq_that_cannot_reach_the_pix_manager_fails_after_listing() {
    let dir = tempfile::tempdir().expect("tempdir");
    disc(dir.path());
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let out = import_cd(dir.path(), &["--pdq", "--pix", &closed.to_string()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Doe^Jane"),
        "the disc is still listed: {stdout}"
    );
    assert!(
        text(&out.stderr).contains("PDQ search (ITI-21) failed for 1 of 1 study"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pdq_lists_the_records_the_pix_manager_finds() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = Config {
        mllp_port: 0,
        http_port: 0,
        subscribers: Vec::new(),
        merge_subscribers: Vec::new(),
        ..Config::default()
    };
    let shutdown = CancellationToken::new();
    let pix = pix_manager::server::start(
        &config,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        data.path(),
        shutdown.clone(),
    )
    .await
    .expect("PIX manager");
    let jane = Demographics {
        given_name: Some("Jane".into()),
        surname: Some("Doe".into()),
        date_of_birth: Some("19700101".into()),
        sex: Some("F".into()),
        ..Demographics::default()
    };
    pix.manager
        .feed(&PatientKey::new(HOSPITAL, "MRN-889"), &jane)
        .await
        .expect("ITI-8 feed");

    let dir = tempfile::tempdir().expect("tempdir");
    disc(dir.path());
    let pix_address = pix.mllp_addr.to_string();
    let path = dir.path().to_owned();
    let out =
        tokio::task::spawn_blocking(move || import_cd(&path, &["--pdq", "--pix", &pix_address]))
            .await
            .expect("hie ran");
    shutdown.cancel();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("PDQ: MRN-889^^^&{HOSPITAL}&ISO")),
        "{stdout}"
    );
    assert!(stdout.contains("nothing published"), "{stdout}");
}
