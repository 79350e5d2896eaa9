//! Embedded adapters: SQLite in a data directory behind the ports, for running Pivota locally with no
//! cloud and no containers.
//!
//! One database (`<data_dir>/pivota.sqlite3`, WAL mode) holds the table, the queues, the secrets and the
//! KYC timers; `<data_dir>/secret.key` encrypts the secrets; `<data_dir>/search/` holds each merchant's
//! product search index (tantivy, `pivota_search::LocalIndexes`). Everything survives a restart.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use pivota_embedded::{EmbeddedBackend, QueueConfig};
//!
//! let backend = EmbeddedBackend::open(std::path::Path::new(".pivota"))?;
//! backend.queue().declare("kyc-dlq", QueueConfig { max_receive_count: 0, dead_letter: None }).await?;
//! # Ok(()) }
//! ```

mod db;
mod queue;
mod row;
mod secret_key;
mod secrets;
mod table;
mod table_query;
mod timers;

use pivota_search::LocalIndexes;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use pivota::ports::{Clock, SystemClock};

pub use queue::{EmbeddedQueue, QueueConfig, QueueDepth};
pub use secret_key::SecretKeyError;
pub use secrets::EmbeddedSecrets;
pub use table::EmbeddedTable;
pub use timers::EmbeddedWorkflow;

const DATABASE_FILE: &str = "pivota.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the database {path}: {source}")]
    Database { path: PathBuf, source: rusqlite::Error },
    #[error("the database {path} has schema version {found}, newer than this build's {known}")]
    NewerSchema { path: PathBuf, found: usize, known: usize },
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
}

/// The search indexes' directory inside the data directory.
const SEARCH_DIR: &str = "search";

/// Every embedded adapter over one data directory.
#[derive(Clone, Debug)]
pub struct EmbeddedBackend {
    table: Arc<EmbeddedTable>,
    queue: Arc<EmbeddedQueue>,
    secrets: Arc<EmbeddedSecrets>,
    workflow: Arc<EmbeddedWorkflow>,
    /// Each merchant's product search index, in `<data dir>/search/<merchant id>/`.
    search: Arc<LocalIndexes>,
    clock: SharedClock,
}

impl EmbeddedBackend {
    /// Opens (creating if needed) the data directory, on the system clock.
    pub fn open(data_dir: &Path) -> Result<Self, OpenError> {
        Self::open_with_clock(data_dir, Arc::new(SystemClock))
    }

    pub fn open_with_clock(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, OpenError> {
        std::fs::create_dir_all(data_dir).map_err(|source| OpenError::DataDir { path: data_dir.to_owned(), source })?;
        let key = Arc::new(secret_key::SecretKey::load_or_create(data_dir)?);
        let db = db::Db::open(&data_dir.join(DATABASE_FILE))?;
        let clock = SharedClock(clock);
        Ok(Self {
            table: Arc::new(EmbeddedTable::new(db.clone(), clock.clone())),
            queue: Arc::new(EmbeddedQueue::new(db.clone(), clock.clone())),
            secrets: Arc::new(EmbeddedSecrets::new(db.clone(), key, clock.clone())),
            workflow: Arc::new(EmbeddedWorkflow::new(db, clock.clone())),
            search: Arc::new(LocalIndexes::new(data_dir.join(SEARCH_DIR))),
            clock,
        })
    }

    /// Every port on this backend, for an [`App`](pivota::app::App), on the clock it was opened with.
    pub fn ports(&self) -> pivota::app::Ports {
        pivota::app::Ports {
            table: self.table(),
            secrets: self.secrets(),
            workflow: self.workflow(),
            queue: self.queue(),
            search: self.search(),
            clock: Arc::clone(&self.clock.0),
        }
    }

    pub fn table(&self) -> Arc<EmbeddedTable> {
        Arc::clone(&self.table)
    }

    pub fn queue(&self) -> Arc<EmbeddedQueue> {
        Arc::clone(&self.queue)
    }

    pub fn secrets(&self) -> Arc<EmbeddedSecrets> {
        Arc::clone(&self.secrets)
    }

    pub fn workflow(&self) -> Arc<EmbeddedWorkflow> {
        Arc::clone(&self.workflow)
    }

    pub fn search(&self) -> Arc<LocalIndexes> {
        Arc::clone(&self.search)
    }
}

/// The clock every adapter reads, shareable and printable.
#[derive(Clone)]
pub(crate) struct SharedClock(pub(crate) Arc<dyn Clock>);

impl SharedClock {
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.0.now()
    }
}

impl std::fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedClock")
    }
}
