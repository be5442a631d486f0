//! JUnit XML of a testkit run: one `testcase` per test section, excluded ones as `skipped`.

use std::fmt::Write as _;

use super::engine::{SectionOutcome, Verdict};
use super::runner::Excluded;
use super::tree::escape;

/// The JUnit XML report of `outcomes` plus the `excluded` tests.
pub fn report(outcomes: &[SectionOutcome], excluded: &[Excluded]) -> String {
    let failures = outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::Fail { .. }))
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"nist\" tests=\"{}\" failures=\"{failures}\" skipped=\"{}\">\n",
        outcomes.len() + excluded.len(),
        excluded.len()
    );
    for outcome in outcomes {
        let _ = write!(
            out,
            "  <testcase classname=\"nist.{}\" name=\"{}\"",
            escape(&outcome.test),
            escape(&outcome.section)
        );
        match &outcome.verdict {
            Verdict::Pass { .. } => out.push_str("/>\n"),
            Verdict::Fail { reason } => {
                let _ = writeln!(out, "><failure message=\"{}\"/></testcase>", escape(reason));
            }
        }
    }
    for item in excluded {
        let _ = writeln!(
            out,
            "  <testcase classname=\"nist.{}\" name=\"*\"><skipped message=\"{}\"/></testcase>",
            escape(&item.test),
            escape(&item.reason)
        );
    }
    out.push_str("</testsuite>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_exclusions_are_counted_and_escaped() {
        let outcomes = vec![
            SectionOutcome {
                test: "11990".into(),
                section: "submit".into(),
                fixture: false,
                verdict: Verdict::Pass {
                    not_evaluated: vec![],
                },
            },
            SectionOutcome {
                test: "11996".into(),
                section: "submit".into(),
                fixture: false,
                verdict: Verdict::Fail {
                    reason: "expected <Failure> & got Success".into(),
                },
            },
        ];
        let excluded = vec![Excluded {
            test: "x_unsigned".into(),
            reason: "XUA".into(),
        }];
        let xml = report(&outcomes, &excluded);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" skipped=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("expected &lt;Failure&gt; &amp; got Success"),
            "{xml}"
        );
        assert!(roxmltree::Document::parse(&xml).is_ok());
    }
}
