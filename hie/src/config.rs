//! The configuration `hie up` reads: the `[general]` section and one section per service.

use serde::Deserialize;
use service_kit::config::General;

/// The documented default configuration, printed by `hie config`.
pub const EXAMPLE: &str = include_str!("../../hie.example.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HieConfig {
    pub general: General,
    pub registry: registry::config::Config,
    pub repository: repository::config::Config,
    pub imaging_source: imaging_source::config::Config,
    pub pix_manager: pix_manager::config::Config,
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::config::RawConfig;

    #[test]
    fn example_file_documents_exactly_the_defaults() {
        let raw = RawConfig::parse(EXAMPLE).expect("example parses");
        let typed: HieConfig = raw.typed().expect("example has only known options");
        assert_eq!(typed, HieConfig::default());
    }
}
