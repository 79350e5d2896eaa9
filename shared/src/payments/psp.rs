//! Payment service providers: which ones exist, and test versus live mode.

use serde::{Deserialize, Serialize};

/// A PSP Pivota can charge through. Adding one: a module in `connectors/`, a variant here, and one line
/// in `connectors::Connectors::get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PspKind {
    Stripe,
    Adyen,
    /// Built in and deterministic, for demonstrations and tests without PSP accounts.
    Sandbox,
}

impl PspKind {
    pub const ALL: [PspKind; 3] = [PspKind::Stripe, PspKind::Adyen, PspKind::Sandbox];

    pub fn as_str(self) -> &'static str {
        match self {
            PspKind::Stripe => "stripe",
            PspKind::Adyen => "adyen",
            PspKind::Sandbox => "sandbox",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|psp| psp.as_str() == raw)
    }
}

impl std::fmt::Display for PspKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a PSP connection moves real money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PspMode {
    Test,
    Live,
}

impl From<crate::onboarding::api_key::ApiKeyMode> for PspMode {
    fn from(mode: crate::onboarding::api_key::ApiKeyMode) -> Self {
        match mode {
            crate::onboarding::api_key::ApiKeyMode::Test => PspMode::Test,
            crate::onboarding::api_key::ApiKeyMode::Live => PspMode::Live,
        }
    }
}

impl PspMode {
    /// The API-key mode that may act on a connection (or store) of this mode.
    pub fn key_mode(self) -> crate::onboarding::api_key::ApiKeyMode {
        match self {
            PspMode::Test => crate::onboarding::api_key::ApiKeyMode::Test,
            PspMode::Live => crate::onboarding::api_key::ApiKeyMode::Live,
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [PspMode::Test, PspMode::Live].into_iter().find(|mode| mode.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PspMode::Test => "test",
            PspMode::Live => "live",
        }
    }
}
