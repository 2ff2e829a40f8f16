//! Where settings come from. Each layer overrides the one before it:
//! 1. the defaults in `config`;
//! 2. a TOML file, when `{{env_prefix}}CONFIG_PATH` names one (keys as in `config` output);
//! 3. the variables platforms set themselves (`PORT`, ...);
//! 4. `{{env_prefix}}*` variables, nested keys joined by `__`: `{{env_prefix}}HTTP__BODY_LIMIT_BYTES`;
//! 5. `{{env_prefix}}*_FILE` variables naming a file that holds the value, the way container
//!    platforms hand out secrets: `{{env_prefix}}<KEY>_FILE=/run/secrets/<key>`.
//!
//! A `.env` file, when present, is read into the environment first: a convenience for local
//! development that never overrides a variable already set. `.env.example` lists every variable.
//!
//! Every error names the key, where the value came from and what was expected, and never the
//! value itself: `sources` says where each value came from, `errors` words the problem.

mod errors;
mod sources;

use anyhow::Context;
use figment::Figment;

use super::Config;

/// Prefix of every variable this service reads, besides the ones platforms set themselves.
pub const ENV_PREFIX: &str = "{{env_prefix}}";

impl Config {
    /// Reads every layer (see the module docs) and checks the result.
    pub fn load() -> anyhow::Result<Self> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(error).context("cannot read .env"),
        }
        let config: Self = Figment::new()
            .merge(sources::config_file()?)
            .merge(sources::platform_variables())
            .merge(sources::prefixed_variables())
            .merge(sources::secret_variables())
            .merge(sources::file_variables()?)
            .extract()
            .map_err(errors::described)?;
        config.validate()?;
        Ok(config)
    }

    /// The effective configuration as TOML, with every secret replaced by `[REDACTED]`.
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("cannot print the configuration")
    }
}
