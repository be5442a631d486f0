//! XPath 1.0 over testkit logs and results (`Assertions/Assert`, `Report`), with `sxd-xpath`.

/// Why an XPath could not be evaluated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XPathError {
    #[error("document not readable for XPath: {0}")]
    Document(String),
    #[error("XPath {expression:?} does not compile: {reason}")]
    Compile { expression: String, reason: String },
    #[error("XPath {expression:?} fails: {reason}")]
    Evaluate { expression: String, reason: String },
}

fn evaluate<T>(
    xml: &str,
    expression: &str,
    convert: impl FnOnce(sxd_xpath::Value<'_>) -> T,
) -> Result<T, XPathError> {
    let package =
        sxd_document::parser::parse(xml).map_err(|e| XPathError::Document(format!("{e:?}")))?;
    let document = package.as_document();
    let compile = |reason: String| XPathError::Compile {
        expression: expression.to_owned(),
        reason,
    };
    let xpath = sxd_xpath::Factory::new()
        .build(expression)
        .map_err(|e| compile(e.to_string()))?
        .ok_or_else(|| compile("empty expression".to_owned()))?;
    let context = sxd_xpath::Context::new();
    let value = xpath
        .evaluate(&context, document.root())
        .map_err(|e| XPathError::Evaluate {
            expression: expression.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(convert(value))
}

/// The boolean value of `expression` over `xml` (an `Assert`).
pub fn boolean(xml: &str, expression: &str) -> Result<bool, XPathError> {
    evaluate(xml, expression, |v| v.boolean())
}

/// The string value of `expression` over `xml` (a `Report`).
pub fn string(xml: &str, expression: &str) -> Result<String, XPathError> {
    evaluate(xml, expression, |v| v.string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"<TestResults><TestStep id="q"><Result><r:RegistryPackage xmlns:r="urn:x" status="A"><r:Slot name="s"/></r:RegistryPackage></Result></TestStep></TestResults>"#;

    #[test]
    fn count_assertion_is_evaluated() {
        assert_eq!(
            boolean(
                LOG,
                "count(//TestStep[@id='q']//*[local-name()='Slot'][@name='s']) = 1"
            ),
            Ok(true)
        );
        assert_eq!(
            boolean(LOG, "count(//*[local-name()='Slot']) = 2"),
            Ok(false)
        );
    }

    #[test]
    fn attribute_comparison_is_evaluated() {
        assert_eq!(
            boolean(LOG, "//*[local-name()='RegistryPackage']/@status = 'A'"),
            Ok(true)
        );
        assert_eq!(
            boolean(LOG, "//*[local-name()='RegistryPackage']/@status = 'B'"),
            Ok(false)
        );
    }

    #[test]
    fn report_reads_a_string_value() {
        assert_eq!(
            string(LOG, "//*[local-name()='RegistryPackage']/@status"),
            Ok("A".to_owned())
        );
    }

    #[test]
    fn a_broken_expression_is_an_error() {
        assert!(matches!(
            boolean(LOG, "count(//"),
            Err(XPathError::Compile { .. })
        ));
    }
}
