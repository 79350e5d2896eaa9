//! Test support: an [`App`] on the embedded backend in a temporary directory.

use std::sync::Arc;

use pivota::app::{App, Ports};
use pivota::embedded::EmbeddedBackend;
use pivota::ports::{Secrets, SystemClock};
use pivota::secret::{SecretString, random_token};
use pivota::settings::Settings;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct TestApp {
    pub app: App,
    pub backend: EmbeddedBackend,
    _dir: tempfile::TempDir,
}

pub async fn embedded_app(settings: Settings) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let backend = EmbeddedBackend::open(dir.path()).unwrap();
    let secrets = backend.secrets();
    secrets.put(&settings.api_key_pepper_secret_id, &random_token(32)).await.unwrap();
    secrets.put(&settings.admin_token_secret_id, &SecretString::from(ADMIN_TOKEN)).await.unwrap();
    let ports = Ports { table: backend.table(), secrets, workflow: backend.workflow(), clock: Arc::new(SystemClock) };
    TestApp { app: App::new(ports, settings), backend, _dir: dir }
}
