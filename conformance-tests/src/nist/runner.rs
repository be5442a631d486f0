//! The `nist` command: selecting tests by collection or id, leaving out the excluded ones,
//! running them against the in-process registry and repository (or given URLs), and summarising
//! per collection.

use std::path::{Path, PathBuf};

use super::engine::{Engine, SectionOutcome, Target, Verdict, collections_of};
use super::ids::{ImageSet, ImagingFixture};

/// The sections of `expected` that belong to `tests` (to check one collection's expected passes).
pub fn expected_among(expected: &[String], tests: &[String]) -> Vec<String> {
    expected
        .iter()
        .filter(|name| {
            name.split_once('/')
                .is_some_and(|(test, _)| tests.iter().any(|t| t == test))
        })
        .cloned()
        .collect()
}

/// A test deliberately not run, with the reason (a line `ID: reason` of nist-excluded.txt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    pub test: String,
    pub reason: String,
}

/// Why the excluded list is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ListError {
    #[error("line {line}: {text:?} is not `ID: reason` (a reason is required)")]
    MissingReason { line: usize, text: String },
}

/// The tests deliberately not supported (`conformance-tests/nist-excluded.txt`).
pub const EXCLUDED: &str = include_str!("../../nist-excluded.txt");
/// Test sections that pass now (`conformance-tests/nist-expected-pass.txt`); the list only grows.
pub const EXPECTED_PASS: &str = include_str!("../../nist-expected-pass.txt");

