//! Running testkit sections against the registry, repository and imaging document source
//! (ITI-8/44, ITI-18, ITI-41, ITI-42, ITI-43, ITI-57, ITI-62, ITI-86, RAD-69): steps in order, ids
//! carried between steps and tests (`UseId`, `UseReport`, `Report`), expected status and errors,
//! `ExpectedContents`, retrieved documents against what was submitted and registered, and
//! XPath `Assertions`. Tests another test relies on (the patient feeds 15817/15818, the stored
//! query fixture 12346) are run first, once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use schemas::constants::{classification_node, identification_scheme, status};
use schemas::hl7v2::mllp::{MllpReader, write_frame};
use schemas::soap::{self, action};

use super::metadata::{self, Rewrite};
use super::plan::{
    Assert, ExpectedContent, ExpectedStatus, StepRef, TestPlan, TestStep, Transaction,
    TransactionKind,
};
use super::tree::Element;
use super::{dcm_images, ids, kos, kos_metadata, retrieve, wire, xpath};

/// Where the actors under test listen.
#[derive(Debug, Clone)]
pub struct Target {
    /// SOAP endpoint of the Document Registry (ITI-42, ITI-18, ITI-44).
    pub registry_url: String,
    /// MLLP address of the registry's ITI-8 feed; ITI-44 on `registry_url` when absent.
    pub registry_mllp: Option<SocketAddr>,
    /// Assigning authority of the patient ids the feed creates.
    pub affinity_domain: String,
    /// SOAP endpoint of the Document Repository (ITI-41, ITI-43, ITI-86); `None` when none runs.
    pub repository_url: Option<String>,
    /// SOAP endpoint of the Imaging Document Source (RAD-69); `None` when none runs.
    pub imaging_source_url: Option<String>,
    /// WADO-URI endpoint of the Imaging Document Source (RAD-55); `None` when none runs.
    pub imaging_wado_url: Option<String>,
}

/// The outcome of one test section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionOutcome {
    pub test: String,
    pub section: String,
    /// Run only because a selected test relies on it.
    pub fixture: bool,
    pub verdict: Verdict,
}

impl SectionOutcome {
    /// `test/section`, the name used in the expected-pass and excluded lists.
    pub fn name(&self) -> String {
        format!("{}/{}", self.test, self.section)
    }
}

/// Passed (with the checks the harness could not evaluate), or failed with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass { not_evaluated: Vec<String> },
    Fail { reason: String },
}

/// What one step left in the log for later steps and tests.
#[derive(Debug, Clone, Default)]
struct StepLog {
    id: String,
    transaction: String,
    input: String,
    result: String,
    assigned_uuids: BTreeMap<String, String>,
    assigned_uids: BTreeMap<String, String>,
    assigned_patient_ids: BTreeMap<String, String>,
    reports: BTreeMap<String, String>,
    /// Attachments of the response (ITI-43, RAD-69), digested.
    attachments: Vec<wire::ReceivedAttachment>,
    /// Instances the step retrieved, kept as files (RAD-69 attachments, RAD-55 bodies).
    retrieved_files: Vec<PathBuf>,
    /// HTTP status of each RAD-55 request, in order.
    http_statuses: Vec<u16>,
}

/// A response body read back: status, errors, and the body element itself.
struct Response {
    status: String,
    errors: Vec<(String, String)>,
    body: Element,
    xml: String,
}

/// Runs testkit tests against one target and keeps the logs that later tests read.
pub struct Engine {
    tests_dir: PathBuf,
    target: Target,
    client: reqwest::Client,
    logs: HashMap<String, Vec<StepLog>>,
    run: BTreeSet<String>,
    current_patient: Option<String>,
    outcomes: Vec<SectionOutcome>,
    /// Documents sent by ITI-41, by DocumentEntry uniqueId: the file and its digest.
    submitted: HashMap<String, (PathBuf, retrieve::Content)>,
    /// The `ids` plans' image set and its publisher; `None`: not given (`--ids-image-set`).
    imaging: Option<ids::ImagingFixture>,
    /// Where retrieved instances and received manifests are kept during the run.
    scratch: Option<tempfile::TempDir>,
    /// Sections (`test/section`) that failed for want of the image set: what later steps read
    /// from them fails for the same reason.
    awaiting_image_set: BTreeSet<String>,
}

