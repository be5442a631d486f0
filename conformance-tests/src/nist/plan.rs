//! Reading a NIST testkit `testplan.xml`: its `TestStep`s, each with the expected outcome and
//! one transaction element with its instructions.

use super::tree::Element;

/// Why a test plan could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("testplan.xml is not well-formed: {0}")]
    Parse(#[from] roxmltree::Error),
    #[error("TestStep {step}: {problem}")]
    Step { step: String, problem: String },
}

/// A test plan: its steps in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPlan {
    pub steps: Vec<TestStep>,
}

/// `ExpectedStatus` of a step (the RegistryResponse status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedStatus {
    Success,
    Failure,
    PartialSuccess,
}

/// One `TestStep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestStep {
    pub id: String,
    pub expected_status: ExpectedStatus,
    /// `ExpectedErrorMessage`: an error whose code or context contains the text.
    pub expected_error_messages: Vec<String>,
    /// `ExpectedErrorCode`: an error with exactly this code.
    pub expected_error_codes: Vec<String>,
    /// `AltPatientId`: submit under a patient id the registry was never fed.
    pub alt_patient_id: bool,
    /// `NewPatientId`: a step that only resets the patient id.
    pub new_patient_id: bool,
    /// `WaitBefore` in milliseconds.
    pub wait_before_ms: Option<u64>,
    /// `Standard/ResponseBody`: the response a later `XmlDetailTransaction` compares with.
    pub standard_response: Option<String>,
    /// `Standard/HttpResponseCodes/Transactions id code` (`sameWADOResp`): the HTTP status
    /// expected of RAD-55 requests `id` (`*`, `3`, `1,4-6`), as written.
    pub standard_http_codes: Vec<(String, String)>,
    pub transaction: Option<Transaction>,
}

/// The transaction element of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionKind {
    /// ITI-42 Register Document Set-b.
    Register,
    /// ITI-18 Registry Stored Query.
    StoredQuery,
    /// ITI-8 / ITI-44 patient identity feed.
    PatientIdentityFeed,
    /// ITI-41 Provide and Register Document Set-b.
    ProvideAndRegister,
    /// ITI-43 Retrieve Document Set.
    Retrieve,
    /// ITI-86 Remove Documents (`RdTransaction`).
    RemoveDocuments,
    /// ITI-57 Update Document Set (`MuTransaction`).
    Update,
    /// ITI-62 Delete Document Set (`RemoveMetadataTransaction`).
    RemoveMetadata,
    /// RAD-69 Retrieve Imaging Document Set.
    ImagingDocSetRetrieve,
    /// RAD-55 WADO Retrieve (`WADOTransaction`): WADO-URI GETs of single instances.
    Wado,
    /// Checks on an earlier step's response against the step's `Standard` (`XmlDetailTransaction`).
    XmlDetail,
    /// Checks on what an Imaging Document Source submitted (RAD-68) (`ImgDetailTransaction`).
    ImgDetail,
    /// Assertions on earlier results only.
    Null,
    /// Any other transaction, by element name.
    Other(String),
}

impl TransactionKind {
    /// The test plan element (`RegisterTransaction`, `MuTransaction`, ...), as the log names it.
    pub fn element_name(&self) -> &str {
        match self {
            TransactionKind::Register => "RegisterTransaction",
            TransactionKind::StoredQuery => "StoredQueryTransaction",
            TransactionKind::PatientIdentityFeed => "PatientIdentityFeedTransaction",
            TransactionKind::ProvideAndRegister => "ProvideAndRegisterTransaction",
            TransactionKind::Retrieve => "RetrieveTransaction",
            TransactionKind::RemoveDocuments => "RdTransaction",
            TransactionKind::Update => "MuTransaction",
            TransactionKind::RemoveMetadata => "RemoveMetadataTransaction",
            TransactionKind::ImagingDocSetRetrieve => "ImagingDocSetRetrieveTransaction",
            TransactionKind::Wado => "WADOTransaction",
            TransactionKind::XmlDetail => "XmlDetailTransaction",
            TransactionKind::ImgDetail => "ImgDetailTransaction",
            TransactionKind::Null => "NullTransaction",
            TransactionKind::Other(name) => name,
        }
    }
}

