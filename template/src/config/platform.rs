//! Where settings come from: only the variables platforms set themselves. Everything else keeps
//! the defaults in `config`.

use anyhow::Context;

use super::Config;

impl Config {
    /// Reads the variables platforms set themselves, when set, and checks the result.
    pub fn load() -> anyhow::Result<Self> {
        let mut config = Self::default();
        // Heroku, Cloud Run, Fly and Render set `PORT`.
        if let Ok(port) = std::env::var("PORT") {
            config.port = port
                .parse()
                .context("PORT must be a port number between 1 and 65535")?;
        }
{%- if database %}
        config.database.url = std::env::var("DATABASE_URL")
            .ok()
            .map(secrecy::SecretString::from);
{%- endif %}
        config.validate()?;
        Ok(config)
    }
}