/// The sections of a test in `index.idx` order.
pub fn sections_of(tests_dir: &Path, test: &str) -> Vec<String> {
    std::fs::read_to_string(tests_dir.join(test).join("index.idx"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The collections (`reg`, `rep`, `SQ.b`, ...) a test belongs to.
pub fn collections_of(tests_dir: &Path, test: &str) -> Vec<String> {
    std::fs::read_to_string(tests_dir.join(test).join("collections.txt"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Resolves `testdir` against `<test>/<section>` to another `<test>/<section>`.
pub fn resolve_testdir(test: &str, section: &str, testdir: &str) -> String {
    let mut parts: Vec<String> = vec![test.to_owned(), section.to_owned()];
    for component in Path::new(testdir).components() {
        match component {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// Today's date as `YYYYMMDD` (UTC), the `$DATE$` of the assertions.
pub fn today() -> String {
    dtm_at(0, 0)[..8].to_owned()
}

/// Now plus `seconds_ahead`, `years_back` years ago, as an HL7 DTM `YYYYMMDDhhmmss` (UTC).
fn dtm_at(seconds_ahead: i64, years_back: i64) -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let seconds = i64::try_from(seconds).unwrap_or(0) + seconds_ahead;
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{:04}{month:02}{day:02}{:02}{:02}{:02}",
        year - years_back,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The toolkit's time symbols in query files: `$now$` and `$lastyear$`. `$now$` is the next
/// second: times have second precision and a stored query's `...TimeTo` bound is exclusive, so
/// an object registered within the current second would otherwise fall outside "up to now".
fn time_symbols() -> [(String, String); 2] {
    [
        ("$now$".to_owned(), dtm_at(1, 0)),
        ("$lastyear$".to_owned(), dtm_at(0, 1)),
    ]
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Engine {
    /// An engine over the testkit's `tests/` folder.
    pub fn new(tests_dir: PathBuf, target: Target) -> Engine {
        Engine {
            tests_dir,
            target,
            client: reqwest::Client::new(),
            logs: HashMap::new(),
            run: BTreeSet::new(),
            current_patient: None,
            outcomes: Vec::new(),
            submitted: HashMap::new(),
            imaging: None,
            scratch: tempfile::tempdir().ok(),
            awaiting_image_set: BTreeSet::new(),
        }
    }

    /// Whether `step` of an `ids` test retrieves instances of the image set (a RAD-69 or RAD-55
    /// expected to succeed) while none was given: its failure is the missing image set's.
    fn retrieves_image_set(&self, test: &str, step: &TestStep) -> bool {
        self.imaging.is_none()
            && step.expected_status == ExpectedStatus::Success
            && step.transaction.as_ref().is_some_and(|t| {
                matches!(
                    t.kind,
                    TransactionKind::ImagingDocSetRetrieve | TransactionKind::Wado
                )
            })
            && collections_of(&self.tests_dir, test)
                .iter()
                .any(|tag| super::runner::tag_matches(tag, "ids"))
    }

    /// The engine with the `ids` plans' image set and the source that publishes it.
    pub fn with_imaging_fixture(mut self, fixture: ids::ImagingFixture) -> Engine {
        self.imaging = Some(fixture);
        self
    }

    /// A fresh folder for what step `step` of `test/section` keeps.
    fn step_folder(&self, test: &str, section: &str, step: &str) -> Result<PathBuf, String> {
        let scratch = self
            .scratch
            .as_ref()
            .ok_or("harness: no temporary folder for retrieved instances")?;
        let folder = scratch.path().join(test).join(section).join(step);
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("harness: cannot create {}: {e}", folder.display()))?;
        Ok(folder)
    }

    /// Every section outcome so far, fixtures included, in the order run.
    pub fn outcomes(&self) -> &[SectionOutcome] {
        &self.outcomes
    }

    /// Runs a test (after the tests it relies on), unless it already ran.
    pub async fn run_test(&mut self, test: &str) {
        self.run_test_as(test, false).await;
    }

    async fn run_test_as(&mut self, test: &str, fixture: bool) {
        if !self.run.insert(test.to_owned()) {
            return;
        }
        let sections = sections_of(&self.tests_dir, test);
        let mut plans = Vec::new();
        for section in &sections {
            let path = self.tests_dir.join(test).join(section).join("testplan.xml");
            let plan = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|text| TestPlan::parse(&text).map_err(|e| e.to_string()));
            plans.push((section.clone(), plan));
        }
        for dependency in dependencies(test, &plans) {
            if self.tests_dir.join(&dependency).is_dir() {
                Box::pin(self.run_test_as(&dependency, true)).await;
            }
        }
        // Each test runs under its own patient unless it reads one (`UseReport $patientid$`),
        // as the toolkit's operator gives each fixture "a new Patient ID".
        self.current_patient = None;
        for (section, plan) in plans {
            let verdict = match plan {
                Ok(plan) => self.run_section(test, &section, &plan).await,
                Err(reason) => Verdict::Fail { reason },
            };
            self.outcomes.push(SectionOutcome {
                test: test.to_owned(),
                section,
                fixture,
                verdict,
            });
        }
    }

    async fn run_section(&mut self, test: &str, section: &str, plan: &TestPlan) -> Verdict {
        let key = format!("{test}/{section}");
        self.logs.insert(key.clone(), Vec::new());
        let mut not_evaluated = Vec::new();
        for step in &plan.steps {
            if let Some(ms) = step.wait_before_ms {
                tokio::time::sleep(Duration::from_millis(ms.min(5_000))).await;
            }
            match self.run_step(test, section, step, &mut not_evaluated).await {
                Ok(log) => {
                    if let Some(logs) = self.logs.get_mut(&key) {
                        logs.push(log);
                    }
                }
                Err(reason) => {
                    let reason = if self.retrieves_image_set(test, step) {
                        format!(
                            "{}; without it the source answered: {reason}",
                            ids::NEEDS_IMAGE_SET
                        )
                    } else {
                        reason
                    };
                    if reason.starts_with(ids::NEEDS_IMAGE_SET) {
                        self.awaiting_image_set.insert(key);
                    }
                    return Verdict::Fail {
                        reason: format!("step {}: {reason}", step.id),
                    };
                }
            }
        }
        Verdict::Pass { not_evaluated }
    }

    async fn run_step(
        &mut self,
        test: &str,
        section: &str,
        step: &TestStep,
        not_evaluated: &mut Vec<String>,
    ) -> Result<StepLog, String> {
        let mut log = StepLog {
            id: step.id.clone(),
            ..StepLog::default()
        };
        if step.new_patient_id {
            let patient = self.new_patient_id();
            self.feed_patient(&patient).await?;
            self.current_patient = Some(patient);
        }
        let Some(transaction) = &step.transaction else {
            return Ok(log);
        };
        if transaction.kind == TransactionKind::ImgDetail && self.imaging.is_none() {
            return Err(ids::NEEDS_IMAGE_SET.to_owned());
        }
        if let Some(ms) = transaction.wait_before_ms {
            tokio::time::sleep(Duration::from_millis(ms.min(5_000))).await;
        }
        let section_dir = self.tests_dir.join(test).join(section);
        let mut symbols = self.symbols(test, section, transaction)?;
        symbols.extend(time_symbols());
        log.transaction = transaction.kind.element_name().to_owned();
        match &transaction.kind {
            TransactionKind::PatientIdentityFeed => {
                let patient = self.new_patient_id();
                self.feed_patient(&patient).await?;
                log.reports
                    .insert("$patientid$".to_owned(), patient.clone());
                self.current_patient = Some(patient);
                return Ok(log);
            }
            TransactionKind::Register
            | TransactionKind::Update
            | TransactionKind::ProvideAndRegister => {
                let patient = self.submission_patient(step, &symbols).await?;
                symbols.retain(|(symbol, _)| symbol != "$patientid$");
                symbols.push(("$patientid$".to_owned(), patient.clone()));
                log.reports
                    .insert("$patientid$".to_owned(), patient.clone());
                let mut text = read_metadata(&section_dir, transaction)?;
                if transaction.kind == TransactionKind::ProvideAndRegister {
                    text = submit_objects_request_of(&text)?;
                }
                let prepared = metadata::prepare_submission(
                    &metadata::substitute(&text, &symbols),
                    Rewrite {
                        assign_uuids: transaction.assign_uuids,
                        assign_uids: !transaction.no_assign_uids,
                        keep_unique_ids_of: &transaction.keep_unique_ids_of,
                        patient_id: (!transaction.no_patient_id).then_some(patient.as_str()),
                    },
                )
                .map_err(|e| format!("harness: metadata: {e}"))?;
                let registry = self.target.registry_url.clone();
                let response = match &transaction.kind {
                    TransactionKind::Update => {
                        self.soap(&registry, action::UPDATE_DOCUMENT_SET, &prepared.xml)
                            .await?
                    }
                    TransactionKind::ProvideAndRegister => {
                        let (response, sent) = self
                            .provide_and_register(&section_dir, transaction, &prepared)
                            .await?;
                        for (symbol, path) in sent {
                            if let Some(uid) = prepared.assigned_uids.get(&symbol) {
                                let (sha1, size) = wire::digest_file(&path)
                                    .await
                                    .map_err(|e| format!("harness: {e}"))?;
                                self.submitted
                                    .insert(uid.clone(), (path, retrieve::Content { size, sha1 }));
                            }
                        }
                        response
                    }
                    _ => {
                        self.soap(&registry, action::REGISTER_DOCUMENT_SET_B, &prepared.xml)
                            .await?
                    }
                };
                for (symbol, uid) in &prepared.assigned_uids {
                    log.reports.insert(format!("{symbol}_uid"), uid.clone());
                }
                for (symbol, uuid) in &prepared.assigned_uuids {
                    log.reports.insert(format!("{symbol}_uuid"), uuid.clone());
                }
                log.input = prepared.xml;
                log.assigned_uuids = prepared.assigned_uuids;
                log.assigned_uids = prepared.assigned_uids;
                log.assigned_patient_ids = prepared.assigned_patient_ids;
                check_status(step, &response)?;
                log.result = response.xml;
            }
            TransactionKind::StoredQuery => {
                if let Some(patient) = &self.current_patient
                    && !symbols.iter().any(|(s, _)| s == "$patientid$")
                {
                    symbols.push(("$patientid$".to_owned(), patient.clone()));
                }
                if let Some((_, patient)) = symbols.iter().find(|(s, _)| s == "$patientid$") {
                    log.reports
                        .insert("$patientid$".to_owned(), patient.clone());
                }
                let query = request_body(&section_dir, transaction, &symbols)?;
                let registry = self.target.registry_url.clone();
                let response = self
                    .soap(&registry, action::REGISTRY_STORED_QUERY, &query)
                    .await?;
                log.input = query;
                check_status(step, &response)?;
                check_contents(
                    &transaction.expected_contents,
                    &response.body,
                    not_evaluated,
                )?;
                log.result = response.xml;
            }
            TransactionKind::Retrieve => {
                let repository = self.repository_url()?;
                let request = request_body(&section_dir, transaction, &symbols)?;
                let reply = wire::post_plain(
                    &self.client,
                    &repository,
                    action::RETRIEVE_DOCUMENT_SET,
                    &request,
                )
                .await
                .map_err(|e| wire::describe(&e))?;
                let response = read_response(&reply.envelope)?;
                log.input = request;
                check_status(step, &response)?;
                if step.expected_status == ExpectedStatus::Success {
                    self.check_retrieved(
                        test,
                        section,
                        transaction,
                        &symbols,
                        (&response, &reply),
                        not_evaluated,
                    )
                    .await?;
                }
                log.result = response.xml;
                log.attachments = reply.attachments;
            }
            TransactionKind::RemoveDocuments => {
                let repository = self.repository_url()?;
                let request = request_body(&section_dir, transaction, &symbols)?;
                let response = self
                    .soap(&repository, action::REMOVE_DOCUMENTS, &request)
                    .await?;
                log.input = request;
                check_status(step, &response)?;
                log.result = response.xml;
            }
            TransactionKind::RemoveMetadata => {
                let request = request_body(&section_dir, transaction, &symbols)?;
                let registry = self.target.registry_url.clone();
                let response = self
                    .soap(&registry, action::DELETE_DOCUMENT_SET, &request)
                    .await?;
                log.input = request;
                check_status(step, &response)?;
                log.result = response.xml;
            }
            TransactionKind::ImagingDocSetRetrieve => {
                let source = self.target.imaging_source_url.clone().ok_or(
                    "not served: no Imaging Document Source to test (give --imaging-source-url)",
                )?;
                let request = request_body(&section_dir, transaction, &symbols)?;
                let folder = self.step_folder(test, section, &step.id)?;
                let reply = wire::post_plain_keeping(
                    &self.client,
                    &source,
                    action::RETRIEVE_IMAGING_DOCUMENT_SET,
                    &request,
                    Some(&folder),
                )
                .await
                .map_err(|e| wire::describe(&e))?;
                let response = read_response(&reply.envelope)?;
                log.input = request;
                check_status(step, &response)?;
                log.result = response.xml;
                log.retrieved_files = reply
                    .attachments
                    .iter()
                    .filter_map(|a| a.saved.clone())
                    .collect();
                log.attachments = reply.attachments;
            }
            TransactionKind::Wado => {
                let wado =
                    self.target.imaging_wado_url.clone().ok_or(
                        "not served: no WADO-URI endpoint to test (give --imaging-wado-url)",
                    )?;
                let folder = self.step_folder(test, section, &step.id)?;
                let mut answers = Vec::new();
                for query in wado_requests(&section_dir, transaction)? {
                    let kept = folder.join(format!("{}.dcm", answers.len() + 1));
                    let status = wado_get(&self.client, &wado, &query, &kept).await?;
                    if status == 200 {
                        log.retrieved_files.push(kept);
                    }
                    log.http_statuses.push(status);
                    answers.push((query, status));
                }
                check_http_status(step, &answers)?;
                log.input = answers
                    .iter()
                    .map(|(query, _)| describe_query(query))
                    .collect::<Vec<_>>()
                    .join("\n");
                log.result = answers
                    .iter()
                    .map(|(_, status)| status.to_string())
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            TransactionKind::XmlDetail => {
                self.check_processes(test, section, step, &transaction.assertions)?;
            }
            TransactionKind::ImgDetail => {
                let (reports, outcome) = self
                    .check_submission(test, section, &transaction.assertions, &symbols)
                    .await;
                log.reports.extend(reports);
                if let Err(reason) = outcome {
                    // As in the toolkit, what the step reported stays readable by later steps
                    // even when its comparison fails.
                    if let Some(logs) = self.logs.get_mut(&format!("{test}/{section}")) {
                        logs.push(log);
                    }
                    return Err(reason);
                }
            }
            TransactionKind::Null => {}
            TransactionKind::Other(name) => {
                return Err(format!("not served yet: {name} needs {}", actor_of(name)));
            }
        }
        for report in &transaction.reports {
            let source = if report.section == "InputMetadata" {
                &log.input
            } else {
                &log.result
            };
            let value = xpath::string(source, &report.xpath)
                .map_err(|e| format!("harness: Report {}: {e}", report.name))?;
            log.reports.insert(report.name.clone(), value);
        }
        self.check_assertions(test, section, &log, &transaction.assertions, &symbols)?;
        Ok(log)
    }

    /// The `UseId` and `UseReport` substitutions of a transaction.
    fn symbols(
        &self,
        test: &str,
        section: &str,
        transaction: &Transaction,
    ) -> Result<Vec<(String, String)>, String> {
        let mut symbols = Vec::new();
        for use_id in &transaction.use_ids {
            let (source, step) = self.referenced_step(
                test,
                section,
                &StepRef {
                    testdir: use_id.testdir.clone(),
                    step: use_id.step.clone(),
                },
            )?;
            let table = match use_id.section.as_str() {
                "AssignedUuids" => &step.assigned_uuids,
                "AssignedUids" => &step.assigned_uids,
                "AssignedPatientId" => &step.assigned_patient_ids,
                other => return Err(format!("harness: UseId section {other:?} not known")),
            };
            let value = table.get(&use_id.id).ok_or_else(|| {
                format!(
                    "UseId: {source} step {} has no {} for {}",
                    use_id.step, use_id.section, use_id.id
                )
            })?;
            symbols.push((use_id.symbol.clone(), value.clone()));
        }
        for use_report in &transaction.use_reports {
            let source_test = use_report.test.as_deref().unwrap_or(test);
            let source_section = match use_report.section.as_deref() {
                None | Some("THIS") => section,
                Some(other) => other,
            };
            let source = format!("{source_test}/{source_section}");
            let step = self.step_log(&source, &use_report.step)?;
            let value = step.reports.get(&use_report.report_name).ok_or_else(|| {
                format!(
                    "UseReport: {source} step {} reported no {}",
                    use_report.step, use_report.report_name
                )
            })?;
            symbols.push((use_report.use_as.clone(), value.clone()));
        }
        Ok(symbols)
    }

    /// The log of a step named by `testdir` (relative to the section, or as the toolkit also
    /// reads it, to the test) and `step`, with the section it was found in.
    fn referenced_step(
        &self,
        test: &str,
        section: &str,
        reference: &StepRef,
    ) -> Result<(String, &StepLog), String> {
        let Some(dir) = reference.testdir.as_ref().filter(|d| *d != "THIS") else {
            let source = format!("{test}/{section}");
            let log = self.step_log(&source, &reference.step)?;
            return Ok((source, log));
        };
        let from_section = resolve_testdir(test, section, dir);
        let source = if self.logs.contains_key(&from_section) {
            from_section
        } else {
            let from_test = resolve_testdir(test, section, &format!("../{dir}"));
            if self.logs.contains_key(&from_test) {
                from_test
            } else {
                from_section
            }
        };
        let log = self.step_log(&source, &reference.step)?;
        Ok((source, log))
    }

    fn step_log(&self, section: &str, step: &str) -> Result<&StepLog, String> {
        if self.awaiting_image_set.contains(section) {
            return Err(ids::NEEDS_IMAGE_SET.to_owned());
        }
        self.logs
            .get(section)
            .ok_or_else(|| format!("{section} has not run (or failed before logging)"))?
            .iter()
            .find(|log| log.id == step)
            .ok_or_else(|| format!("{section} has no completed step {step}"))
    }

    fn check_assertions(
        &self,
        test: &str,
        section: &str,
        current: &StepLog,
        assertions: &[Assert],
        symbols: &[(String, String)],
    ) -> Result<(), String> {
        let assertions: Vec<&Assert> = assertions.iter().filter(|a| a.process.is_none()).collect();
        if assertions.is_empty() {
            return Ok(());
        }
        let mut log = String::from("<TestResults>");
        let earlier = self
            .logs
            .get(&format!("{test}/{section}"))
            .map(Vec::as_slice)
            .unwrap_or_default();
        for step in earlier.iter().chain(std::iter::once(current)) {
            let transaction = if step.transaction.is_empty() {
                "NullTransaction"
            } else {
                &step.transaction
            };
            let _ = write!(
                log,
                "<TestStep id=\"{}\"><{transaction}><InputMetadata>{}</InputMetadata><Result>{}</Result></{transaction}></TestStep>",
                super::tree::escape(&step.id),
                step.input,
                step.result
            );
        }
        log.push_str("</TestResults>");
        let mut values: Vec<(String, String)> = symbols.to_vec();
        values.push(("$DATE$".to_owned(), today()));
        values.sort_by_key(|(symbol, _)| std::cmp::Reverse(symbol.len()));
        for assert in assertions {
            let expression = values.iter().fold(assert.xpath.clone(), |acc, (s, v)| {
                acc.replace(s.as_str(), v)
            });
            match xpath::boolean(&log, &expression) {
                Ok(true) => {}
                Ok(false) => return Err(format!("assertion {} is false: {expression}", assert.id)),
                Err(e) => return Err(format!("harness: assertion {}: {e}", assert.id)),
            }
        }
        Ok(())
    }

    fn new_patient_id(&self) -> String {
        let serial = uuid::Uuid::new_v4().simple().to_string();
        format!(
            "NIST{}^^^&{}&ISO",
            &serial[..12],
            self.target.affinity_domain
        )
    }

    /// ITI-8 ADT^A01 over MLLP, or ITI-44 when no MLLP address is known.
    async fn feed_patient(&self, patient: &str) -> Result<(), String> {
        let id = patient.split("^^^").next().unwrap_or(patient);
        match self.target.registry_mllp {
            Some(address) => {
                let message = format!(
                    "MSH|^~\\&|NIST_HARNESS|NIST|XDSb_REG|IHE|20240101000000||ADT^A01^ADT_A01|{id}|P|2.3.1\r\
                     EVN||20240101000000\r\
                     PID|||{id}^^^&{domain}&ISO^PI||Harness^Test||19700101|M\r\
                     PV1||O\r",
                    domain = self.target.affinity_domain
                );
                let mut stream = tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(|e| format!("ITI-8: cannot connect to {address}: {e}"))?;
                write_frame(&mut stream, message.as_bytes())
                    .await
                    .map_err(|e| format!("ITI-8: {e}"))?;
                let mut reader = MllpReader::new(stream);
                let ack = tokio::time::timeout(Duration::from_secs(10), reader.next_frame())
                    .await
                    .map_err(|_| "ITI-8: no ACK within 10 s".to_owned())?
                    .map_err(|e| format!("ITI-8: {e}"))?
                    .ok_or("ITI-8: connection closed without ACK")?;
                let ack = String::from_utf8_lossy(&ack);
                if ack.contains("MSA|AA") || ack.contains("MSA|CA") {
                    Ok(())
                } else {
                    Err(format!("ITI-8: feed not accepted: {ack}"))
                }
            }
            None => {
                let body = iti_44_record_added(id, &self.target.affinity_domain);
                let (envelope, _) = soap::write_request_envelope(
                    action::PATIENT_REGISTRY_RECORD_ADDED,
                    &self.target.registry_url,
                    &body,
                );
                let answer = self
                    .post(
                        &self.target.registry_url,
                        action::PATIENT_REGISTRY_RECORD_ADDED,
                        envelope,
                    )
                    .await?;
                if answer.contains("code=\"AA\"") || answer.contains("code=\"CA\"") {
                    Ok(())
                } else {
                    Err(format!("ITI-44: feed not accepted: {answer}"))
                }
            }
        }
    }

    async fn post(&self, url: &str, soap_action: &str, envelope: String) -> Result<String, String> {
        let response = self
            .client
            .post(url)
            .header("content-type", soap::content_type(soap_action))
            .body(envelope)
            .send()
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        response.text().await.map_err(|e| format!("HTTP body: {e}"))
    }

    async fn soap(&self, url: &str, soap_action: &str, body: &str) -> Result<Response, String> {
        let reply = wire::post_plain(&self.client, url, soap_action, body)
            .await
            .map_err(|e| wire::describe(&e))?;
        read_response(&reply.envelope)
    }

    fn repository_url(&self) -> Result<String, String> {
        self.target.repository_url.clone().ok_or_else(|| {
            "not served: no Document Repository to test (give --repository-url)".to_owned()
        })
    }

    /// The patient of a submission: a fresh unfed one (`AltPatientId`), the one reported
    /// (`$patientid$`), the test's current one, or a new one fed now.
    async fn submission_patient(
        &mut self,
        step: &TestStep,
        symbols: &[(String, String)],
    ) -> Result<String, String> {
        if step.alt_patient_id {
            return Ok(self.new_patient_id());
        }
        let reported = symbols
            .iter()
            .find(|(symbol, _)| symbol == "$patientid$")
            .map(|(_, value)| value.clone())
            .or_else(|| self.current_patient.clone());
        let patient = match reported {
            Some(patient) => patient,
            None => {
                let patient = self.new_patient_id();
                self.feed_patient(&patient).await?;
                patient
            }
        };
        self.current_patient = Some(patient.clone());
        Ok(patient)
    }

    /// ITI-41: the prepared SubmitObjectsRequest and each `Document` as an MTOM attachment;
    /// returns the response and the file sent for each symbolic DocumentEntry.
    async fn provide_and_register(
        &self,
        section_dir: &Path,
        transaction: &Transaction,
        prepared: &metadata::Prepared,
    ) -> Result<(Response, Vec<(String, PathBuf)>), String> {
        let repository = self.repository_url()?;
        let submission =
            Element::parse(&prepared.xml).map_err(|e| format!("harness: metadata: {e}"))?;
        let mut body = format!(
            "<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb=\"{}\">{}",
            schemas::ihe::NS_XDSB,
            prepared.xml
        );
        let mut documents = Vec::new();
        let mut sent = Vec::new();
        for (symbol, file) in &transaction.documents {
            let id = prepared.assigned_uuids.get(symbol).unwrap_or(symbol);
            let mut mime_type = None;
            submission.walk(&mut |e| {
                if e.name == "ExtrinsicObject" && e.attribute("id") == Some(id.as_str()) {
                    mime_type = e.attribute("mimeType").map(str::to_owned);
                }
            });
            let content_id = schemas::mtom::content_id();
            let _ = write!(
                body,
                "<xdsb:Document id=\"{}\">{}</xdsb:Document>",
                super::tree::escape(id),
                schemas::mtom::xop_include(&content_id)
            );
            let path = resolve_file(section_dir, file);
            sent.push((symbol.clone(), path.clone()));
            documents.push(wire::OutgoingDocument {
                content_id,
                mime_type: mime_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                path,
            });
        }
        body.push_str("</xdsb:ProvideAndRegisterDocumentSetRequest>");
        let reply = wire::post_mtom(
            &self.client,
            &repository,
            action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
            &body,
            &documents,
        )
        .await
        .map_err(|e| wire::describe(&e))?;
        Ok((read_response(&reply.envelope)?, sent))
    }

    /// ITI-43 `ReferenceDocument`s and `ReferenceMetadata` of a successful retrieve.
    async fn check_retrieved(
        &self,
        test: &str,
        section: &str,
        transaction: &Transaction,
        symbols: &[(String, String)],
        (response, reply): (&Response, &wire::SoapReply),
        not_evaluated: &mut Vec<String>,
    ) -> Result<(), String> {
        let responses = retrieve::document_responses(&response.body, &reply.attachments);
        let section_dir = self.tests_dir.join(test).join(section);
        for reference in &transaction.reference_documents {
            let unique_id = metadata::substitute(&reference.unique_id, symbols);
            let path = resolve_file(&section_dir, &reference.file);
            // A plan may name a file other than the one its submit step sent (12029 submits
            // readme.txt and references my_document.pdf): the document must come back as sent.
            let expected = match self.submitted.get(&unique_id) {
                Some((sent, content)) if *sent != path => {
                    not_evaluated.push(format!(
                        "ReferenceDocument {} (not the file submitted; compared with {})",
                        reference.file,
                        sent.file_name().unwrap_or_default().to_string_lossy()
                    ));
                    content.clone()
                }
                _ => {
                    let (sha1, size) = wire::digest_file(&path)
                        .await
                        .map_err(|e| format!("harness: ReferenceDocument: {e}"))?;
                    retrieve::Content { size, sha1 }
                }
            };
            retrieve::check_reference_document(&responses, &unique_id, &expected)?;
        }
        if let Some(reference) = &transaction.reference_metadata {
            let (_, log) = self.referenced_step(test, section, reference)?;
            let result = Element::parse(&log.result)
                .map_err(|e| format!("harness: ReferenceMetadata result: {e}"))?;
            retrieve::check_reference_metadata(&responses, &retrieve::entry_facts(&result))?;
        }
        Ok(())
    }

    /// `XmlDetailTransaction`: the toolkit's named checks on an earlier step's response.
    fn check_processes(
        &self,
        test: &str,
        section: &str,
        step: &TestStep,
        assertions: &[Assert],
    ) -> Result<(), String> {
        for assert in assertions {
            let Some(process) = &assert.process else {
                continue;
            };
            let tested_log = || -> Result<&StepLog, String> {
                let reference = assert.test_response.as_ref().ok_or_else(|| {
                    format!("harness: assertion {} names no TestResponse", assert.id)
                })?;
                Ok(self.referenced_step(test, section, reference)?.1)
            };
            let tested = || -> Result<(Element, &StepLog), String> {
                let log = tested_log()?;
                let response = Element::parse(&log.result)
                    .map_err(|e| format!("harness: response of {}: {e}", log.id))?;
                Ok((response, log))
            };
            let standard = || {
                step.standard_response
                    .as_deref()
                    .ok_or("harness: no Standard ResponseBody")
                    .and_then(|xml| Element::parse(xml).map_err(|_| "harness: Standard is not XML"))
            };
            match process.as_str() {
                "sameRetImgs" => {
                    let (response, log) = tested()?;
                    retrieve::check_same_as_standard(&standard()?, &response, &log.attachments)?;
                }
                "registryErrorListNotEmpty" => {
                    retrieve::check_registry_errors_present(&tested()?.0)?;
                }
                "matchHomeCommunityIds" => {
                    retrieve::check_home_community_ids(&standard()?, &tested()?.0)?;
                }
                "sameDcmImgs" => {
                    let fixture = self.imaging.as_ref().ok_or(ids::NEEDS_IMAGE_SET)?;
                    let returned = match &assert.test_response {
                        Some(_) => tested_log()?.retrieved_files.clone(),
                        None => self.retrieved_in(test, section, assert.test_dir.as_deref())?,
                    };
                    let failures = same_images(fixture, assert, &returned)?;
                    if !failures.is_empty() {
                        return Err(format!(
                            "assertion {} (sameDcmImgs): {}",
                            assert.id,
                            failures.join("; ")
                        ));
                    }
                }
                "sameWADOResp" => {
                    let statuses = &tested_log()?.http_statuses;
                    check_http_codes(&step.standard_http_codes, statuses)
                        .map_err(|e| format!("assertion {} (sameWADOResp): {e}", assert.id))?;
                }
                other => {
                    if assert.test_response.is_some() {
                        tested()?;
                    }
                    return Err(format!(
                        "harness: assertion {} uses process {other:?}, not implemented",
                        assert.id
                    ));
                }
            }
        }
        Ok(())
    }

    /// Instances kept by the steps of the section `testdir` names (`TestDir testDir`), or of this
    /// section.
    fn retrieved_in(
        &self,
        test: &str,
        section: &str,
        testdir: Option<&str>,
    ) -> Result<Vec<PathBuf>, String> {
        let source = match testdir {
            Some(dir) => resolve_testdir(test, section, dir),
            None => format!("{test}/{section}"),
        };
        let logs = self
            .logs
            .get(&source)
            .ok_or_else(|| format!("{source} has not run (or failed before logging)"))?;
        Ok(logs
            .iter()
            .flat_map(|l| l.retrieved_files.iter().cloned())
            .collect())
    }

    /// `ImgDetailTransaction`: `sameKOSDcm` and `sameKOSMetadata` on the RAD-68 submission
    /// received for the `SimReference` patient (published from the image set first if none was).
    /// Returns what the step reports (`SOPInstanceUID` of the submitted manifest) and the outcome.
    async fn check_submission(
        &self,
        test: &str,
        section: &str,
        assertions: &[Assert],
        symbols: &[(String, String)],
    ) -> (Vec<(String, String)>, Result<(), String>) {
        let mut reports = Vec::new();
        let outcome = self
            .check_submission_asserts(test, section, assertions, symbols, &mut reports)
            .await;
        (reports, outcome)
    }

    async fn check_submission_asserts(
        &self,
        test: &str,
        section: &str,
        assertions: &[Assert],
        symbols: &[(String, String)],
        reports: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        let section_dir = self.tests_dir.join(test).join(section);
        for assert in assertions {
            let Some(process) = &assert.process else {
                continue;
            };
            let fixture = self.imaging.as_ref().ok_or(ids::NEEDS_IMAGE_SET)?;
            let patient = assert.sim_reference_pid.as_deref().ok_or_else(|| {
                format!("harness: assertion {} has no SimReference pid", assert.id)
            })?;
            let standard_file = resolve_file(&section_dir, assert.xpath.trim());
            let failures = match process.as_str() {
                "sameKOSDcm" => {
                    let submission = self.submission_of(fixture, patient, &standard_file).await?;
                    let kept = self
                        .step_folder(test, section, "submission")?
                        .join("manifest.dcm");
                    std::fs::write(&kept, &submission.manifest)
                        .map_err(|e| format!("harness: cannot keep the manifest: {e}"))?;
                    let submitted = open_dicom(&kept, "the submitted manifest")?;
                    let standard = open_dicom(&standard_file, "the standard manifest")?;
                    reports.push((
                        "SOPInstanceUID".to_owned(),
                        kos::text(&submitted, dicom_dictionary_std::tags::SOP_INSTANCE_UID)
                            .unwrap_or_default(),
                    ));
                    kos::same_kos(&submitted, &standard)
                }
                "sameKOSMetadata" => {
                    let standard_kos = dcm_images::files_in(&section_dir)?
                        .into_iter()
                        .find(|p| p.extension().is_some_and(|e| e == "dcm"))
                        .ok_or_else(|| {
                            format!("harness: {section} has no standard manifest (*.dcm)")
                        })?;
                    let submission = self.submission_of(fixture, patient, &standard_kos).await?;
                    let siuid = symbols
                        .iter()
                        .find(|(symbol, _)| symbol == "siuid")
                        .map(|(_, value)| value.as_str())
                        .ok_or("harness: no siuid (the UseReport of the sameKOSDcm step)")?;
                    let text = std::fs::read_to_string(&standard_file).map_err(|e| {
                        format!("harness: cannot read {}: {e}", standard_file.display())
                    })?;
                    let standard = Element::parse(&text)
                        .map_err(|e| format!("harness: {}: {e}", standard_file.display()))?;
                    kos_metadata::same_kos_metadata(&submission.request, &standard, siuid)
                }
                other => {
                    return Err(format!(
                        "harness: assertion {} uses process {other:?}, not implemented",
                        assert.id
                    ));
                }
            };
            if !failures.is_empty() {
                return Err(format!(
                    "assertion {} ({process}): {}",
                    assert.id,
                    failures.join("; ")
                ));
            }
        }
        Ok(())
    }

    /// The RAD-68 submission the simulator received for `patient`; when none yet, the study the
    /// standard manifest names is published from the image set under `patient` (the test's
    /// mapping of the manifest's DICOM Patient ID), after feeding `patient` to the registry.
    async fn submission_of(
        &self,
        fixture: &ids::ImagingFixture,
        patient: &str,
        standard_kos: &Path,
    ) -> Result<ids::Submission, String> {
        if let Some(submission) = fixture.simulator.submission_for(patient).await? {
            return Ok(submission);
        }
        let standard = open_dicom(standard_kos, "the standard manifest")?;
        let field = |tag, name: &str| {
            kos::text(&standard, tag)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("harness: {} has no {name}", standard_kos.display()))
        };
        let study_uid = field(
            dicom_dictionary_std::tags::STUDY_INSTANCE_UID,
            "Study Instance UID",
        )?;
        let local_patient = field(dicom_dictionary_std::tags::PATIENT_ID, "Patient ID")?;
        self.feed_patient(patient).await?;
        fixture.publish(patient, &study_uid, &local_patient).await?;
        fixture
            .simulator
            .submission_for(patient)
            .await?
            .ok_or_else(|| {
                format!("study {study_uid} was published but no RAD-68 for {patient} was received")
            })
    }
}

/// A DICOM file's data set (up to Pixel Data).
fn open_dicom(path: &Path, what: &str) -> Result<dicom_object::InMemDicomObject, String> {
    dicom_object::OpenFileOptions::new()
        .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
        .open_file(path)
        .map(dicom_object::FileDicomObject::into_inner)
        .map_err(|e| format!("{what} ({}) is not a DICOM file: {e}", path.display()))
}

/// `sameDcmImgs` of `returned` against the assertion's `StdDir`s of the image set.
fn same_images(
    fixture: &ids::ImagingFixture,
    assert: &Assert,
    returned: &[PathBuf],
) -> Result<Vec<String>, String> {
    let compared = assert
        .tag_list
        .iter()
        .map(|(name, hex)| dcm_images::compared_of(name, hex.as_deref()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("harness: assertion {}: {e}", assert.id))?;
    let mut standard_files = Vec::new();
    for dir in &assert.std_dirs {
        standard_files.extend(fixture.image_set.standard_images(dir)?);
    }
    let returned = dcm_images::read_instances(returned, &compared)?;
    let standard = dcm_images::read_instances(&standard_files, &compared)?;
    Ok(dcm_images::same_images(&returned, &standard, &compared))
}

/// `sameWADOResp`: the status of RAD-55 request n (from 1) is the code of the last
/// `Transactions` whose `id` names n (`3`, `1,4-6`), else of `*`, else 200.
fn check_http_codes(codes: &[(String, String)], statuses: &[u16]) -> Result<(), String> {
    let mut default = 200u16;
    let mut by_request: BTreeMap<usize, u16> = BTreeMap::new();
    for (ids, code) in codes {
        let code: u16 = code
            .trim()
            .parse()
            .map_err(|_| format!("harness: HttpResponseCodes code {code:?} is not a number"))?;
        for id in ids.split(',').map(str::trim) {
            let number = |n: &str| {
                n.trim().parse::<usize>().map_err(|_| {
                    format!("harness: HttpResponseCodes id {ids:?} is not n, n-m or *")
                })
            };
            match id.split_once('-') {
                _ if id == "*" => default = code,
                Some((first, last)) => {
                    for n in number(first)?..=number(last)? {
                        by_request.insert(n, code);
                    }
                }
                None => {
                    by_request.insert(number(id)?, code);
                }
            }
        }
    }
    if statuses.is_empty() {
        return Err("no RAD-55 request was made".to_owned());
    }
    let wrong: Vec<String> = statuses
        .iter()
        .enumerate()
        .filter_map(|(index, status)| {
            let expected = by_request.get(&(index + 1)).copied().unwrap_or(default);
            (*status != expected)
                .then(|| format!("request {}: HTTP {status}, expected {expected}", index + 1))
        })
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

/// RAD-55: one WADO-URI GET; a 200 body is streamed into `keep` (the toolkit keeps it too).
async fn wado_get(
    client: &reqwest::Client,
    wado: &str,
    query: &[(String, String)],
    keep: &Path,
) -> Result<u16, String> {
    use futures::StreamExt as _;
    use tokio::io::AsyncWriteExt as _;
    let response = client
        .get(wado)
        .query(query)
        .send()
        .await
        .map_err(|e| format!("RAD-55 GET {wado}: {e}"))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Ok(status);
    }
    let cannot = |e: std::io::Error| format!("harness: cannot keep {}: {e}", keep.display());
    let mut file = tokio::fs::File::create(keep).await.map_err(cannot)?;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("RAD-55 GET {wado}: {e}"))?;
        file.write_all(&chunk).await.map_err(cannot)?;
    }
    file.flush().await.map_err(cannot)?;
    Ok(status)
}

/// Tests that the sections of `test` read ids or reports from.
fn dependencies(test: &str, plans: &[(String, Result<TestPlan, String>)]) -> Vec<String> {
    let mut found = BTreeSet::new();
    for (section, plan) in plans {
        let Ok(plan) = plan else { continue };
        for transaction in plan.steps.iter().filter_map(|s| s.transaction.as_ref()) {
            for use_report in &transaction.use_reports {
                if let Some(other) = &use_report.test {
                    found.insert(other.clone());
                }
            }
            for use_id in &transaction.use_ids {
                if let Some(dir) = &use_id.testdir {
                    let target = resolve_testdir(test, section, dir);
                    if let Some(other) = target.split('/').next() {
                        found.insert(other.to_owned());
                    }
                }
            }
        }
    }
    found.remove(test);
    found.into_iter().collect()
}

fn actor_of(transaction: &str) -> &'static str {
    match transaction {
        "XcaiTransaction" => "an Initiating Imaging Gateway, which the broker does not implement",
        _ => "a transaction the harness does not know",
    }
}

/// The SubmitObjectsRequest of an ITI-41 metadata file: the file itself, or the one inside a
/// whole `ProvideAndRegisterDocumentSetRequest` (its `Document`s come from the plan).
fn submit_objects_request_of(text: &str) -> Result<String, String> {
    let root = Element::parse(text).map_err(|e| format!("harness: metadata: {e}"))?;
    if root.name != "ProvideAndRegisterDocumentSetRequest" {
        return Ok(text.to_owned());
    }
    root.elements()
        .find(|e| e.name == "SubmitObjectsRequest")
        .map(Element::to_xml)
        .ok_or_else(|| {
            "harness: ProvideAndRegisterDocumentSetRequest without SubmitObjectsRequest".to_owned()
        })
}

/// The query strings of a RAD-55 step: `requestType=WADO`, the plan's `Parameters`, one
/// `studyUID`/`seriesUID`/`objectUID` triple per `UIDFile` line (one request when there is no
/// file), and `contentType=application/dicom`.
fn wado_requests(
    section_dir: &Path,
    transaction: &Transaction,
) -> Result<Vec<Vec<(String, String)>>, String> {
    let with_common = |uids: Vec<(String, String)>| {
        let mut query = vec![("requestType".to_owned(), "WADO".to_owned())];
        query.extend(transaction.wado_parameters.iter().cloned());
        query.extend(uids);
        query.push(("contentType".to_owned(), "application/dicom".to_owned()));
        query
    };
    let Some(file) = &transaction.uid_file else {
        return Ok(vec![with_common(Vec::new())]);
    };
    let path = resolve_file(section_dir, file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("harness: UIDFile {}: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| match line.split(':').collect::<Vec<_>>()[..] {
            [study, series, object] => Ok(with_common(vec![
                ("studyUID".to_owned(), study.to_owned()),
                ("seriesUID".to_owned(), series.to_owned()),
                ("objectUID".to_owned(), object.to_owned()),
            ])),
            _ => Err(format!(
                "harness: UIDFile line {line:?} is not study:series:instance"
            )),
        })
        .collect()
}

fn describe_query(query: &[(String, String)]) -> String {
    query
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RAD-55 answers against `ExpectedStatus` (every answer 200, or none 2xx) and
/// `ExpectedErrorCode` (the HTTP status of every answer).
fn check_http_status(
    step: &TestStep,
    answers: &[(Vec<(String, String)>, u16)],
) -> Result<(), String> {
    for (query, status) in answers {
        let fits = match step.expected_status {
            ExpectedStatus::Success => *status == 200,
            ExpectedStatus::Failure | ExpectedStatus::PartialSuccess => {
                !(200..300).contains(status)
                    && step
                        .expected_error_codes
                        .iter()
                        .all(|code| code == &status.to_string())
            }
        };
        if !fits {
            let expected = match step.expected_status {
                ExpectedStatus::Success => "200".to_owned(),
                _ if step.expected_error_codes.is_empty() => "an HTTP error".to_owned(),
                _ => step.expected_error_codes.join(" or "),
            };
            return Err(format!(
                "expected HTTP {expected}, got {status} for {}",
                describe_query(query)
            ));
        }
    }
    Ok(())
}

/// A file a plan names: relative to the section folder or, as the toolkit also reads it, to the
/// test folder.
fn resolve_file(section_dir: &Path, file: &str) -> PathBuf {
    let in_section = section_dir.join(file);
    let found = match section_dir.parent() {
        Some(test_dir) if !in_section.exists() => {
            let in_test = test_dir.join(file);
            if in_test.exists() {
                in_test
            } else {
                in_section
            }
        }
        _ => in_section,
    };
    std::fs::canonicalize(&found).unwrap_or(found)
}

/// The `MetadataFile` of a request with symbols replaced, re-serialised.
fn request_body(
    section_dir: &Path,
    transaction: &Transaction,
    symbols: &[(String, String)],
) -> Result<String, String> {
    let text = read_metadata(section_dir, transaction)?;
    let text = metadata::substitute(&text, symbols);
    Ok(Element::parse(&text)
        .map_err(|e| {
            format!(
                "harness: {}: {e}",
                transaction.metadata_file.as_deref().unwrap_or_default()
            )
        })?
        .to_xml())
}

fn read_metadata(section_dir: &Path, transaction: &Transaction) -> Result<String, String> {
    let file = transaction
        .metadata_file
        .as_deref()
        .ok_or("harness: transaction names no MetadataFile")?;
    let path = resolve_file(section_dir, file);
    std::fs::read_to_string(&path)
        .map_err(|e| format!("harness: cannot read {}: {e}", path.display()))
}

/// Reads the SOAP response: the first element of `env:Body`, its status and RegistryErrors.
fn read_response(text: &str) -> Result<Response, String> {
    let document = roxmltree::Document::parse(text)
        .map_err(|e| format!("response is not XML ({e}): {}", truncate(text)))?;
    let body = document
        .descendants()
        .find(|n| n.has_tag_name((soap::SOAP12_NS, "Body")))
        .and_then(|b| b.children().find(roxmltree::Node::is_element))
        .ok_or_else(|| format!("response has no SOAP 1.2 Body element: {}", truncate(text)))?;
    if body.tag_name().name() == "Fault" {
        let reason: String = body
            .descendants()
            .filter(|n| n.has_tag_name("Text"))
            .filter_map(|n| n.text())
            .collect();
        return Err(format!("SOAP Fault: {reason}"));
    }
    let status = body
        .attribute("status")
        .or_else(|| {
            body.descendants()
                .find(|n| n.tag_name().name() == "RegistryResponse")
                .and_then(|n| n.attribute("status"))
        })
        .unwrap_or_default()
        .to_owned();
    let errors = body
        .descendants()
        .filter(|n| n.tag_name().name() == "RegistryError")
        .map(|n| {
            (
                n.attribute("errorCode").unwrap_or_default().to_owned(),
                n.attribute("codeContext").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = Element::from_node(body);
    let xml = body.to_xml();
    Ok(Response {
        status,
        errors,
        body,
        xml,
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

fn describe_errors(errors: &[(String, String)]) -> String {
    if errors.is_empty() {
        return "no RegistryError".to_owned();
    }
    errors
        .iter()
        .map(|(code, context)| format!("{code} ({})", truncate(context)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `ExpectedStatus`, `ExpectedErrorMessage` and `ExpectedErrorCode`.
fn check_status(step: &TestStep, response: &Response) -> Result<(), String> {
    let got = response
        .status
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let expected = match step.expected_status {
        ExpectedStatus::Success => "Success",
        ExpectedStatus::Failure => "Failure",
        ExpectedStatus::PartialSuccess => "PartialSuccess",
    };
    if got != expected {
        return Err(format!(
            "expected status {expected}, got {got}: {}",
            describe_errors(&response.errors)
        ));
    }
    for message in &step.expected_error_messages {
        if !response.errors.iter().any(|(code, context)| {
            code.contains(message.as_str()) || context.contains(message.as_str())
        }) {
            return Err(format!(
                "expected error {message}, got {}",
                describe_errors(&response.errors)
            ));
        }
    }
    for expected_code in &step.expected_error_codes {
        if !response
            .errors
            .iter()
            .any(|(code, _)| code == expected_code)
        {
            return Err(format!(
                "expected errorCode {expected_code}, got {}",
                describe_errors(&response.errors)
            ));
        }
    }
    Ok(())
}

/// The objects of an AdhocQueryResponse, sorted by kind.
#[derive(Default)]
struct Contents<'a> {
    documents: Vec<&'a Element>,
    object_refs: usize,
    submission_sets: Vec<&'a Element>,
    folders: Vec<&'a Element>,
    associations: Vec<&'a Element>,
}

fn classify(response: &Element) -> Contents<'_> {
    let mut contents = Contents::default();
    let Some(list) = response.elements().find(|e| e.name == "RegistryObjectList") else {
        return contents;
    };
    let mut nodes: Vec<(String, String)> = Vec::new();
    list.walk(&mut |e| {
        if e.name == "Classification"
            && let (Some(object), Some(node)) = (
                e.attribute("classifiedObject"),
                e.attribute("classificationNode"),
            )
        {
            nodes.push((object.to_owned(), node.to_owned()));
        }
    });
    let has = |package: &Element, node: &str, uid_scheme: &str| {
        let id = package.attribute("id").unwrap_or_default();
        nodes.iter().any(|(o, n)| o == id && n == node)
            || package
                .elements()
                .any(|c| c.attribute("identificationScheme") == Some(uid_scheme))
    };
    for object in list.elements() {
        match object.name.as_str() {
            "ExtrinsicObject" => contents.documents.push(object),
            "ObjectRef" => contents.object_refs += 1,
            "Association" => contents.associations.push(object),
            "RegistryPackage" => {
                if has(
                    object,
                    classification_node::SUBMISSION_SET,
                    identification_scheme::SUBMISSION_SET_UNIQUE_ID,
                ) {
                    contents.submission_sets.push(object);
                } else if has(
                    object,
                    classification_node::FOLDER,
                    identification_scheme::FOLDER_UNIQUE_ID,
                ) {
                    contents.folders.push(object);
                }
            }
            _ => {}
        }
    }
    contents
}

/// `ExpectedContents`: counts and the shapes the toolkit names.
fn check_contents(
    expected: &[ExpectedContent],
    response: &Element,
    not_evaluated: &mut Vec<String>,
) -> Result<(), String> {
    let contents = classify(response);
    let counts = [
        ("Documents", contents.documents.len()),
        ("ObjectRefs", contents.object_refs),
        ("SubmissionSets", contents.submission_sets.len()),
        ("Folders", contents.folders.len()),
        ("Associations", contents.associations.len()),
    ];
    let count_of = |name: &str| counts.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
    // Every object has the status: vacuously true without objects, as the toolkit reads it
    // (30006 expects `Documents count="0"` together with `DocApp`).
    let all_status = |objects: &[&Element], wanted: &str| {
        objects
            .iter()
            .all(|o| o.attribute("status") == Some(wanted))
    };
    let shape = |ss: usize, docs: usize, folders: usize| {
        contents.submission_sets.len() == ss
            && contents.documents.len() == docs
            && contents.folders.len() == folders
    };
    let summary = || {
        counts
            .iter()
            .map(|(n, c)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for item in expected {
        let ok = match (item.name.as_str(), item.count) {
            (name, Some(count)) if count_of(name).is_some() => count_of(name) == Some(count),
            ("None", _) => counts.iter().all(|(_, c)| *c == 0),
            ("SSwithOneDoc", _) => shape(1, 1, 0),
            ("SSwithTwoDoc", _) => shape(1, 2, 0),
            ("SSwithOneDocOneFol", _) => shape(1, 1, 1),
            ("SSwithTwoDocOneFol", _) => shape(1, 2, 1),
            ("SSwithOneFol", _) => shape(1, 0, 1),
            ("DocApp", _) => all_status(&contents.documents, status::APPROVED),
            ("DocDep", _) => all_status(&contents.documents, status::DEPRECATED),
            ("OneDocApp", _) => {
                contents.documents.len() == 1 && all_status(&contents.documents, status::APPROVED)
            }
            ("OneDocDep", _) => {
                contents.documents.len() == 1 && all_status(&contents.documents, status::DEPRECATED)
            }
            ("FolApp", _) => all_status(&contents.folders, status::APPROVED),
            ("SSApproved", _) => all_status(&contents.submission_sets, status::APPROVED),
            (name, _) if name.starts_with("Has") => {
                let wanted = format!(":{}", &name[3..]);
                contents.associations.iter().any(|a| {
                    a.attribute("associationType")
                        .is_some_and(|t| t.ends_with(&wanted))
                })
            }
            (other, _) => {
                not_evaluated.push(format!("ExpectedContents/{other}"));
                true
            }
        };
        if !ok {
            let wanted = item
                .count
                .map_or_else(|| item.name.clone(), |c| format!("{c} {}", item.name));
            return Err(format!(
                "ExpectedContents: wanted {wanted}, got {}",
                summary()
            ));
        }
    }
    Ok(())
}

fn iti_44_record_added(id: &str, domain: &str) -> String {
    format!(
        r#"<PRPA_IN201301UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root="1.2.3" extension="{id}"/><creationTime value="20240101000000"/><interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201301UV02"/><processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/><receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.4"/></device></receiver><sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.5"/></device></sender><controlActProcess classCode="CACT" moodCode="EVN"><subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN"><statusCode code="active"/><subject1 typeCode="SBJ"><patient classCode="PAT"><id root="{domain}" extension="{id}"/><statusCode code="active"/><patientPerson><name><given>Test</given><family>Harness</family></name></patientPerson></patient></subject1></registrationEvent></subject></controlActProcess></PRPA_IN201301UV02>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testdir_resolves_relative_to_the_section() {
        assert_eq!(
            resolve_testdir("11897", "approved", "../../12346/single_doc"),
            "12346/single_doc"
        );
        assert_eq!(
            resolve_testdir("11990", "eval", "../submit"),
            "11990/submit"
        );
    }

    #[test]
    fn civil_date_of_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    fn step(expected: ExpectedStatus, messages: &[&str], codes: &[&str]) -> TestStep {
        TestStep {
            id: "s".to_owned(),
            expected_status: expected,
            expected_error_messages: messages.iter().map(|s| (*s).to_owned()).collect(),
            expected_error_codes: codes.iter().map(|s| (*s).to_owned()).collect(),
            alt_patient_id: false,
            new_patient_id: false,
            wait_before_ms: None,
            standard_response: None,
            standard_http_codes: Vec::new(),
            transaction: None,
        }
    }

    fn response(status: &str, errors: &[(&str, &str)]) -> Response {
        let body = Element::new(None, "RegistryResponse");
        Response {
            status: format!("urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:{status}"),
            errors: errors
                .iter()
                .map(|(c, x)| ((*c).to_owned(), (*x).to_owned()))
                .collect(),
            xml: body.to_xml(),
            body,
        }
    }

    #[test]
    fn expected_status_must_match() {
        assert!(
            check_status(
                &step(ExpectedStatus::Success, &[], &[]),
                &response("Success", &[])
            )
            .is_ok()
        );
        let error = check_status(
            &step(ExpectedStatus::Failure, &[], &[]),
            &response("Success", &[]),
        )
        .unwrap_err();
        assert!(
            error.contains("expected status Failure, got Success"),
            "{error}"
        );
    }

    #[test]
    fn expected_error_message_matches_code_or_context() {
        let failed = response(
            "Failure",
            &[("XDSRegistryMetadataError", "XDSPatientIdDoesNotMatch: x")],
        );
        assert!(
            check_status(
                &step(ExpectedStatus::Failure, &["XDSPatientIdDoesNotMatch"], &[]),
                &failed
            )
            .is_ok()
        );
        assert!(
            check_status(
                &step(ExpectedStatus::Failure, &["XDSUnknownPatientId"], &[]),
                &failed
            )
            .is_err()
        );
    }

    #[test]
    fn expected_error_code_must_be_exact() {
        let failed = response(
            "Failure",
            &[("XDSRegistryMetadataError", "XDSResultNotSinglePatient")],
        );
        assert!(
            check_status(
                &step(ExpectedStatus::Failure, &[], &["XDSResultNotSinglePatient"]),
                &failed
            )
            .is_err()
        );
    }

    const ANSWER: &str = r#"<query:AdhocQueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>
      <rim:ExtrinsicObject id="d1" status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"/>
      <rim:RegistryPackage id="ss"/><rim:Classification id="c" classifiedObject="ss" classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>
      <rim:RegistryPackage id="f"><rim:ExternalIdentifier id="e" registryObject="f" identificationScheme="urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a" value="1.2"/></rim:RegistryPackage>
      <rim:Association id="a" associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" sourceObject="ss" targetObject="d1"/>
    </rim:RegistryObjectList></query:AdhocQueryResponse>"#;

    fn expect(name: &str, count: Option<usize>) -> Vec<ExpectedContent> {
        vec![ExpectedContent {
            name: name.to_owned(),
            count,
        }]
    }

    #[test]
    fn expected_contents_counts_each_kind() {
        let answer = Element::parse(ANSWER).unwrap();
        let mut notes = Vec::new();
        for (name, count) in [
            ("Documents", 1),
            ("SubmissionSets", 1),
            ("Folders", 1),
            ("Associations", 1),
            ("ObjectRefs", 0),
        ] {
            assert!(
                check_contents(&expect(name, Some(count)), &answer, &mut notes).is_ok(),
                "{name}"
            );
        }
        let error = check_contents(&expect("Documents", Some(5)), &answer, &mut notes).unwrap_err();
        assert!(
            error.contains("wanted 5 Documents, got 1 Documents"),
            "{error}"
        );
        assert!(check_contents(&expect("DocApp", None), &answer, &mut notes).is_ok());
        assert!(check_contents(&expect("DocDep", None), &answer, &mut notes).is_err());
        let empty = Element::parse("<r><RegistryObjectList/></r>").unwrap();
        assert!(check_contents(&expect("DocApp", None), &empty, &mut notes).is_ok());
        assert!(check_contents(&expect("OneDocApp", None), &answer, &mut notes).is_ok());
        assert!(check_contents(&expect("OneDocDep", None), &answer, &mut notes).is_err());
        assert!(check_contents(&expect("OneDocApp", None), &empty, &mut notes).is_err());
        assert!(check_contents(&expect("SSwithOneDocOneFol", None), &answer, &mut notes).is_ok());
        assert!(check_contents(&expect("None", None), &answer, &mut notes).is_err());
        assert!(check_contents(&expect("HasHasMember", None), &answer, &mut notes).is_ok());
        assert!(check_contents(&expect("HasXFRM_RPLC", None), &answer, &mut notes).is_err());
        assert!(notes.is_empty());
    }

    #[test]
    fn an_unknown_expectation_is_reported_not_evaluated() {
        let answer = Element::parse(ANSWER).unwrap();
        let mut notes = Vec::new();
        assert!(check_contents(&expect("MustOnlyInclude", None), &answer, &mut notes).is_ok());
        assert_eq!(notes, ["ExpectedContents/MustOnlyInclude"]);
    }

    fn wado_answer(status: u16) -> (Vec<(String, String)>, u16) {
        (vec![("objectUID".to_owned(), "1.2.3".to_owned())], status)
    }

    #[test]
    fn a_rad_55_success_needs_http_200_for_every_request() {
        let success = step(ExpectedStatus::Success, &[], &[]);
        assert!(check_http_status(&success, &[wado_answer(200)]).is_ok());
        let error = check_http_status(&success, &[wado_answer(200), wado_answer(404)]).unwrap_err();
        assert_eq!(error, "expected HTTP 200, got 404 for objectUID=1.2.3");
    }

    #[test]
    fn a_rad_55_expected_error_code_is_the_exact_http_status() {
        let not_found = step(ExpectedStatus::Failure, &[], &["404"]);
        assert!(check_http_status(&not_found, &[wado_answer(404)]).is_ok());
        let error = check_http_status(&not_found, &[wado_answer(400)]).unwrap_err();
        assert_eq!(error, "expected HTTP 404, got 400 for objectUID=1.2.3");
        let any_error = step(ExpectedStatus::Failure, &[], &[]);
        assert!(check_http_status(&any_error, &[wado_answer(200)]).is_err());
    }

    #[test]
    fn a_rad_55_uid_file_gives_one_request_per_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("images.txt"), "1.1:1.2:1.3\n2.1:2.2:2.3\n").unwrap();
        let plan = super::super::plan::TestPlan::parse(
            "<TestPlan><TestStep id=\"s\"><WADOTransaction><Parameters></Parameters>\
             <UIDFile>images.txt</UIDFile></WADOTransaction></TestStep></TestPlan>",
        )
        .unwrap();
        let transaction = plan.steps[0].transaction.clone().unwrap();
        let requests = wado_requests(dir.path(), &transaction).unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            describe_query(&requests[1]),
            "requestType=WADO&studyUID=2.1&seriesUID=2.2&objectUID=2.3&contentType=application/dicom"
        );
    }

    /// A testkit of one test with the given sections (`name`, testplan.xml).
    fn testkit(sections: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let test = dir.path().join("ids_t");
        let names: Vec<&str> = sections.iter().map(|(name, _)| *name).collect();
        std::fs::create_dir_all(&test).unwrap();
        std::fs::write(test.join("index.idx"), names.join("\n")).unwrap();
        std::fs::write(test.join("collections.txt"), "ids(xds-i)").unwrap();
        for (name, plan) in sections {
            std::fs::create_dir_all(test.join(name)).unwrap();
            std::fs::write(test.join(name).join("testplan.xml"), plan).unwrap();
        }
        dir
    }

    fn unreachable_target() -> Target {
        Target {
            registry_url: "http://127.0.0.1:9/".to_owned(),
            registry_mllp: None,
            affinity_domain: "1.2.3".to_owned(),
            repository_url: None,
            imaging_source_url: None,
            imaging_wado_url: None,
        }
    }

    async fn reasons(sections: &[(&str, &str)]) -> Vec<String> {
        let dir = testkit(sections);
        let mut engine = Engine::new(dir.path().to_path_buf(), unreachable_target());
        engine.run_test("ids_t").await;
        engine
            .outcomes()
            .iter()
            .map(|o| match &o.verdict {
                Verdict::Fail { reason } => reason.clone(),
                Verdict::Pass { .. } => "pass".to_owned(),
            })
            .collect()
    }

    #[tokio::test]
    async fn kos_checks_without_the_image_set_fail_for_that_reason_only() {
        let kos = r#"<TestPlan><TestStep id="ValidateKOS"><ImgDetailTransaction><Assertions>
            <Assert id="a" process="sameKOSDcm"><SimReference id="rr" actor="rep" transaction="prb" pid="P^^^&amp;1.2&amp;ISO"/>kos-evaluate.dcm</Assert>
            </Assertions></ImgDetailTransaction></TestStep></TestPlan>"#;
        let metadata = r#"<TestPlan><TestStep id="ValidateMetadata"><ImgDetailTransaction>
            <UseReport section="ValidateKOS" step="ValidateKOS" reportName="SOPInstanceUID" useAs="siuid"/>
            <Assertions><Assert id="m" process="sameKOSMetadata"><SimReference pid="P^^^&amp;1.2&amp;ISO"/>metadata-evaluate.xml</Assert>
            </Assertions></ImgDetailTransaction></TestStep></TestPlan>"#;
        let expected = format!("step ValidateKOS: {}", ids::NEEDS_IMAGE_SET);
        assert_eq!(
            reasons(&[("ValidateKOS", kos), ("ValidateMetadata", metadata)]).await,
            [
                expected,
                format!("step ValidateMetadata: {}", ids::NEEDS_IMAGE_SET)
            ]
        );
    }

    #[tokio::test]
    async fn image_comparisons_without_the_image_set_fail_for_that_reason_only() {
        let images = r#"<TestPlan><TestStep id="ValidateReturnedImages"><XmlDetailTransaction><Assertions>
            <Assert id="i" process="sameDcmImgs"><TestResponse testDir="../Rad69RetrieveRequest" step="Rad69RetrieveRequest"/>
            <TagList><SOPInstanceUID/></TagList><DirList><StdDir>2018/C3L-00277/images</StdDir></DirList></Assert>
            </Assertions></XmlDetailTransaction></TestStep></TestPlan>"#;
        assert_eq!(
            reasons(&[("ValidateReturnedImages", images)]).await,
            [format!(
                "step ValidateReturnedImages: {}",
                ids::NEEDS_IMAGE_SET
            )]
        );
    }

    #[tokio::test]
    async fn a_retrieve_of_the_image_set_and_what_reads_it_fail_for_the_missing_image_set() {
        let retrieve = r#"<TestPlan><TestStep id="Rad69RetrieveRequest"><ExpectedStatus>Success</ExpectedStatus>
            <ImagingDocSetRetrieveTransaction><MetadataFile>rad69-request.xml</MetadataFile></ImagingDocSetRetrieveTransaction></TestStep></TestPlan>"#;
        let validate = r#"<TestPlan><TestStep id="ValidateRad69Response"><Standard><ResponseBody><R/></ResponseBody></Standard>
            <XmlDetailTransaction><Assertions><Assert id="r" process="sameRetImgs">
            <TestResponse testDir="../Rad69RetrieveRequest" step="Rad69RetrieveRequest"/></Assert></Assertions>
            </XmlDetailTransaction></TestStep></TestPlan>"#;
        let reasons = reasons(&[
            ("Rad69RetrieveRequest", retrieve),
            ("ValidateRad69Response", validate),
        ])
        .await;
        assert!(
            reasons[0].starts_with(&format!(
                "step Rad69RetrieveRequest: {}; without it the source answered: ",
                ids::NEEDS_IMAGE_SET
            )),
            "{reasons:?}"
        );
        assert_eq!(
            reasons[1],
            format!("step ValidateRad69Response: {}", ids::NEEDS_IMAGE_SET)
        );
    }

    #[test]
    fn same_wado_resp_expects_200_unless_the_standard_says_otherwise() {
        assert!(check_http_codes(&[], &[200, 200]).is_ok());
        assert_eq!(
            check_http_codes(&[], &[200, 404]).unwrap_err(),
            "request 2: HTTP 404, expected 200"
        );
        let codes = [
            ("*".to_owned(), "404".to_owned()),
            ("2,4-5".to_owned(), "200".to_owned()),
        ];
        assert!(check_http_codes(&codes, &[404, 200, 404, 200, 200]).is_ok());
        assert_eq!(
            check_http_codes(&codes, &[404, 200, 404, 404, 200]).unwrap_err(),
            "request 4: HTTP 404, expected 200"
        );
        assert!(check_http_codes(&[], &[]).is_err());
    }
}
