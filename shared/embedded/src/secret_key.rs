//! The key that encrypts embedded secrets at rest: 32 random bytes in `<data_dir>/secret.key`, readable
//! by the owner only, and the AES-256-GCM sealing done with it.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;

pub(crate) const KEY_FILE: &str = "secret.key";
const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("cannot use the secret key file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the secret key file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}` if it \
         is yours, or delete it (losing every stored secret)"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("the secret key file {path} holds {len} bytes, not {KEY_LEN}: it is not a Pivota key")]
    WrongLength { path: PathBuf, len: usize },
}

/// The loaded key. Its bytes never leave this type, and `Debug` does not show them.
pub(crate) struct SecretKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Sealing failed, or a ciphertext did not authenticate (wrong key, tampered data, or a version moved
/// to another name). Deliberately carries no detail.
#[derive(Debug)]
pub(crate) struct SealError;

impl SecretKey {
    /// Loads the key file in `data_dir`, creating it if missing.
    pub(crate) fn load_or_create(data_dir: &Path) -> Result<Self, SecretKeyError> {
        let path = data_dir.join(KEY_FILE);
        let io_error = |source| SecretKeyError::Io { path: path.clone(), source };
        match fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => create(&path).map_err(io_error)?,
            Err(e) => return Err(io_error(e)),
        }
        let mut file = OpenOptions::new().read(true).open(&path).map_err(io_error)?;
        let mode = file.metadata().map_err(io_error)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretKeyError::TooOpen { path, mode });
        }
        let mut bytes = Vec::with_capacity(KEY_LEN);
        file.read_to_end(&mut bytes).map_err(io_error)?;
        if bytes.len() != KEY_LEN {
            return Err(SecretKeyError::WrongLength { path, len: bytes.len() });
        }
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes));
        bytes.fill(0);
        Ok(Self { cipher })
    }

    /// Encrypts under a fresh random nonce, binding `aad`. Returns (nonce, ciphertext).
    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<([u8; NONCE_LEN], Vec<u8>), SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ciphertext =
            self.cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad }).map_err(|_| SealError)?;
        Ok((nonce, ciphertext))
    }

    pub(crate) fn open(&self, nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if nonce.len() != NONCE_LEN {
            return Err(SealError);
        }
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad }).map_err(|_| SealError)
    }
}

/// Writes a new key to a private temporary file, then links it into place: the link fails if another
/// process won the race, so a reader never sees a half-written key and an existing key is never
/// replaced.
fn create(path: &Path) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(".{KEY_FILE}.{}", ulid::Ulid::new()));
    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(&key)?;
        file.sync_all()
    })();
    key.fill(0);
    let linked = written.and_then(|()| fs::hard_link(&temp, path));
    let _ = fs::remove_file(&temp);
    match linked {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), KEY_LEN as u64);

        let (nonce, sealed) = key.seal(b"value", b"aad").unwrap();
        let reloaded = SecretKey::load_or_create(dir.path()).unwrap();
        assert_eq!(reloaded.open(&nonce, &sealed, b"aad").unwrap(), b"value");
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        SecretKey::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretKey::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, SecretKeyError::TooOpen { mode: 0o644, .. }), "{err}");
    }

    #[test]
    fn a_key_file_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).unwrap().write_all(b"short").unwrap();
        let err = SecretKey::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, SecretKeyError::WrongLength { len: 5, .. }), "{err}");
    }

    #[test]
    fn tampering_or_another_aad_fails_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::load_or_create(dir.path()).unwrap();
        let (nonce, mut sealed) = key.seal(b"value", b"aad").unwrap();
        assert!(key.open(&nonce, &sealed, b"other aad").is_err());
        sealed[0] ^= 1;
        assert!(key.open(&nonce, &sealed, b"aad").is_err());
    }
}