/// `UseId`: replace `symbol` by the id recorded for object `id` in another step's log section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseId {
    pub testdir: Option<String>,
    pub id: String,
    pub symbol: String,
    pub step: String,
    /// `AssignedUuids`, `AssignedUids` or `AssignedPatientId`.
    pub section: String,
}

/// `UseReport`: replace `use_as` by a value another step reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseReport {
    pub test: Option<String>,
    pub section: Option<String>,
    pub step: String,
    pub report_name: String,
    pub use_as: String,
}

/// `Report`: record the value of an XPath over the input metadata or the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub name: String,
    /// `InputMetadata` or `Result`.
    pub section: String,
    pub xpath: String,
}

/// One `ExpectedContents` child, e.g. `<Documents count="5"/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedContent {
    pub name: String,
    pub count: Option<usize>,
}

/// One `Assertions/Assert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assert {
    pub id: String,
    pub xpath: String,
    /// `process`: a named toolkit check (`sameRetImgs`, `sameKOSDcm`, ...) instead of an XPath.
    pub process: Option<String>,
    /// `TestResponse testDir step`: the earlier step whose response the process checks.
    pub test_response: Option<StepRef>,
    /// `SimReference pid`: the patient whose RAD-68 submission the process checks.
    pub sim_reference_pid: Option<String>,
    /// `TagList` children (`sameDcmImgs`): element name and `hex` attribute.
    pub tag_list: Vec<(String, Option<String>)>,
    /// `DirList/StdDir`s (`sameDcmImgs`): folders of standard images in the image set.
    pub std_dirs: Vec<String>,
    /// `DirList/TestDir testDir`: the section whose retrieved images are checked.
    pub test_dir: Option<String>,
}

/// A step of another section (`testdir` relative to the current section) or of this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRef {
    pub testdir: Option<String>,
    pub step: String,
}

/// `ReferenceDocument uid="..."`: the file a retrieved document must equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceDocument {
    pub unique_id: String,
    pub file: String,
}

/// A transaction and its instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub kind: TransactionKind,
    pub metadata_file: Option<String>,
    pub assign_uuids: bool,
    /// `NoAssignUids` without `id`: keep every uniqueId as written.
    pub no_assign_uids: bool,
    /// `NoAssignUids id="..."`: keep the uniqueId of these symbolic objects as written.
    pub keep_unique_ids_of: Vec<String>,
    /// `NoPatientId`: keep patient ids as written.
    pub no_patient_id: bool,
    /// `WaitBefore` inside the transaction, in milliseconds.
    pub wait_before_ms: Option<u64>,
    pub use_ids: Vec<UseId>,
    pub use_reports: Vec<UseReport>,
    pub reports: Vec<Report>,
    pub expected_contents: Vec<ExpectedContent>,
    pub assertions: Vec<Assert>,
    /// `Document id="Document01"`: symbolic id of a DocumentEntry → file sent as its content.
    pub documents: Vec<(String, String)>,
    /// `ReferenceDocument`s a retrieved document is compared with.
    pub reference_documents: Vec<ReferenceDocument>,
    /// `ReferenceMetadata`: the query step whose DocumentEntries describe retrieved documents.
    pub reference_metadata: Option<StepRef>,
    /// `Parameters` of a RAD-55 request: `name=value` lines (`studyUID=`, ...), in order.
    pub wado_parameters: Vec<(String, String)>,
    /// `UIDFile` of a RAD-55 step: `study:series:instance` lines, one request each.
    pub uid_file: Option<String>,
}

