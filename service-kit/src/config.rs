//! One TOML configuration file for the whole broker, plus environment overrides.
//!
//! `hie up` reads the whole file; a separate service binary reads the same file and takes its own
//! section. An environment variable `HIE_<SECTION>__<KEY>` (upper case, `__` between levels)
//! overrides `[section] key`: `HIE_REGISTRY__HTTP_PORT=9081` sets `[registry] http_port = 9081`.
//! The value is read as a TOML value when it parses as one (numbers, booleans, arrays), otherwise
//! as a string.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "HIE_";
/// Environment variable naming the configuration file, when `--config` is not given.
pub const CONFIG_FILE_ENV: &str = "HIE_CONFIG";
/// File read from the working directory when neither `--config` nor `HIE_CONFIG` is given.
pub const DEFAULT_CONFIG_FILE: &str = "hie.toml";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid TOML: {source}")]
    Syntax {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment override {variable} does not name a configuration key")]
    BadOverride { variable: String },
    #[error("invalid configuration: {0}")]
    Invalid(Box<toml::de::Error>),
}

/// The configuration document before it is typed: file contents with overrides applied.
#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    table: toml::Table,
}

impl RawConfig {
    /// Reads `explicit` if given, else the file named by `HIE_CONFIG`, else `./hie.toml` if it
    /// exists, else starts from an empty document (every option at its default); then applies
    /// the `HIE_*` environment overrides.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = explicit.map(Path::to_path_buf).or_else(|| {
            std::env::var_os(CONFIG_FILE_ENV)
                .map(PathBuf::from)
                .or_else(|| {
                    let p = PathBuf::from(DEFAULT_CONFIG_FILE);
                    p.exists().then_some(p)
                })
        });
        let mut raw = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Self::parse(&text).map_err(|source| ConfigError::Syntax {
                    path,
                    source: Box::new(source),
                })?
            }
            None => RawConfig::default(),
        };
        raw.apply_overrides(std::env::vars())?;
        Ok(raw)
    }

    /// Parses a configuration document (no overrides).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        Ok(RawConfig {
            table: text.parse::<toml::Table>()?,
        })
    }

    /// Applies `HIE_SECTION__KEY=value` pairs; other variables are ignored, except the config
    /// file variable itself.
    pub fn apply_overrides<I>(&mut self, vars: I) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        for (name, value) in vars {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if name == CONFIG_FILE_ENV || !path.contains("__") {
                continue;
            }
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            if keys.iter().any(String::is_empty) {
                return Err(ConfigError::BadOverride { variable: name });
            }
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            let mut table = &mut self.table;
            let (last, parents) = keys.split_last().ok_or_else(|| ConfigError::BadOverride {
                variable: name.clone(),
            })?;
            for key in parents {
                let entry = table
                    .entry(key.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                table = entry
                    .as_table_mut()
                    .ok_or_else(|| ConfigError::BadOverride {
                        variable: name.clone(),
                    })?;
            }
            table.insert(last.clone(), parsed);
        }
        Ok(())
    }

    /// The whole document as a typed value.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::Value::Table(self.table.clone())
            .try_into()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    /// One section (`[name]`) as a typed value; an absent section gives the type's defaults
    /// (the type must use `#[serde(default)]`).
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T, ConfigError> {
        let value = self
            .table
            .get(name)
            .cloned()
            .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
        value
            .try_into()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, Default, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Section {
        http_port: u16,
        name: String,
        flag: bool,
    }

    #[test]
    fn absent_section_gives_defaults() {
        let raw = RawConfig::parse("").unwrap();
        assert_eq!(
            raw.section::<Section>("registry").unwrap(),
            Section::default()
        );
    }

    #[test]
    fn environment_overrides_file_values_with_typed_values() {
        let mut raw = RawConfig::parse("[registry]\nhttp_port = 1\nname = \"a\"\n").unwrap();
        raw.apply_overrides([
            ("HIE_REGISTRY__HTTP_PORT".to_owned(), "9081".to_owned()),
            ("HIE_REGISTRY__NAME".to_owned(), "with spaces".to_owned()),
            ("HIE_REGISTRY__FLAG".to_owned(), "true".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ])
        .unwrap();
        let s: Section = raw.section("registry").unwrap();
        assert_eq!(
            s,
            Section {
                http_port: 9081,
                name: "with spaces".into(),
                flag: true
            }
        );
    }

    #[test]
    fn unknown_option_is_an_error() {
        let raw = RawConfig::parse("[registry]\nhttp_prot = 1\n").unwrap();
        assert!(matches!(
            raw.section::<Section>("registry"),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn override_through_a_non_table_is_refused() {
        let mut raw = RawConfig::parse("registry = 3\n").unwrap();
        let r = raw.apply_overrides([("HIE_REGISTRY__HTTP_PORT".to_owned(), "1".to_owned())]);
        assert!(matches!(r, Err(ConfigError::BadOverride { .. })));
    }
}