/// Reads an excluded list: `ID: reason` lines, `#` comments and blank lines ignored.
pub fn parse_excluded(text: &str) -> Result<Vec<Excluded>, ListError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((test, reason)) if !test.trim().is_empty() && !reason.trim().is_empty() => {
                out.push(Excluded {
                    test: test.trim().to_owned(),
                    reason: reason.trim().to_owned(),
                });
            }
            _ => {
                return Err(ListError::MissingReason {
                    line: index + 1,
                    text: line.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// The section names (`test/section`) of an expected-pass list.
pub fn parse_expected_pass(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The collections in scope: the actor options the broker implements (registry, metadata update,
/// remove metadata, repository, remove documents, imaging document source).
pub const SCOPE: [&str; 6] = ["reg", "reg_mu", "reg_rm", "rep", "rep_rd", "ids"];

/// Whether a collections.txt tag belongs to the collection `name`: the tag itself, or the tag
/// with its profile (`ids` is `ids(xds-i)`). A tag starting with `#` is commented out in the
/// toolkit and belongs to no collection.
pub fn tag_matches(tag: &str, name: &str) -> bool {
    tag == name
        || tag
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('(') && rest.ends_with(')'))
}

/// Whether `test` is tagged with the collection `name`.
pub fn in_collection(tests_dir: &Path, test: &str, name: &str) -> bool {
    collections_of(tests_dir, test)
        .iter()
        .any(|tag| tag_matches(tag, name))
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Collection names (`reg`, `rep`); every test tagged with one of them.
    pub collections: Vec<String>,
    /// Explicit test ids.
    pub tests: Vec<String>,
}

/// Tests of the selection, sorted, and the excluded ones among them.
pub fn select(
    tests_dir: &Path,
    selection: &Selection,
    excluded: &[Excluded],
) -> std::io::Result<(Vec<String>, Vec<Excluded>)> {
    let mut chosen: Vec<String> = selection.tests.clone();
    if !selection.collections.is_empty() {
        for entry in std::fs::read_dir(tests_dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if selection
                .collections
                .iter()
                .any(|c| in_collection(tests_dir, &name, c))
            {
                chosen.push(name);
            }
        }
    }
    chosen.sort();
    chosen.dedup();
    let (left_out, run): (Vec<String>, Vec<String>) = chosen
        .into_iter()
        .partition(|t| excluded.iter().any(|e| &e.test == t));
    let left_out = excluded
        .iter()
        .filter(|e| left_out.contains(&e.test))
        .cloned()
        .collect();
    Ok((run, left_out))
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Every section run, fixtures included.
    pub outcomes: Vec<SectionOutcome>,
    pub excluded: Vec<Excluded>,
}

impl RunReport {
    /// One line per section: `PASS 11990/submit`, `FAIL 11996/submit: reason`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .outcomes
            .iter()
            .map(|o| {
                let fixture = if o.fixture { " (fixture)" } else { "" };
                match &o.verdict {
                    Verdict::Pass { not_evaluated } if not_evaluated.is_empty() => {
                        format!("PASS {}{fixture}", o.name())
                    }
                    Verdict::Pass { not_evaluated } => format!(
                        "PASS {}{fixture} (not evaluated: {})",
                        o.name(),
                        not_evaluated.join(", ")
                    ),
                    Verdict::Fail { reason } => format!("FAIL {}{fixture}: {reason}", o.name()),
                }
            })
            .collect();
        lines.extend(
            self.excluded
                .iter()
                .map(|e| format!("EXCLUDED {}: {}", e.test, e.reason)),
        );
        lines
    }

    /// `N passed, M failed` (`, K excluded` when any).
    pub fn summary(&self) -> String {
        let passed = self
            .outcomes
            .iter()
            .filter(|o| matches!(o.verdict, Verdict::Pass { .. }))
            .count();
        let failed = self.outcomes.len() - passed;
        let mut line = format!("{passed} passed, {failed} failed");
        if !self.excluded.is_empty() {
            line.push_str(&format!(", {} excluded", self.excluded.len()));
        }
        line
    }

    /// One line per collection: `rep: 20 passed, 3 failed, 0 excluded` (sections; excluded tests),
    /// then one for the fixtures in none of them (tests others rely on, e.g. the patient feed).
    pub fn collection_table(&self, tests_dir: &Path, collections: &[String]) -> Vec<String> {
        let (mut fixtures_passed, mut fixtures_failed) = (0, 0);
        for outcome in &self.outcomes {
            if collections
                .iter()
                .any(|c| in_collection(tests_dir, &outcome.test, c))
            {
                continue;
            }
            match outcome.verdict {
                Verdict::Pass { .. } => fixtures_passed += 1,
                Verdict::Fail { .. } => fixtures_failed += 1,
            }
        }
        let fixtures = (fixtures_passed + fixtures_failed > 0).then(|| {
            format!(
                "fixtures outside these collections: {fixtures_passed} passed, {fixtures_failed} failed"
            )
        });
        collections
            .iter()
            .map(|name| {
                let (mut passed, mut failed) = (0, 0);
                for outcome in &self.outcomes {
                    if !in_collection(tests_dir, &outcome.test, name) {
                        continue;
                    }
                    match outcome.verdict {
                        Verdict::Pass { .. } => passed += 1,
                        Verdict::Fail { .. } => failed += 1,
                    }
                }
                let excluded = self
                    .excluded
                    .iter()
                    .filter(|e| in_collection(tests_dir, &e.test, name))
                    .count();
                format!("{name}: {passed} passed, {failed} failed, {excluded} excluded")
            })
            .chain(fixtures)
            .collect()
    }

    /// Sections of `expected` that did not pass (a regression), with what happened.
    pub fn regressions(&self, expected: &[String]) -> Vec<String> {
        expected
            .iter()
            .filter_map(
                |name| match self.outcomes.iter().find(|o| &o.name() == name) {
                    Some(SectionOutcome {
                        verdict: Verdict::Pass { .. },
                        ..
                    }) => None,
                    Some(SectionOutcome {
                        verdict: Verdict::Fail { reason },
                        ..
                    }) => Some(format!("{name}: {reason}")),
                    None => Some(format!("{name}: not run")),
                },
            )
            .collect()
    }
}

/// Runs `tests` against `target` (the `ids` plans with the image set and its publisher, when
/// given).
pub async fn run(
    tests_dir: PathBuf,
    target: Target,
    tests: &[String],
    excluded: Vec<Excluded>,
    imaging: Option<ImagingFixture>,
) -> RunReport {
    let mut engine = Engine::new(tests_dir, target);
    if let Some(fixture) = imaging {
        engine = engine.with_imaging_fixture(fixture);
    }
    for test in tests {
        engine.run_test(test).await;
    }
    RunReport {
        outcomes: engine.outcomes().to_vec(),
        excluded,
    }
}

/// The registry, the repository and the Imaging Document Source started in-process; they serve until
/// [`InProcessServices::stop`] (or drop).
pub struct InProcessServices {
    pub target: Target,
    /// Holding the tasks keeps them running (dropping a `JoinSet` aborts them).
    registry: registry::server::Registry,
    repository: repository::server::RunningRepository,
    imaging_source: imaging_source::server::RunningImagingSource,
    /// repositoryUniqueId of the imaging source (its manifests' Retrieve Location UID).
    imaging_unique_id: String,
    shutdown: tokio_util::sync::CancellationToken,
}

impl InProcessServices {
    /// Stops serving and waits for the tasks to end.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        while self.registry.tasks.join_next().await.is_some() {}
        while self.repository.tasks.join_next().await.is_some() {}
        while self.imaging_source.tasks.join_next().await.is_some() {}
    }

    /// The `ids` plans' setup step ("import the test images into your Imaging Document Source"):
    /// copies every study of the image set (the unzipped IHE XDS-I 2018 image set, ids_2018.zip)
    /// unchanged into the in-process source's instance store.
    pub async fn import_image_set(
        &self,
        image_set: &ImageSet,
    ) -> Result<ImageSetImport, imaging_source::instance_store::InstanceStoreError> {
        let store = &self.imaging_source.source.store;
        let mut instances = 0;
        for (study, files) in &image_set.studies {
            store.import_study(study, files, |_| instances += 1).await?;
        }
        Ok(ImageSetImport {
            studies: image_set.studies.len(),
            instances,
        })
    }

    /// The in-process source publishing (RAD-68) studies of `image_set` through a
    /// Repository/Registry simulator in front of the in-process repository, its manifests
    /// naming the source's repositoryUniqueId as Retrieve Location UID.
    pub async fn imaging_fixture(&self, image_set: ImageSet) -> std::io::Result<ImagingFixture> {
        ImagingFixture::start(
            image_set,
            self.repository.endpoint_url(),
            self.registry.endpoint_url(),
            self.imaging_unique_id.clone(),
        )
        .await
    }
}

/// What [`InProcessServices::import_image_set`] put in the imaging source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSetImport {
    pub studies: usize,
    pub instances: usize,
}

/// Why the in-process services could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("registry: {0}")]
    Registry(#[from] registry::server::StartError),
    #[error("repository: {0}")]
    Repository(#[from] repository::server::StartError),
    #[error("imaging document source: {0}")]
    ImagingSource(#[from] imaging_source::server::StartError),
}

/// Code lists of the NIST affinity domain for the in-process registry: open (no attribute
/// listed). The testkit uses the Connectathon codes of the toolkit's `codes.xml`, which the
/// testkit copy does not include; the registry's built-in imaging lists would refuse them.
pub const NIST_CODE_LISTS: &str =
    "# NIST testkit affinity domain: every coded attribute open (codes.xml is not shipped).\n";

/// Starts the registry (SQLite and the code lists in `data_dir`) and the repository wired to it
/// (as `hie up` does), and the Imaging Document Source (RAD-69, WADO; its instance store under
/// `data_dir/imaging-source/instances`, no PACS) on free loopback ports.
pub async fn start_services(data_dir: &Path) -> Result<InProcessServices, StartError> {
    let code_lists = data_dir.join("nist-code-lists.toml");
    std::fs::write(&code_lists, NIST_CODE_LISTS).map_err(registry::server::StartError::from)?;
    let config = registry::config::Config {
        http_port: 0,
        mllp_port: 0,
        code_lists: Some(code_lists),
        ..registry::config::Config::default()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    let registry = registry::server::start(&config, loopback, data_dir, shutdown.clone()).await?;
    let repository_config = repository::config::Config {
        http_port: 0,
        registry_url: registry.endpoint_url(),
        ..repository::config::Config::default()
    };
    let repository = repository::server::start(
        &repository_config,
        loopback,
        &data_dir.join("repository"),
        shutdown.clone(),
    )
    .await?;
    let imaging_config = imaging_source::config::Config {
        http_port: 0,
        scp_port: 0,
        ..imaging_source::config::Config::default()
    };
    let imaging_source = imaging_source::server::start(
        &imaging_config,
        loopback,
        &data_dir.join("imaging-source"),
        shutdown.clone(),
    )
    .await?;
    let target = Target {
        registry_url: registry.endpoint_url(),
        registry_mllp: Some(registry.mllp_addr),
        affinity_domain: config.affinity_domain.clone(),
        repository_url: Some(repository.endpoint_url()),
        imaging_source_url: Some(imaging_source.endpoint_url()),
        imaging_wado_url: Some(format!(
            "http://{}{}",
            imaging_source.http_addr,
            imaging_source::wado::WADO_URI_PATH
        )),
    };
    Ok(InProcessServices {
        target,
        registry,
        repository,
        imaging_source,
        imaging_unique_id: imaging_config.repository_unique_id,
        shutdown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exclusion_without_reason_is_refused() {
        assert_eq!(
            parse_excluded("# c\n\n11966: needs a repository\n12000\n"),
            Err(ListError::MissingReason {
                line: 4,
                text: "12000".into()
            })
        );
    }

    #[test]
    fn the_shipped_lists_are_well_formed() {
        let excluded = parse_excluded(EXCLUDED).unwrap();
        assert!(excluded.iter().all(|e| !e.reason.is_empty()));
        assert!(
            parse_expected_pass(EXPECTED_PASS)
                .iter()
                .all(|n| n.contains('/'))
        );
    }

    fn outcome(name: &str, pass: bool) -> SectionOutcome {
        let (test, section) = name.split_once('/').unwrap();
        SectionOutcome {
            test: test.into(),
            section: section.into(),
            fixture: false,
            verdict: if pass {
                Verdict::Pass {
                    not_evaluated: vec![],
                }
            } else {
                Verdict::Fail { reason: "r".into() }
            },
        }
    }

    #[test]
    fn summary_counts_passed_failed_and_excluded() {
        let report = RunReport {
            outcomes: vec![outcome("1/a", true), outcome("1/b", false)],
            excluded: vec![Excluded {
                test: "2".into(),
                reason: "why".into(),
            }],
        };
        assert_eq!(report.summary(), "1 passed, 1 failed, 1 excluded");
        assert_eq!(report.lines()[1], "FAIL 1/b: r");
    }

    #[test]
    fn a_tag_with_its_profile_belongs_to_the_collection() {
        assert!(tag_matches("ids(xds-i)", "ids"));
        assert!(tag_matches("rep", "rep"));
        assert!(!tag_matches("#ids(xds-i)", "ids"));
        assert!(!tag_matches("rep_rd", "rep"));
        assert!(!tag_matches("reg_xua", "reg"));
    }

    #[test]
    fn the_collection_table_counts_sections_per_collection_and_fixtures_apart() {
        let dir = tempfile::tempdir().unwrap();
        for (test, tags) in [("1", "PR.b rep"), ("2", "ids(xds-i)"), ("3", "")] {
            std::fs::create_dir(dir.path().join(test)).unwrap();
            std::fs::write(dir.path().join(test).join("collections.txt"), tags).unwrap();
        }
        let report = RunReport {
            outcomes: vec![
                outcome("1/a", true),
                outcome("1/b", false),
                outcome("2/c", false),
                outcome("3/pif", true),
            ],
            excluded: vec![Excluded {
                test: "2".into(),
                reason: "why".into(),
            }],
        };
        assert_eq!(
            report.collection_table(dir.path(), &["rep".to_owned(), "ids".to_owned()]),
            [
                "rep: 1 passed, 1 failed, 0 excluded",
                "ids: 0 passed, 1 failed, 1 excluded",
                "fixtures outside these collections: 1 passed, 0 failed",
            ]
        );
    }

    #[test]
    fn expected_passes_are_narrowed_to_the_tests_run() {
        let expected = vec!["1/a".to_owned(), "2/b".to_owned()];
        assert_eq!(expected_among(&expected, &["2".to_owned()]), ["2/b"]);
    }

    #[test]
    fn an_expected_pass_that_fails_or_is_missing_is_a_regression() {
        let report = RunReport {
            outcomes: vec![outcome("1/a", true), outcome("1/b", false)],
            excluded: vec![],
        };
        let expected = vec!["1/a".to_owned(), "1/b".to_owned(), "3/c".to_owned()];
        assert_eq!(report.regressions(&expected), ["1/b: r", "3/c: not run"]);
    }
}
