//! The application: every port, the settings and the platform's own secrets, wired together. Nothing in
//! the contexts depends on it: their services ask for capabilities (`HasTable`, `HasConnectors`, …), which
//! `App` provides; the HTTP layer, the console and the workers hold one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::sync::RwLock;

use crate::kernel::error::Error;
use crate::onboarding::api_key::{ApiKeyHasher, HasApiKeyHasher};
use crate::onboarding::kyc::{HasKycRules, KycRules};
use crate::payments::psp::{Connectors, HasConnectors};
use crate::ports::{
    Clock, HasClock, HasDeployment, HasQueue, HasSearchIndex, HasSecrets, HasTable, HasWorkflow, Queue, QueueRef,
    SearchIndex, Secrets, Table, Workflow,
};
use crate::settings::Settings;
use crate::stores::credentials::{CredentialsCache, HasStoreCredentials};
use crate::stores::url_safety::{HasStoreUrls, StoreUrlPolicy};

/// Everything a handler needs. Cheap to share: the ports are `Arc`s.
pub struct App {
    pub table: Arc<dyn Table>,
    pub secrets: Arc<dyn Secrets>,
    pub workflow: Arc<dyn Workflow>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub search: Arc<dyn SearchIndex>,
    pub settings: Settings,
    /// Every PSP connector, sharing one HTTP connection pool; built on first use, so functions that
    /// never call a PSP never pay for the TLS setup at cold start.
    connectors: std::sync::OnceLock<Connectors>,
    admin_token: CachedSecret,
    api_key_pepper: CachedSecret,
    /// Store credentials for webhook deliveries (see `stores::cached_credentials`).
    store_credentials: CredentialsCache,
}

/// The ports an [`App`] is built from.
pub struct Ports {
    pub table: Arc<dyn Table>,
    pub secrets: Arc<dyn Secrets>,
    pub workflow: Arc<dyn Workflow>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub search: Arc<dyn SearchIndex>,
}

impl App {
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            admin_token: CachedSecret::new(settings.admin_token_secret_id.clone()),
            api_key_pepper: CachedSecret::new(settings.api_key_pepper_secret_id.clone()),
            table: ports.table,
            secrets: ports.secrets,
            workflow: ports.workflow,
            queue: ports.queue,
            clock: ports.clock,
            search: ports.search,
            connectors: std::sync::OnceLock::new(),
            store_credentials: Default::default(),
            settings,
        }
    }

    /// The admin bearer token, fetched on first use (never during init) and cached for a few minutes so
    /// that a rotation in Secrets Manager takes effect without a deploy.
    pub async fn admin_token(&self) -> Result<SecretString, Error> {
        self.admin_token.get(self.secrets.as_ref()).await
    }

    /// A 256-bit key for one purpose (the console's session cookies, say), derived from the platform's
    /// pepper as HMAC-SHA256(pepper, purpose): one secret to keep and rotate, a distinct key per use.
    pub async fn derived_key(&self, purpose: &str) -> Result<secrecy::SecretBox<[u8; 32]>, Error> {
        use hmac::Mac as _;
        use secrecy::ExposeSecret as _;
        let pepper = self.api_key_pepper.get(self.secrets.as_ref()).await?;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(pepper.expose_secret().as_bytes())
            .map_err(|e| Error::Internal(e.to_string()))?;
        mac.update(purpose.as_bytes());
        Ok(secrecy::SecretBox::new(Box::new(mac.finalize().into_bytes().into())))
    }
}

// The App provides every capability a service may ask for.

impl HasTable for App {
    fn table(&self) -> &dyn Table {
        self.table.as_ref()
    }
}

impl HasSecrets for App {
    fn secrets(&self) -> &dyn Secrets {
        self.secrets.as_ref()
    }
}

impl HasQueue for App {
    fn queue(&self) -> &dyn Queue {
        self.queue.as_ref()
    }
    fn sync_queue(&self) -> &QueueRef {
        &self.settings.sync_queue
    }
    fn payment_queue(&self) -> &QueueRef {
        &self.settings.payment_queue
    }
    fn index_queue(&self) -> &QueueRef {
        &self.settings.index_queue
    }
}

impl HasSearchIndex for App {
    fn search_index(&self) -> &dyn SearchIndex {
        self.search.as_ref()
    }
}

impl HasWorkflow for App {
    fn workflow(&self) -> &dyn Workflow {
        self.workflow.as_ref()
    }
}

impl HasClock for App {
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

impl HasDeployment for App {
    fn secret_namespace(&self) -> &str {
        &self.settings.secret_namespace
    }
    fn public_base_url(&self) -> &str {
        &self.settings.public_base_url
    }
}

impl HasKycRules for App {
    fn kyc_wait_seconds(&self) -> u64 {
        self.settings.kyc_wait_seconds
    }
    fn kyc_rules(&self) -> &KycRules {
        &self.settings.kyc_rules
    }
}

#[async_trait::async_trait]
impl HasApiKeyHasher for App {
    async fn api_key_hasher(&self) -> Result<ApiKeyHasher, Error> {
        Ok(ApiKeyHasher::new(self.api_key_pepper.get(self.secrets.as_ref()).await?))
    }
}

impl HasConnectors for App {
    fn connectors(&self) -> &Connectors {
        self.connectors.get_or_init(|| Connectors::new(&self.settings.connectors))
    }
    fn payment_budget(&self) -> Duration {
        self.settings.connectors.payment_budget
    }
}

impl HasStoreUrls for App {
    fn store_urls(&self) -> StoreUrlPolicy {
        self.settings.store_urls
    }
}

impl HasStoreCredentials for App {
    fn store_credentials(&self) -> &CredentialsCache {
        &self.store_credentials
    }
}

const SECRET_CACHE_TTL: Duration = Duration::from_secs(300);

/// A platform secret, cached per function (one entry on Lambda; one per function where a process serves
/// several, as separate processes would hold them: see [`crate::invocation`]).
struct CachedSecret {
    id: String,
    values: RwLock<HashMap<Option<&'static str>, (Instant, SecretString)>>,
}

impl CachedSecret {
    fn new(id: String) -> Self {
        Self { id, values: RwLock::new(HashMap::new()) }
    }

    async fn get(&self, secrets: &dyn Secrets) -> Result<SecretString, Error> {
        let function = crate::invocation::current();
        if let Some((fetched, value)) = self.values.read().await.get(&function)
            && fetched.elapsed() < SECRET_CACHE_TTL
        {
            return Ok(value.clone());
        }
        let value = secrets
            .get(&self.id)
            .await?
            .ok_or_else(|| Error::Internal(format!("the platform secret {} does not exist", self.id)))?;
        self.values.write().await.insert(function, (Instant::now(), value.clone()));
        Ok(value)
    }
}
