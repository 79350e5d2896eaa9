//! The local runner's configuration, from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use pivota::settings::Settings;
use secrecy::SecretString;

pub struct LocalConfig {
    /// `PIVOTA_LISTEN` (default `127.0.0.1:3000`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// `PIVOTA_DATA_DIR` (default `./.pivota`): the embedded database and secret key.
    pub data_dir: PathBuf,
    /// `PIVOTA_ADMIN_TOKEN`: if unset, one is generated on first start, stored, and printed at each start.
    pub admin_token: Option<SecretString>,
    /// `PIVOTA_KYC_WAIT_SECONDS`, `PIVOTA_KYC_RESTRICTED_COUNTRIES`, … as on Lambda.
    pub settings: Settings,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl LocalConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let listen = std::env::var("PIVOTA_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
        let listen = listen.parse().map_err(|_| {
            ConfigError(format!("PIVOTA_LISTEN must be an address like 127.0.0.1:3000, got {listen:?}"))
        })?;
        let data_dir = std::env::var_os("PIVOTA_DATA_DIR").map_or_else(|| PathBuf::from(".pivota"), PathBuf::from);
        let admin_token = std::env::var("PIVOTA_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()).map(SecretString::from);
        let settings = Settings::from_env().map_err(|e| ConfigError(e.to_string()))?;
        Ok(Self { listen, data_dir, admin_token, settings })
    }
}
