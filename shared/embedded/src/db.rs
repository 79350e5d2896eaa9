//! The one SQLite database behind every embedded adapter: opening it, its schema, and running work on it
//! off the async executor.

use std::path::Path;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};
use time::OffsetDateTime;

use super::OpenError;
use pivota::ports::{QueueError, SecretsError, StoreError, WorkflowError};

/// Schema migrations, applied in order; `PRAGMA user_version` counts how many have run. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: table, queues, secrets, KYC timers.
    "
    CREATE TABLE items (
        pk         TEXT    NOT NULL,
        sk         TEXT    NOT NULL,
        gsi1pk     TEXT,
        gsi1sk     TEXT,
        gsi2pk     TEXT,
        gsi2sk     TEXT,
        version    INTEGER NOT NULL,
        expires_at INTEGER,
        attrs      TEXT    NOT NULL,
        PRIMARY KEY (pk, sk)
    ) WITHOUT ROWID;
    -- The primary key breaks ties on an index sort key, so paging an index is stable.
    CREATE INDEX items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
    CREATE INDEX items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
    CREATE INDEX items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;

    CREATE TABLE queues (
        name              TEXT    PRIMARY KEY,
        max_receive_count INTEGER NOT NULL,
        dead_letter       TEXT
    );
    CREATE TABLE messages (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        id            TEXT    NOT NULL UNIQUE,
        queue         TEXT    NOT NULL REFERENCES queues (name),
        body          TEXT    NOT NULL,
        visible_at_ms INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        receipt       TEXT    UNIQUE
    );
    CREATE INDEX messages_visible ON messages (queue, visible_at_ms, seq);

    CREATE TABLE secret_versions (
        name       TEXT    NOT NULL,
        version_id TEXT    NOT NULL,
        stage      TEXT    NOT NULL CHECK (stage IN ('current', 'previous')),
        nonce      BLOB    NOT NULL,
        ciphertext BLOB    NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (name, version_id)
    );
    CREATE UNIQUE INDEX secret_versions_stage ON secret_versions (name, stage);

    CREATE TABLE kyc_timers (
        merchant_id    TEXT    PRIMARY KEY,
        wait_seconds   INTEGER NOT NULL,
        state          TEXT    NOT NULL CHECK (state IN ('waiting', 'running', 'completed', 'failed')),
        due_ms         INTEGER NOT NULL,
        lease_until_ms INTEGER,
        attempts       INTEGER NOT NULL DEFAULT 0,
        last_error     TEXT
    );
    CREATE INDEX kyc_timers_due ON kyc_timers (state, due_ms);
    ",
    // Deleted secret names, never reused (Secrets Manager keeps a deleted secret scheduled for deletion).
    "
    CREATE TABLE secret_tombstones (
        name       TEXT    PRIMARY KEY,
        deleted_ms INTEGER NOT NULL
    );
    ",
    // FIFO queues: a message's group, and the deduplication ids seen in the last five minutes.
    "
    ALTER TABLE messages ADD COLUMN group_id TEXT;
    CREATE INDEX messages_group ON messages (queue, group_id, seq) WHERE group_id IS NOT NULL;
    CREATE TABLE message_dedup (
        queue      TEXT    NOT NULL,
        dedup_id   TEXT    NOT NULL,
        message_id TEXT    NOT NULL,
        sent_ms    INTEGER NOT NULL,
        PRIMARY KEY (queue, dedup_id)
    );
    ",
];

/// A shared connection. Every adapter holds a clone; the mutex serialises work in this process and
/// SQLite's locks (with a busy timeout) serialise it against other processes on the same directory.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Self, OpenError> {
        let sqlite_error = |source| OpenError::Database { path: path.to_owned(), source };
        let mut conn = Connection::open(path).map_err(sqlite_error)?;
        let configured = (|| {
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")
        })();
        configured.map_err(sqlite_error)?;
        let applied = migrate(&mut conn).map_err(sqlite_error)?;
        if applied > MIGRATIONS.len() {
            return Err(OpenError::NewerSchema { path: path.to_owned(), found: applied, known: MIGRATIONS.len() });
        }
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs a point read on the connection: right here when nobody holds the connection (a read from
    /// SQLite's page cache takes a few microseconds, less than waking a blocking thread for it), else in a
    /// blocking thread like [`Db::run`]. Only for reads of one row: they never wait on a commit.
    pub(crate) async fn read<T, E, W>(&self, work: W) -> Result<T, E>
    where
        W: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        match self.read_if_free(work) {
            Ok(result) => result,
            Err(work) => self.run(work).await,
        }
    }

    /// `Ok` with the result if the connection was free, else `Err` with the work, not done.
    fn read_if_free<T, E, W>(&self, work: W) -> Result<Result<T, E>, W>
    where
        W: FnOnce(&mut Connection) -> Result<T, E>,
    {
        let mut conn = match self.conn.try_lock() {
            Ok(conn) => conn,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(work),
        };
        Ok(work(&mut conn))
    }

    /// Runs `work` on the connection in a blocking thread.
    pub(crate) async fn run<T, E, W>(&self, work: W) -> Result<T, E>
    where
        W: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let joined = tokio::task::spawn_blocking(move || {
            // A panic mid-transaction rolled the transaction back when it unwound, so the connection
            // is still sound: take it despite the poison.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("embedded database task was cancelled: {e}"),
        }
    }
}

/// Applies the migrations not yet applied. Returns the schema version found; one newer than this
/// build's is left alone for the caller to refuse.
fn migrate(conn: &mut Connection) -> Result<usize, rusqlite::Error> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let applied: usize = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied >= MIGRATIONS.len() {
        return Ok(applied);
    }
    for migration in &MIGRATIONS[applied..] {
        tx.execute_batch(migration)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    tx.commit()?;
    Ok(applied)
}

/// Milliseconds since the epoch, the unit every embedded timestamp is stored in.
pub(crate) fn epoch_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Another process holding the write lock past the busy timeout is worth retrying; anything else is not.
fn is_transient(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// A SQLite error as a port's error: transient or not.
pub(crate) trait FromSql: Sized {
    fn transient(message: String) -> Self;
    fn other(message: String) -> Self;
    fn from_sql(e: rusqlite::Error) -> Self {
        if is_transient(&e) { Self::transient(e.to_string()) } else { Self::other(e.to_string()) }
    }
}

macro_rules! from_sql {
    ($($error:ty),*) => {$(
        impl FromSql for $error {
            fn transient(message: String) -> Self { Self::Transient(message) }
            fn other(message: String) -> Self { Self::Other(message) }
        }
    )*};
}
from_sql!(StoreError, QueueError, SecretsError, WorkflowError);

/// `?` for SQLite results in code returning a port's error.
pub(crate) trait SqlResult<T> {
    fn sql<E: FromSql>(self) -> Result<T, E>;
}

impl<T> SqlResult<T> for rusqlite::Result<T> {
    fn sql<E: FromSql>(self) -> Result<T, E> {
        self.map_err(E::from_sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_keeps_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pivota.sqlite3");
        drop(Db::open(&path).unwrap());
        let db = Db::open(&path).unwrap();
        let conn = db.conn.lock().unwrap();
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }
}
