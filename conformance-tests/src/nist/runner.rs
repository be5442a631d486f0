//! The `nist` command: selecting tests by collection or id, leaving out the excluded ones,
//! running them against an in-process registry (or a given URL), and summarising.

use std::path::{Path, PathBuf};

use super::engine::{Engine, SectionOutcome, Target, Verdict, collections_of};

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

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A collection name (`reg`); every test tagged with it.
    pub collection: Option<String>,
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
    if let Some(collection) = &selection.collection {
        for entry in std::fs::read_dir(tests_dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if collections_of(tests_dir, &name)
                .iter()
                .any(|c| c == collection)
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

/// Runs `tests` against `target`.
pub async fn run(
    tests_dir: PathBuf,
    target: Target,
    tests: &[String],
    excluded: Vec<Excluded>,
) -> RunReport {
    let mut engine = Engine::new(tests_dir, target);
    for test in tests {
        engine.run_test(test).await;
    }
    RunReport {
        outcomes: engine.outcomes().to_vec(),
        excluded,
    }
}

/// A registry started in-process; it serves until [`InProcessRegistry::stop`] (or drop).
pub struct InProcessRegistry {
    pub target: Target,
    /// Holding the tasks keeps them running (dropping a `JoinSet` aborts them).
    running: registry::server::Registry,
    shutdown: tokio_util::sync::CancellationToken,
}

impl InProcessRegistry {
    /// Stops serving and waits for the tasks to end.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        while self.running.tasks.join_next().await.is_some() {}
    }
}

/// Code lists of the NIST affinity domain for the in-process registry: open (no attribute
/// listed). The testkit uses the Connectathon codes of the toolkit's `codes.xml`, which the
/// testkit copy does not include; the registry's built-in imaging lists would refuse them.
pub const NIST_CODE_LISTS: &str =
    "# NIST testkit affinity domain: every coded attribute open (codes.xml is not shipped).\n";

/// Starts the registry in-process on free loopback ports (SQLite and the code lists in
/// `data_dir`).
pub async fn start_registry(
    data_dir: &Path,
) -> Result<InProcessRegistry, registry::server::StartError> {
    let code_lists = data_dir.join("nist-code-lists.toml");
    std::fs::write(&code_lists, NIST_CODE_LISTS)?;
    let config = registry::config::Config {
        http_port: 0,
        mllp_port: 0,
        code_lists: Some(code_lists),
        ..registry::config::Config::default()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running =
        registry::server::start(&config, [127, 0, 0, 1].into(), data_dir, shutdown.clone()).await?;
    let target = Target {
        registry_url: running.endpoint_url(),
        registry_mllp: Some(running.mllp_addr),
        affinity_domain: config.affinity_domain.clone(),
    };
    Ok(InProcessRegistry {
        target,
        running,
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
    fn an_expected_pass_that_fails_or_is_missing_is_a_regression() {
        let report = RunReport {
            outcomes: vec![outcome("1/a", true), outcome("1/b", false)],
            excluded: vec![],
        };
        let expected = vec!["1/a".to_owned(), "1/b".to_owned(), "3/c".to_owned()];
        assert_eq!(report.regressions(&expected), ["1/b: r", "3/c: not run"]);
    }
}
