//! Opaque page cursors: the store's position, sealed as URL-safe base64 of its JSON.
//!
//! A cursor only says where to continue within a query whose partition the handler fixes from the
//! caller's identity, so a forged cursor cannot reach another tenant's items; one that does not fit the
//! query is refused by the store as `InvalidCursor` (400 naming `cursor`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use pivota::kernel::error::Error;
use pivota::ports::PageCursor;

pub fn seal(cursor: &PageCursor) -> String {
    seal_any(cursor)
}

pub fn open(raw: &str) -> Result<PageCursor, Error> {
    open_any(raw)
}

/// Any position (a search's, say) sealed the same way.
pub fn seal_any(cursor: &impl serde::Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

pub fn open_any<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, Error> {
    let invalid = || Error::bad_parameter("cursor", "is not a cursor returned by this listing");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pivota::ports::ItemKey;

    #[test]
    fn a_sealed_cursor_opens_to_the_same_position() {
        let cursor = PageCursor { key: ItemKey::new("A", "B"), index_key: Some(ItemKey::new("C", "D")) };
        assert_eq!(open(&seal(&cursor)).unwrap(), cursor);
    }

    #[test]
    fn junk_is_a_bad_cursor_parameter() {
        for junk in ["%%%", "bm90IGpzb24", ""] {
            assert!(matches!(open(junk), Err(Error::BadParameter { ref field, .. }) if field == "cursor"), "{junk}");
        }
    }
}
