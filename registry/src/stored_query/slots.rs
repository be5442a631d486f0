//! Reading the parameter slots of an `rim:AdhocQuery` with the multiplicity rules of
//! ITI TF-2a 3.18.4.1.2.3.5: several values in one slot are OR-ed, several slots of one name are
//! AND-ed and only allowed where the parameter supports AND/OR semantics.

use schemas::ebrim::Slot;

use super::QueryError;
use super::params::{AvailabilityStatus, Dtm};
use super::value::{Literal, parse_value};

/// The parameter slots of one stored query request.
pub(crate) struct Params<'a> {
    slots: &'a [Slot],
}

impl<'a> Params<'a> {
    pub(crate) fn new(slots: &'a [Slot]) -> Self {
        Params { slots }
    }

    fn named(&self, name: &'a str) -> impl Iterator<Item = &'a Slot> + 'a {
        self.slots.iter().filter(move |slot| slot.name == name)
    }

    /// The slot of a parameter that takes one slot; a repeated slot is XDSStoredQueryParamNumber.
    fn one_slot(&self, name: &'a str) -> Result<Option<&'a Slot>, QueryError> {
        let mut slots = self.named(name);
        let first = slots.next();
        if slots.next().is_some() {
            return Err(QueryError::param_number(
                name,
                "is given in several slots, but only code-list parameters take AND semantics",
            ));
        }
        Ok(first)
    }

    /// Every literal of one slot, values and list elements flattened (OR semantics).
    fn literals(name: &str, slot: &Slot) -> Result<Vec<Literal>, QueryError> {
        if slot.values.is_empty() {
            return Err(QueryError::missing_param(
                name,
                "has a slot without any value",
            ));
        }
        let mut literals = Vec::new();
        for value in &slot.values {
            let list = parse_value(value).map_err(|e| {
                QueryError::invalid_value(name, format!("value {value:?} is malformed: {e}"))
            })?;
            literals.extend(list.literals);
        }
        Ok(literals)
    }

    /// A single-valued parameter: one slot, one value (a one-element list is accepted).
    fn one_literal(&self, name: &'a str) -> Result<Option<Literal>, QueryError> {
        let Some(slot) = self.one_slot(name)? else {
            return Ok(None);
        };
        let mut literals = Self::literals(name, slot)?;
        if literals.len() > 1 {
            return Err(QueryError::param_number(
                name,
                format!("accepts a single value, got {}", literals.len()),
            ));
        }
        Ok(literals.pop())
    }

    /// True when at least one slot of this name is present.
    pub(crate) fn present(&self, name: &'a str) -> bool {
        self.named(name).next().is_some()
    }

    /// A single-valued string parameter, converted by `convert`.
    pub(crate) fn single<T>(
        &self,
        name: &'a str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, QueryError> {
        self.one_literal(name)?
            .map(|literal| text(name, literal).and_then(|t| typed(name, &t, &convert)))
            .transpose()
    }

    /// A multi-valued parameter without AND semantics (one slot; its values OR-ed).
    pub(crate) fn list<T>(
        &self,
        name: &'a str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<Vec<T>>, QueryError> {
        let Some(slot) = self.one_slot(name)? else {
            return Ok(None);
        };
        Self::literals(name, slot)?
            .into_iter()
            .map(|literal| text(name, literal).and_then(|t| typed(name, &t, &convert)))
            .collect::<Result<Vec<T>, _>>()
            .map(Some)
    }

    /// A parameter with AND/OR semantics: one inner list per slot (AND), its values OR-ed.
    pub(crate) fn and_or<T>(
        &self,
        name: &'a str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<Vec<T>>, QueryError> {
        self.named(name)
            .map(|slot| {
                Self::literals(name, slot)?
                    .into_iter()
                    .map(|literal| text(name, literal).and_then(|t| typed(name, &t, &convert)))
                    .collect()
            })
            .collect()
    }

    /// A time parameter: a DTM, unquoted or (CP-ITI-1260) in quotes.
    pub(crate) fn time(&self, name: &'a str) -> Result<Option<Dtm>, QueryError> {
        self.single_unquoted(name, |t| Dtm::parse(t).map_err(|e| e.to_string()))
    }

    /// A single-valued parameter written unquoted or in quotes (`$MetadataLevel`), converted by
    /// `convert`.
    pub(crate) fn single_unquoted<T>(
        &self,
        name: &'a str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, QueryError> {
        self.one_literal(name)?
            .map(|literal| {
                let (Literal::Number(t) | Literal::Text(t)) = literal;
                typed(name, &t, &convert)
            })
            .transpose()
    }

    /// A status parameter: full URNs; values the registry does not understand are ignored
    /// (ITI TF-2a 3.18.4.1.2.3.6), and a parameter left without any is missing.
    pub(crate) fn statuses(
        &self,
        name: &'a str,
    ) -> Result<Option<Vec<AvailabilityStatus>>, QueryError> {
        let Some(urns) = self.list(name, |t| Ok(t.to_owned()))? else {
            return Ok(None);
        };
        let statuses: Vec<AvailabilityStatus> = urns
            .iter()
            .filter_map(|urn| AvailabilityStatus::from_urn(urn))
            .collect();
        if statuses.is_empty() {
            return Err(QueryError::missing_param(
                name,
                "has no status value the registry understands (Approved, Deprecated URNs)",
            ));
        }
        Ok(Some(statuses))
    }
}

/// The string of a literal that must be quoted.
fn text(name: &str, literal: Literal) -> Result<String, QueryError> {
    match literal {
        Literal::Text(t) => Ok(t),
        Literal::Number(n) => Err(QueryError::invalid_value(
            name,
            format!("value {n} must be a string in single quotes"),
        )),
    }
}

fn typed<T>(
    name: &str,
    text: &str,
    convert: impl Fn(&str) -> Result<T, String>,
) -> Result<T, QueryError> {
    convert(text).map_err(|why| QueryError::invalid_value(name, why))
}

/// A required parameter's value, or XDSStoredQueryMissingParam.
pub(crate) fn required<T>(name: &str, value: Option<T>) -> Result<T, QueryError> {
    value.ok_or_else(|| QueryError::missing_param(name, "is required"))
}

/// A plain string value (uniqueIds, CXi reference ids, source ids): not empty.
pub(crate) fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("the value is an empty string".to_owned())
    } else {
        Ok(text.to_owned())
    }
}