impl TestPlan {
    /// Reads a `testplan.xml`.
    pub fn parse(xml: &str) -> Result<TestPlan, PlanError> {
        let document = roxmltree::Document::parse(xml)?;
        let steps = document
            .root_element()
            .children()
            .filter(|n| n.has_tag_name("TestStep"))
            .map(read_step)
            .collect::<Result<_, _>>()?;
        Ok(TestPlan { steps })
    }
}

/// The children of an `Assert`'s `DirList`.
fn dir_list<'a, 'input>(
    assert: roxmltree::Node<'a, 'input>,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    assert
        .children()
        .filter(|l| l.has_tag_name("DirList"))
        .flat_map(|l| l.children().filter(roxmltree::Node::is_element))
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.text().unwrap_or_default().trim().to_owned()
}

fn read_step(node: roxmltree::Node<'_, '_>) -> Result<TestStep, PlanError> {
    let id = node.attribute("id").unwrap_or_default().to_owned();
    let mut step = TestStep {
        id: id.clone(),
        expected_status: ExpectedStatus::Success,
        expected_error_messages: Vec::new(),
        expected_error_codes: Vec::new(),
        alt_patient_id: false,
        new_patient_id: false,
        wait_before_ms: None,
        standard_response: None,
        standard_http_codes: Vec::new(),
        transaction: None,
    };
    for child in node.children().filter(roxmltree::Node::is_element) {
        match child.tag_name().name() {
            "ExpectedStatus" => {
                step.expected_status = match text_of(child).as_str() {
                    "Success" => ExpectedStatus::Success,
                    "Failure" => ExpectedStatus::Failure,
                    "PartialSuccess" => ExpectedStatus::PartialSuccess,
                    other => {
                        return Err(PlanError::Step {
                            step: id,
                            problem: format!("unknown ExpectedStatus {other:?}"),
                        });
                    }
                }
            }
            "ExpectedErrorMessage" => step.expected_error_messages.push(text_of(child)),
            "ExpectedErrorCode" => step.expected_error_codes.push(text_of(child)),
            "AltPatientId" => step.alt_patient_id = true,
            "NewPatientId" => step.new_patient_id = true,
            "WaitBefore" => step.wait_before_ms = text_of(child).parse().ok(),
            "Standard" => {
                step.standard_http_codes = child
                    .children()
                    .filter(|c| c.has_tag_name("HttpResponseCodes"))
                    .flat_map(|c| c.children().filter(|t| t.has_tag_name("Transactions")))
                    .map(|t| {
                        (
                            t.attribute("id").unwrap_or_default().to_owned(),
                            t.attribute("code").unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                step.standard_response = child
                    .children()
                    .find(|c| c.has_tag_name("ResponseBody"))
                    .and_then(|body| body.children().find(roxmltree::Node::is_element))
                    .map(|response| Element::from_node(response).to_xml());
            }
            "Rule" | "Goal" => {}
            name if name.ends_with("Transaction") => {
                step.transaction = Some(read_transaction(child))
            }
            _ => {}
        }
    }
    Ok(step)
}

fn read_transaction(node: roxmltree::Node<'_, '_>) -> Transaction {
    let kind = match node.tag_name().name() {
        "RegisterTransaction" => TransactionKind::Register,
        "StoredQueryTransaction" => TransactionKind::StoredQuery,
        "PatientIdentityFeedTransaction" => TransactionKind::PatientIdentityFeed,
        "ProvideAndRegisterTransaction" => TransactionKind::ProvideAndRegister,
        "RetrieveTransaction" => TransactionKind::Retrieve,
        "RdTransaction" => TransactionKind::RemoveDocuments,
        "MuTransaction" => TransactionKind::Update,
        "RemoveMetadataTransaction" => TransactionKind::RemoveMetadata,
        "ImagingDocSetRetrieveTransaction" => TransactionKind::ImagingDocSetRetrieve,
        "WADOTransaction" => TransactionKind::Wado,
        "XmlDetailTransaction" => TransactionKind::XmlDetail,
        "ImgDetailTransaction" => TransactionKind::ImgDetail,
        "NullTransaction" => TransactionKind::Null,
        other => TransactionKind::Other(other.to_owned()),
    };
    let mut transaction = Transaction {
        kind,
        metadata_file: None,
        assign_uuids: false,
        no_assign_uids: false,
        keep_unique_ids_of: Vec::new(),
        wait_before_ms: None,
        no_patient_id: false,
        use_ids: Vec::new(),
        use_reports: Vec::new(),
        reports: Vec::new(),
        expected_contents: Vec::new(),
        assertions: Vec::new(),
        documents: Vec::new(),
        reference_documents: Vec::new(),
        reference_metadata: None,
        wado_parameters: Vec::new(),
        uid_file: None,
    };
    let attr = |n: roxmltree::Node<'_, '_>, name: &str| n.attribute(name).map(str::to_owned);
    for child in node.children().filter(roxmltree::Node::is_element) {
        match child.tag_name().name() {
            "MetadataFile" => transaction.metadata_file = Some(text_of(child)),
            "UIDFile" => transaction.uid_file = Some(text_of(child)),
            "Parameters" => {
                transaction.wado_parameters = text_of(child)
                    .lines()
                    .filter_map(|line| line.trim().split_once('='))
                    .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
                    .collect();
            }
            "AssignUuids" => transaction.assign_uuids = true,
            "NoAssignUids" | "NoAssignUniqueIds" => match child.attribute("id") {
                Some(id) => transaction.keep_unique_ids_of.push(id.to_owned()),
                None => transaction.no_assign_uids = true,
            },
            "WaitBefore" => transaction.wait_before_ms = text_of(child).parse().ok(),
            "NoPatientId" => transaction.no_patient_id = true,
            "UseId" => transaction.use_ids.push(UseId {
                testdir: attr(child, "testdir"),
                id: attr(child, "id").unwrap_or_default(),
                symbol: attr(child, "symbol").unwrap_or_default(),
                step: attr(child, "step").unwrap_or_default(),
                section: attr(child, "section").unwrap_or_default(),
            }),
            "UseReport" => transaction.use_reports.push(UseReport {
                test: attr(child, "test"),
                section: attr(child, "section"),
                step: attr(child, "step").unwrap_or_default(),
                report_name: attr(child, "reportName").unwrap_or_default(),
                use_as: attr(child, "useAs").unwrap_or_default(),
            }),
            "Report" => transaction.reports.push(Report {
                name: attr(child, "name").unwrap_or_default(),
                section: attr(child, "section").unwrap_or_default(),
                xpath: text_of(child),
            }),
            "ExpectedContents" => {
                transaction.expected_contents = child
                    .children()
                    .filter(roxmltree::Node::is_element)
                    .map(|c| ExpectedContent {
                        name: c.tag_name().name().to_owned(),
                        count: c.attribute("count").and_then(|v| v.trim().parse().ok()),
                    })
                    .collect();
            }
            "Assertions" => {
                transaction.assertions = child
                    .children()
                    .filter(|c| c.has_tag_name("Assert"))
                    .map(|c| Assert {
                        id: attr(c, "id").unwrap_or_default(),
                        xpath: c
                            .children()
                            .filter(roxmltree::Node::is_text)
                            .filter_map(|t| t.text())
                            .collect::<String>()
                            .trim()
                            .to_owned(),
                        process: attr(c, "process"),
                        test_response: c.children().find(|r| r.has_tag_name("TestResponse")).map(
                            |r| StepRef {
                                testdir: attr(r, "testDir"),
                                step: attr(r, "step").unwrap_or_default(),
                            },
                        ),
                        sim_reference_pid: c
                            .children()
                            .find(|r| r.has_tag_name("SimReference"))
                            .and_then(|r| attr(r, "pid")),
                        tag_list: c
                            .children()
                            .filter(|l| l.has_tag_name("TagList"))
                            .flat_map(|l| l.children().filter(roxmltree::Node::is_element))
                            .map(|t| (t.tag_name().name().to_owned(), attr(t, "hex")))
                            .collect(),
                        std_dirs: dir_list(c)
                            .filter(|d| d.has_tag_name("StdDir"))
                            .map(text_of)
                            .collect(),
                        test_dir: dir_list(c)
                            .find(|d| d.has_tag_name("TestDir"))
                            .and_then(|d| attr(d, "testDir")),
                    })
                    .collect();
            }
            "Document" => transaction
                .documents
                .push((attr(child, "id").unwrap_or_default(), text_of(child))),
            "ReferenceDocument" => transaction.reference_documents.push(ReferenceDocument {
                unique_id: attr(child, "uid").unwrap_or_default(),
                file: text_of(child),
            }),
            "ReferenceMetadata" => {
                transaction.reference_metadata = Some(StepRef {
                    testdir: attr(child, "testdir"),
                    step: attr(child, "step").unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    transaction
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"<TestPlan><Test>11996/submit</Test>
      <TestStep id="submit">
        <ExpectedStatus>Failure</ExpectedStatus>
        <ExpectedErrorMessage>XDSUnknownPatientId</ExpectedErrorMessage>
        <AltPatientId/>
        <RegisterTransaction>
          <XDSb/><AssignUuids/><NoPatientId/><NoAssignUids id="Document01"/><WaitBefore>40</WaitBefore>
          <UseReport reportName="$patientid$" test="15817" section="pif" step="step" useAs="$patientid$"/>
          <UseId testdir="../../12346/single_doc" id="SubmissionSet01" symbol="$patient_id$" step="submit_doc" section="AssignedPatientId"/>
          <MetadataFile>metadata.xml</MetadataFile>
          <Report name="ssuid" section="InputMetadata">//x/@value</Report>
          <ExpectedContents><Documents count="5"/><SSwithOneDoc/></ExpectedContents>
          <Assertions><DataRef file="THIS" as="output"/><Assert id="a"> count(//x) = 1 </Assert></Assertions>
        </RegisterTransaction>
      </TestStep></TestPlan>"#;

    #[test]
    fn a_step_reads_its_expectations_and_instructions() {
        let plan = TestPlan::parse(PLAN).unwrap();
        let step = &plan.steps[0];
        assert_eq!(step.expected_status, ExpectedStatus::Failure);
        assert_eq!(step.expected_error_messages, ["XDSUnknownPatientId"]);
        assert!(step.alt_patient_id);
        let transaction = step.transaction.as_ref().unwrap();
        assert_eq!(transaction.kind, TransactionKind::Register);
        assert!(transaction.assign_uuids && transaction.no_patient_id);
        assert_eq!(transaction.metadata_file.as_deref(), Some("metadata.xml"));
        assert_eq!(transaction.keep_unique_ids_of, ["Document01"]);
        assert!(!transaction.no_assign_uids);
        assert_eq!(transaction.wait_before_ms, Some(40));
        assert_eq!(transaction.use_reports[0].test.as_deref(), Some("15817"));
        assert_eq!(transaction.use_ids[0].section, "AssignedPatientId");
        assert_eq!(transaction.reports[0].xpath, "//x/@value");
        assert_eq!(transaction.expected_contents[0].count, Some(5));
        assert_eq!(transaction.expected_contents[1].count, None);
        assert_eq!(transaction.assertions[0].xpath, "count(//x) = 1");
    }

    #[test]
    fn an_unknown_expected_status_is_refused() {
        let plan = "<TestPlan><TestStep id=\"s\"><ExpectedStatus>Maybe</ExpectedStatus></TestStep></TestPlan>";
        assert!(matches!(TestPlan::parse(plan), Err(PlanError::Step { .. })));
    }

    #[test]
    fn a_transaction_the_harness_does_not_know_is_named() {
        let plan = "<TestPlan><TestStep id=\"s\"><XcaiTransaction/></TestStep></TestPlan>";
        let step = &TestPlan::parse(plan).unwrap().steps[0];
        assert_eq!(
            step.transaction.as_ref().unwrap().kind,
            TransactionKind::Other("XcaiTransaction".to_owned())
        );
    }

    #[test]
    fn a_wado_step_keeps_its_parameters_and_uid_file() {
        let plan = "<TestPlan><TestStep id=\"s\"><ExpectedErrorCode>404</ExpectedErrorCode><WADOTransaction>\
            <Parameters>\n studyUID=\n seriesUID=1.2\n </Parameters><UIDFile>images.txt</UIDFile>\
            </WADOTransaction></TestStep></TestPlan>";
        let step = &TestPlan::parse(plan).unwrap().steps[0];
        let transaction = step.transaction.as_ref().unwrap();
        assert_eq!(transaction.kind, TransactionKind::Wado);
        assert_eq!(
            transaction.wado_parameters,
            [
                ("studyUID".to_owned(), String::new()),
                ("seriesUID".to_owned(), "1.2".to_owned())
            ]
        );
        assert_eq!(transaction.uid_file.as_deref(), Some("images.txt"));
        assert_eq!(step.expected_error_codes, ["404"]);
    }

    const PNR_AND_RETRIEVE: &str = r#"<TestPlan>
      <TestStep id="submit"><ProvideAndRegisterTransaction><XDSb/><MetadataFile>m.xml</MetadataFile>
        <Document id="Document01">my_document.txt</Document></ProvideAndRegisterTransaction></TestStep>
      <TestStep id="retrieve"><RetrieveTransaction><MetadataFile>q.xml</MetadataFile>
        <ReferenceMetadata testdir="../query" step="by_uid"/>
        <ReferenceDocument uid="$docuid1$">submit/my_document.txt</ReferenceDocument></RetrieveTransaction></TestStep>
      <TestStep id="check">
        <Standard><ResponseBody><x:R xmlns:x="urn:x" status="s"/></ResponseBody></Standard>
        <XmlDetailTransaction><Assertions><Assert id="a" process="sameRetImgs">
          <TestResponse testDir="../r" step="r"/></Assert></Assertions></XmlDetailTransaction></TestStep>
    </TestPlan>"#;

    #[test]
    fn provide_and_register_names_its_documents() {
        let plan = TestPlan::parse(PNR_AND_RETRIEVE).unwrap();
        let submit = plan.steps[0].transaction.as_ref().unwrap();
        assert_eq!(submit.kind, TransactionKind::ProvideAndRegister);
        assert_eq!(
            submit.documents,
            [("Document01".to_owned(), "my_document.txt".to_owned())]
        );
    }

    #[test]
    fn retrieve_reads_its_reference_document_and_metadata() {
        let plan = TestPlan::parse(PNR_AND_RETRIEVE).unwrap();
        let retrieve = plan.steps[1].transaction.as_ref().unwrap();
        assert_eq!(retrieve.kind, TransactionKind::Retrieve);
        assert_eq!(retrieve.reference_documents[0].unique_id, "$docuid1$");
        assert_eq!(
            retrieve.reference_documents[0].file,
            "submit/my_document.txt"
        );
        let reference = retrieve.reference_metadata.as_ref().unwrap();
        assert_eq!(reference.testdir.as_deref(), Some("../query"));
        assert_eq!(reference.step, "by_uid");
    }

    #[test]
    fn xml_detail_reads_the_standard_and_the_process() {
        let plan = TestPlan::parse(PNR_AND_RETRIEVE).unwrap();
        let step = &plan.steps[2];
        assert!(
            step.standard_response
                .as_deref()
                .unwrap()
                .contains("status=\"s\"")
        );
        let assert = &step.transaction.as_ref().unwrap().assertions[0];
        assert_eq!(assert.process.as_deref(), Some("sameRetImgs"));
        assert_eq!(assert.xpath, "");
        assert_eq!(assert.test_response.as_ref().unwrap().step, "r");
    }
}
