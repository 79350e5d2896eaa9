//! [`Secrets`] on SQLite with Secrets Manager's version stages: each put adds a current version and
//! demotes the old current to previous; older versions are dropped. Values are sealed with AES-256-GCM
//! under the data directory's key, with the secret's name and version id as associated data, so a
//! ciphertext copied to another name or version does not open.
//!
//! As on Secrets Manager, a deleted secret's name is not used again: it reads as absent, and a put to it
//! fails ([`SecretsError::NameDeleted`]), as AWS refuses a name scheduled for deletion.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use secrecy::{ExposeSecret, SecretString};
use ulid::Ulid;

use super::SharedClock;
use super::db::{Db, epoch_ms};
use super::secret_key::SecretKey;
use pivota::ports::{Secrets, SecretsError};

use crate::db::SqlResult as _;

#[derive(Debug)]
pub struct EmbeddedSecrets {
    db: Db,
    key: Arc<SecretKey>,
    clock: SharedClock,
}

/// The associated data: length-prefixed so no two (name, version) pairs encode alike.
fn aad(name: &str, version_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + name.len() + version_id.len());
    aad.extend_from_slice(b"pivota-secret/v1");
    aad.extend_from_slice(&(name.len() as u64).to_be_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad.extend_from_slice(version_id.as_bytes());
    aad
}

impl EmbeddedSecrets {
    pub(crate) fn new(db: Db, key: Arc<SecretKey>, clock: SharedClock) -> Self {
        Self { db, key, clock }
    }

    async fn read_stage(&self, name: &str, stage: &'static str) -> Result<Option<SecretString>, SecretsError> {
        let owned_name = name.to_owned();
        let sealed: Option<(String, Vec<u8>, Vec<u8>)> = self
            .db
            .run(move |conn| {
                conn.query_row(
                    "SELECT version_id, nonce, ciphertext FROM secret_versions WHERE name = ?1 AND stage = ?2",
                    params![owned_name, stage],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
            })
            .await
            .sql()?;
        let Some((version_id, nonce, ciphertext)) = sealed else {
            return Ok(None);
        };
        let undecryptable =
            || SecretsError::Other(format!("secret {name} ({version_id}) does not decrypt with this data dir's key"));
        let plaintext = self.key.open(&nonce, &ciphertext, &aad(name, &version_id)).map_err(|_| undecryptable())?;
        let value = String::from_utf8(plaintext).map_err(|_| undecryptable())?;
        Ok(Some(SecretString::from(value)))
    }
}

#[async_trait]
impl Secrets for EmbeddedSecrets {
    async fn put(&self, name: &str, value: &SecretString) -> Result<String, SecretsError> {
        if name.is_empty() {
            return Err(SecretsError::Other("a secret name cannot be empty".into()));
        }
        let version_id = Ulid::new().to_string();
        let (nonce, ciphertext) = self
            .key
            .seal(value.expose_secret().as_bytes(), &aad(name, &version_id))
            .map_err(|_| SecretsError::Other(format!("could not encrypt secret {name}")))?;
        let (name, created) = (name.to_owned(), epoch_ms(self.clock.now()));
        let (returned_id, returned_name) = (version_id.clone(), name.clone());
        let stored = self
            .db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let deleted: Option<i64> = tx
                    .query_row("SELECT deleted_ms FROM secret_tombstones WHERE name = ?1", [&name], |r| r.get(0))
                    .optional()?;
                if deleted.is_some() {
                    return Ok::<bool, rusqlite::Error>(false);
                }
                tx.execute("DELETE FROM secret_versions WHERE name = ?1 AND stage = 'previous'", [&name])?;
                tx.execute(
                    "UPDATE secret_versions SET stage = 'previous' WHERE name = ?1 AND stage = 'current'",
                    [&name],
                )?;
                tx.execute(
                    "INSERT INTO secret_versions (name, version_id, stage, nonce, ciphertext, created_ms)
                     VALUES (?1, ?2, 'current', ?3, ?4, ?5)",
                    params![name, version_id, nonce.as_slice(), ciphertext, created],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await
            .sql()?;
        if !stored {
            return Err(SecretsError::NameDeleted(returned_name));
        }
        Ok(returned_id)
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.read_stage(name, "current").await
    }

    async fn get_previous(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.read_stage(name, "previous").await
    }

    async fn delete(&self, name: &str) -> Result<(), SecretsError> {
        let (name, deleted) = (name.to_owned(), epoch_ms(self.clock.now()));
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existed = tx.execute("DELETE FROM secret_versions WHERE name = ?1", [&name])? > 0;
                if existed {
                    tx.execute(
                        "INSERT OR IGNORE INTO secret_tombstones (name, deleted_ms) VALUES (?1, ?2)",
                        params![name, deleted],
                    )?;
                }
                tx.commit()
            })
            .await
            .sql()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pivota::ports::SystemClock;

