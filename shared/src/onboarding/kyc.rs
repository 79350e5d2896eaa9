//! KYC: the automatic checks run after the wait, and the decisions they (or an admin) take.
//!
//! The rule set is configuration, not code:
//! - `PIVOTA_KYC_RESTRICTED_COUNTRIES`: comma-separated ISO 3166-1 alpha-2 codes whose merchants go to
//!   manual review (default: [`DEFAULT_RESTRICTED_COUNTRIES`], countries under comprehensive sanctions).
//! - `PIVOTA_KYC_BLOCKED_EMAIL_DOMAINS`: comma-separated e-mail domains (for example disposable-mail
//!   providers) whose merchants go to manual review (default: none).
//!
//! The automatic checks never reject: a failed check sends the merchant to `manual_review`, and only an
//! admin rejects.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::country::CountryCode;
use crate::kernel::email::Email;
use crate::onboarding::status::MerchantStatus;

pub const DEFAULT_RESTRICTED_COUNTRIES: &str = "CU,IR,KP,SY";

/// Who took a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// The automatic checks (`kyc-approve`).
    System { name: String },
    /// An admin, named by the review request (or `admin`).
    Admin { name: String },
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::Admin { .. })
    }
}

/// One automatic check and its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KycCheck {
    pub rule: String,
    pub passed: bool,
    pub detail: String,
}

/// A decision on a merchant: who, when, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KycDecision {
    /// The status the decision moved the merchant to.
    pub outcome: MerchantStatus,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<KycCheck>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: OffsetDateTime,
}

impl KycDecision {
    pub fn automatic(outcome: MerchantStatus, checks: Vec<KycCheck>, at: OffsetDateTime) -> Self {
        let failed: Vec<&str> = checks.iter().filter(|c| !c.passed).map(|c| c.rule.as_str()).collect();
        let reason = (!failed.is_empty()).then(|| format!("automatic checks failed: {}", failed.join(", ")));
        Self { outcome, actor: Actor::System { name: "kyc-auto".into() }, reason, checks, decided_at: at }
    }

    pub fn by_admin(outcome: MerchantStatus, admin: &str, reason: Option<String>, at: OffsetDateTime) -> Self {
        Self { outcome, actor: Actor::Admin { name: admin.to_owned() }, reason, checks: Vec::new(), decided_at: at }
    }
}

/// The configured automatic checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KycRules {
    pub restricted_countries: BTreeSet<CountryCode>,
    pub blocked_email_domains: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct KycRulesError {
    pub variable: &'static str,
    pub message: String,
}

impl KycRules {
    /// Parses the two comma-separated lists; an invalid country code is a configuration error.
    pub fn parse(restricted_countries: &str, blocked_email_domains: &str) -> Result<Self, KycRulesError> {
        let restricted_countries = split_list(restricted_countries)
            .map(|code| {
                CountryCode::parse(code).map_err(|e| KycRulesError {
                    variable: "PIVOTA_KYC_RESTRICTED_COUNTRIES",
                    message: format!("{code:?} {e}"),
                })
            })
            .collect::<Result<_, _>>()?;
        let blocked_email_domains = split_list(blocked_email_domains).map(str::to_ascii_lowercase).collect();
        Ok(Self { restricted_countries, blocked_email_domains })
    }

    /// Runs every check and decides: approved when all pass, manual review otherwise.
    pub fn evaluate(&self, country: &CountryCode, email: &Email, at: OffsetDateTime) -> KycDecision {
        let country_restricted = self.restricted_countries.contains(country);
        let domain = email.domain();
        let domain_blocked = self.blocked_email_domains.contains(domain);
        let checks = vec![
            KycCheck {
                rule: "restricted_country".into(),
                passed: !country_restricted,
                detail: if country_restricted {
                    format!("{country} is on the restricted-country list")
                } else {
                    format!("{country} is not restricted")
                },
            },
            KycCheck {
                rule: "blocked_email_domain".into(),
                passed: !domain_blocked,
                detail: if domain_blocked {
                    format!("{domain} is on the blocked e-mail domain list")
                } else {
                    format!("{domain} is not blocked")
                },
            },
        ];
        let outcome =
            if checks.iter().all(|c| c.passed) { MerchantStatus::Approved } else { MerchantStatus::ManualReview };
        KycDecision::automatic(outcome, checks, at)
    }
}

impl Default for KycRules {
    fn default() -> Self {
        Self::parse(DEFAULT_RESTRICTED_COUNTRIES, "").expect("the default list is valid")
    }
}

fn split_list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|item| !item.is_empty())
}

/// The KYC settings a service reads: how long the wait is, and the automatic checks' rules.
pub trait HasKycRules {
    fn kyc_wait_seconds(&self) -> u64;
    fn kyc_rules(&self) -> &KycRules;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onboarding::merchant::{Merchant, Registration, RegistrationRequest};

    fn merchant(country: &str, email: &str) -> Merchant {
        let request = RegistrationRequest {
            business_name: Some("Acme".into()),
            email: Some(email.into()),
            country: Some(country.into()),
            website: Some("https://acme.example".into()),
        };
        Merchant::register(Registration::try_from(request).unwrap(), OffsetDateTime::now_utc())
    }

    #[test]
    fn clean_merchants_are_approved_with_every_check_recorded() {
        let decision = {
            let m = merchant("DE", "a@acme.example");
            KycRules::default().evaluate(&m.country, &m.email, OffsetDateTime::now_utc())
        };
        assert_eq!(decision.outcome, MerchantStatus::Approved);
        assert_eq!(decision.checks.len(), 2);
        assert!(decision.checks.iter().all(|c| c.passed));
        assert_eq!(decision.reason, None);
    }

    #[test]
    fn restricted_countries_and_blocked_domains_go_to_manual_review() {
        let rules = KycRules::parse("KP, ir", "mailinator.com").unwrap();
        let now = OffsetDateTime::now_utc();
        let by_country = {
            let m = merchant("IR", "a@acme.example");
            rules.evaluate(&m.country, &m.email, now)
        };
        assert_eq!(by_country.outcome, MerchantStatus::ManualReview);
        assert_eq!(by_country.reason.as_deref(), Some("automatic checks failed: restricted_country"));
        let by_domain = {
            let m = merchant("DE", "a@Mailinator.com");
            rules.evaluate(&m.country, &m.email, now)
        };
        assert_eq!(by_domain.outcome, MerchantStatus::ManualReview);
    }

    #[test]
    fn an_invalid_country_in_the_configuration_is_an_error() {
        let err = KycRules::parse("DE,XX", "").unwrap_err();
        assert_eq!(err.variable, "PIVOTA_KYC_RESTRICTED_COUNTRIES");
    }
}
