//! Merchants: registration input, status and the KYC decisions that move it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::country::CountryCode;
use crate::kernel::email::Email;
use crate::kernel::validation::FieldErrors;
use crate::onboarding::kyc::{KycCheck, KycDecision};
pub use crate::onboarding::status::MerchantStatus;

/// Opaque merchant id: `mer_` plus a ULID (sortable by creation time).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MerchantId(String);

impl MerchantId {
    pub fn generate() -> Self {
        Self(format!("mer_{}", ulid::Ulid::new()))
    }

    /// Parses an id from a path or an event; anything not shaped like one of ours is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let ulid = raw.strip_prefix("mer_")?;
        ulid::Ulid::from_string(ulid).ok().map(|_| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MerchantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The business's display name: 1 to 200 characters after trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BusinessName(String);

impl BusinessName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            Err("must not be empty")
        } else if name.chars().count() > 200 {
            Err("must be at most 200 characters")
        } else if name.chars().any(char::is_control) {
            Err("must not contain control characters")
        } else {
            Ok(Self(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The merchant's public website: an absolute `http` or `https` URL with a host, at most 2048 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Website(String);

impl Website {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.len() > 2048 {
            return Err("must be at most 2048 characters");
        }
        let url = url::Url::parse(raw).map_err(|_| "must be an absolute URL like https://shop.example.com")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must use http or https");
        }
        if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() || url.password().is_some() {
            return Err("must name a host and carry no credentials");
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The body of `POST /merchant/register` as sent: every field optional here so that each missing or
/// invalid one is reported by name.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RegistrationRequest {
    /// The business's display name.
    #[schema(example = "Acme Outdoor GmbH", value_type = String, required = true, min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub business_name: Option<String>,
    /// Contact e-mail; one merchant per address.
    #[schema(example = "owner@acme.example", value_type = String, required = true, format = Email, max_length = 254)]
    pub email: Option<String>,
    /// ISO 3166-1 alpha-2 country of incorporation.
    #[schema(example = "DE", value_type = String, required = true, pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// The public website.
    #[schema(example = "https://acme.example", value_type = String, required = true, pattern = "^https?://[^/@\\s]+", max_length = 2048)]
    pub website: Option<String>,
}

/// A registration that passed parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub business_name: BusinessName,
    pub email: Email,
    pub country: CountryCode,
    pub website: Website,
}

impl TryFrom<RegistrationRequest> for Registration {
    type Error = FieldErrors;

    fn try_from(request: RegistrationRequest) -> Result<Self, Self::Error> {
        let mut errors = FieldErrors::default();
        let business_name = errors.field("business_name", request.business_name, BusinessName::parse);
        let email = errors.field("email", request.email, |raw| Email::parse(raw).map_err(|e| e.to_string()));
        let country =
            errors.field("country", request.country, |raw| CountryCode::parse(raw).map_err(|e| e.to_string()));
        let website = errors.field("website", request.website, Website::parse);
        match (business_name, email, country, website) {
            (Some(business_name), Some(email), Some(country), Some(website)) if errors.is_empty() => {
                Ok(Registration { business_name, email, country, website })
            }
            _ => Err(errors),
        }
    }
}

/// A merchant as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    pub id: MerchantId,
    pub business_name: BusinessName,
    pub email: Email,
    pub country: CountryCode,
    pub website: Website,
    pub status: MerchantStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Every decision taken on this merchant, oldest first.
    #[serde(default)]
    pub decisions: Vec<KycDecision>,
    /// Optimistic-concurrency version of the stored item.
    #[serde(skip)]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a merchant in status {from} cannot become {to}")]
pub struct TransitionError {
    pub from: &'static str,
    pub to: &'static str,
}

impl Merchant {
    pub fn register(registration: Registration, now: OffsetDateTime) -> Self {
        Self {
            id: MerchantId::generate(),
            business_name: registration.business_name,
            email: registration.email,
            country: registration.country,
            website: registration.website,
            status: MerchantStatus::PendingKyc,
            created_at: now,
            updated_at: now,
            decisions: Vec::new(),
            version: 1,
        }
    }

    /// Applies a decision. Only an undecided merchant (pending KYC or in manual review) can be decided, and
    /// only an admin can reject; `manual_review` is the automatic checks' way of deferring to an admin.
    pub fn apply(&mut self, decision: KycDecision) -> Result<(), TransitionError> {
        let admin = decision.actor.is_admin();
        let allowed = match decision.outcome {
            // A KYC decision, or (by an admin) reinstating a suspended merchant.
            MerchantStatus::Approved => self.status.is_undecided() || admin && self.status == MerchantStatus::Suspended,
            MerchantStatus::ManualReview => self.status == MerchantStatus::PendingKyc,
            MerchantStatus::Rejected => admin && self.status.is_undecided(),
            MerchantStatus::Suspended => admin && self.status == MerchantStatus::Approved,
            MerchantStatus::PendingKyc => false,
        };
        if !allowed {
            return Err(TransitionError { from: self.status.as_str(), to: decision.outcome.as_str() });
        }
        self.status = decision.outcome;
        self.updated_at = decision.decided_at;
        self.decisions.push(decision);
        Ok(())
    }

    /// The checks of the latest automatic decision, if any.
    pub fn latest_checks(&self) -> &[KycCheck] {
        self.decisions.iter().rev().find(|d| !d.checks.is_empty()).map_or(&[], |d| &d.checks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onboarding::kyc::Actor;

    fn valid_request() -> RegistrationRequest {
        RegistrationRequest {
            business_name: Some(" Acme ".into()),
            email: Some("Owner@Acme.example".into()),
            country: Some("de".into()),
            website: Some("https://acme.example".into()),
        }
    }

    #[test]
    fn a_valid_request_parses_into_normalised_values() {
        let registration = Registration::try_from(valid_request()).unwrap();
        assert_eq!(registration.business_name.as_str(), "Acme");
        assert_eq!(registration.email.as_str(), "owner@acme.example");
        assert_eq!(registration.country.as_str(), "DE");
        assert_eq!(registration.website.as_str(), "https://acme.example/");
    }

    #[test]
    fn every_missing_or_invalid_field_is_named() {
        let request = RegistrationRequest {
            business_name: None,
            email: Some("nope".into()),
            country: Some("XX".into()),
            website: Some("ftp://acme.example".into()),
        };
        let errors = Registration::try_from(request).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["business_name", "email", "country", "website"]);
    }

    #[test]
    fn merchant_ids_round_trip_and_junk_is_refused() {
        let id = MerchantId::generate();
        assert_eq!(MerchantId::parse(id.as_str()), Some(id));
        assert_eq!(MerchantId::parse("mer_notaulid"), None);
        assert_eq!(MerchantId::parse("01J0000000000000000000000"), None);
    }

    #[test]
    fn decided_merchants_cannot_be_decided_again() {
        let now = OffsetDateTime::now_utc();
        let mut merchant = Merchant::register(Registration::try_from(valid_request()).unwrap(), now);
        let reject = KycDecision::by_admin(MerchantStatus::Rejected, "admin", Some("fraud".into()), now);
        merchant.apply(reject).unwrap();
        let approve = KycDecision::automatic(MerchantStatus::Approved, vec![], now);
        assert_eq!(merchant.apply(approve), Err(TransitionError { from: "rejected", to: "approved" }));
        assert_eq!(merchant.decisions.len(), 1);
        assert!(matches!(merchant.decisions[0].actor, Actor::Admin { .. }));
    }

    #[test]
    fn only_admins_reject_and_manual_review_only_follows_pending() {
        let now = OffsetDateTime::now_utc();
        let mut merchant = Merchant::register(Registration::try_from(valid_request()).unwrap(), now);
        let automatic_reject = KycDecision::automatic(MerchantStatus::Rejected, vec![], now);
        assert!(merchant.apply(automatic_reject).is_err());
        merchant.apply(KycDecision::automatic(MerchantStatus::ManualReview, vec![], now)).unwrap();
        assert!(merchant.apply(KycDecision::automatic(MerchantStatus::ManualReview, vec![], now)).is_err());
        merchant.apply(KycDecision::by_admin(MerchantStatus::Approved, "alice", None, now)).unwrap();
        assert_eq!(merchant.status, MerchantStatus::Approved);
    }
}