    fn open(dir: &std::path::Path) -> (EmbeddedSecrets, Db) {
        let db = Db::open(&dir.join("pivota.sqlite3")).unwrap();
        let key = Arc::new(SecretKey::load_or_create(dir).unwrap());
        (EmbeddedSecrets::new(db.clone(), key, SharedClock(Arc::new(SystemClock))), db)
    }

    #[tokio::test]
    async fn a_deleted_name_is_not_used_again() {
        let dir = tempfile::tempdir().unwrap();
        let (secrets, _) = open(dir.path());
        secrets.put("psp/stripe/1", &SecretString::from("a")).await.unwrap();
        secrets.delete("psp/stripe/1").await.unwrap();
        let again = secrets.put("psp/stripe/1", &SecretString::from("b")).await;
        assert!(matches!(again, Err(SecretsError::NameDeleted(_))), "{again:?}");
        assert!(secrets.get("psp/stripe/1").await.unwrap().is_none());
        // A name that never held a secret is not a deleted one.
        secrets.delete("psp/stripe/2").await.unwrap();
        secrets.put("psp/stripe/2", &SecretString::from("c")).await.unwrap();
    }

    #[tokio::test]
    async fn the_plaintext_is_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (secrets, db) = open(dir.path());
        secrets.put("psp/stripe", &SecretString::from("sk_live_plaintext_marker")).await.unwrap();

        let stored: Vec<u8> =
            db.run(|conn| conn.query_row("SELECT ciphertext FROM secret_versions", [], |r| r.get(0))).await.unwrap();
        assert!(!stored.windows(8).any(|w| w == b"sk_live_"));
        drop(secrets);
        drop(db);
        let files = std::fs::read_dir(dir.path()).unwrap();
        for file in files {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            assert!(!bytes.windows(8).any(|w| w == b"sk_live_"), "plaintext found on disk");
        }
    }

    #[tokio::test]
    async fn a_ciphertext_moved_to_another_name_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let (secrets, db) = open(dir.path());
        secrets.put("a", &SecretString::from("value-a")).await.unwrap();
        db.run(|conn| conn.execute("UPDATE secret_versions SET name = 'b'", [])).await.unwrap();

        let err = secrets.get("b").await.unwrap_err();
        assert!(!err.to_string().contains("value-a"));
        assert!(matches!(err, SecretsError::Other(_)));
    }

    #[tokio::test]
    async fn tampered_ciphertext_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let (secrets, db) = open(dir.path());
        secrets.put("a", &SecretString::from("value-a")).await.unwrap();
        db.run(|conn| conn.execute("UPDATE secret_versions SET ciphertext = zeroblob(length(ciphertext))", []))
            .await
            .unwrap();
        assert!(secrets.get("a").await.is_err());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let (secrets, _db) = open(dir.path());
        let shown = format!("{secrets:?}");
        assert!(shown.contains("SecretKey(..)"), "{shown}");
    }
}
