//! Onboarding: registration, the automatic KYC decision after the wait, and admin decisions.

pub mod api_key;
pub mod api_keys;
pub mod kyc;
pub mod kyc_task;
pub mod merchant;
pub mod merchants;
pub mod status;

use serde::Serialize;
use tracing::{error, info};

use crate::kernel::error::Error;
use crate::onboarding::api_key::HasApiKeyHasher;
use crate::onboarding::api_key::{ApiKeyMode, PlaintextApiKey};
use crate::onboarding::api_keys::ApiKeyRecord;
use crate::onboarding::kyc::HasKycRules;
use crate::onboarding::kyc::KycDecision;
use crate::onboarding::merchant::{Merchant, MerchantId, MerchantStatus, Registration};
use crate::onboarding::merchants::Merchants;
use crate::ports::HasClock;
use crate::ports::HasTable;
use crate::ports::HasWorkflow;
use crate::ports::KycWaitInput;
use crate::record::{Record, Written};

/// How often a decision re-reads and retries after losing an optimistic-concurrency race.
const MAX_DECISION_ATTEMPTS: usize = 5;

/// A new merchant, and its first (test) API key and owner credential, each shown to it once.
#[derive(Debug)]
pub struct Registered {
    pub merchant: Merchant,
    pub api_key: PlaintextApiKey,
    pub owner_credential: PlaintextApiKey,
}

/// Registers a merchant and starts its KYC wait. Either both happen or neither: if the wait cannot be
/// started, the merchant is deleted again and the caller gets the (retryable) error.
pub async fn register(
    app: &(impl HasTable + HasWorkflow + HasClock + HasKycRules + HasApiKeyHasher),
    registration: Registration,
) -> Result<Registered, Error> {
    let now = app.clock().now();
    let merchant = Merchant::register(registration, now);
    let api_key = PlaintextApiKey::generate(ApiKeyMode::Test);
    let hasher = app.api_key_hasher().await?;
    let first_key = ApiKeyRecord::issue(&merchant.id, "default", &api_key, &hasher, now);
    let owner_credential = PlaintextApiKey::generate_owner();
    let owner = ApiKeyRecord::issue(&merchant.id, "owner", &owner_credential, &hasher, now);
    let merchants = Merchants::new(app.table());
    merchants.create(&merchant, &first_key, &owner).await?;

    let wait = KycWaitInput { merchant_id: merchant.id.to_string(), wait_seconds: app.kyc_wait_seconds() };
    if let Err(start_error) = app.workflow().start_kyc_wait(&wait).await {
        if let Err(undo_error) = merchants.delete_new(&merchant, &first_key, &owner).await {
            error!(merchant_id = %merchant.id, %undo_error, "could not undo a registration whose KYC wait failed to start");
        }
        return Err(start_error.into());
    }
    info!(merchant_id = %merchant.id, wait_seconds = wait.wait_seconds, "merchant registered, KYC wait started");
    Ok(Registered { merchant, api_key, owner_credential })
}

/// What the automatic KYC run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum KycRun {
    /// The checks ran and moved the merchant to `status`.
    Decided { status: MerchantStatus },
    /// Someone decided first (an admin, or an earlier run); nothing was changed.
    AlreadyDecided { status: MerchantStatus },
    /// No such merchant (its registration was undone); nothing to do.
    UnknownMerchant,
}

/// The `kyc-approve` task: runs the automatic checks, unless the merchant was decided meanwhile. The
/// write is conditional on the version read, so a concurrent admin decision is never overwritten.
pub async fn run_automatic_kyc(
    app: &(impl HasTable + HasClock + HasKycRules),
    merchant_id: &MerchantId,
) -> Result<KycRun, Error> {
    decide_while_pending(app, merchant_id, |merchant| {
        app.kyc_rules().evaluate(&merchant.country, &merchant.email, app.clock().now())
    })
    .await
}

/// After the automatic checks failed for good (the state machine's `Catch`): a merchant still pending KYC
/// goes to `manual_review` with `reason`, so no merchant waits in `pending_kyc` unnoticed. A merchant
/// decided meanwhile is left as it is.
pub async fn route_to_manual_review(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    reason: String,
) -> Result<KycRun, Error> {
    tracing::warn!(%merchant_id, reason, "automatic KYC failed; routing the merchant to manual review");
    decide_while_pending(app, merchant_id, |_| {
        let mut decision = KycDecision::automatic(MerchantStatus::ManualReview, Vec::new(), app.clock().now());
        decision.reason = Some(reason.clone());
        decision
    })
    .await
}

/// Applies `decide`'s decision to a merchant still pending KYC, conditional on the version read (a lost
/// race reads again); a merchant decided meanwhile is left as it is.
async fn decide_while_pending(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    decide: impl Fn(&Merchant) -> KycDecision,
) -> Result<KycRun, Error> {
    let merchants = Merchants::new(app.table());
    for _ in 0..MAX_DECISION_ATTEMPTS {
        let Some(mut merchant) = merchants.get(merchant_id).await? else {
            return Ok(KycRun::UnknownMerchant);
        };
        if merchant.status != MerchantStatus::PendingKyc {
            return Ok(KycRun::AlreadyDecided { status: merchant.status });
        }
        let decision = decide(&merchant);
        merchant.apply(decision).map_err(|e| Error::Internal(e.to_string()))?;
        if merchant.save(app.table()).await? == Written::Done {
            info!(%merchant_id, status = merchant.status.as_str(), "automatic KYC decision");
            return Ok(KycRun::Decided { status: merchant.status });
        }
    }
    Err(Error::Unavailable("the merchant kept changing during the KYC decision".into()))
}

/// An admin suspends an approved merchant (`Suspended`, with a reason) or reinstates a suspended one
/// (`Approved`). Each is a decision in the merchant's history; anything else is a `Conflict`.
pub async fn suspend_or_reinstate(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    outcome: MerchantStatus,
    admin: &str,
    reason: Option<String>,
) -> Result<Merchant, Error> {
    let expected = if outcome == MerchantStatus::Suspended { "approved" } else { "suspended" };
    let done = if outcome == MerchantStatus::Suspended { "suspended" } else { "reinstated" };
    apply_admin_decision(app, merchant_id, outcome, admin, reason, |merchant, decision| {
        if merchant.status.as_str() != expected {
            return Err(Error::Conflict(format!(
                "the merchant is {}; only {expected} merchants can be {done}",
                merchant.status.as_str()
            )));
        }
        merchant.apply(decision).map_err(|e| Error::Conflict(e.to_string()))
    })
    .await
}

/// An admin approves or rejects. Only undecided merchants (pending KYC or manual review) can be decided;
/// anything else is a `Conflict` naming the current status.
pub async fn decide_by_admin(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    outcome: MerchantStatus,
    admin: &str,
    reason: Option<String>,
) -> Result<Merchant, Error> {
    apply_admin_decision(app, merchant_id, outcome, admin, reason, |merchant, decision| {
        let undecided = if merchant.status.is_undecided() { Ok(()) } else { Err(merchant.status.as_str()) };
        undecided
            .map_err(|status| format!("the merchant is {status}"))
            .and_then(|()| merchant.apply(decision).map_err(|e| e.to_string()))
            .map_err(|e| Error::Conflict(format!("{e}; only pending_kyc or manual_review merchants can be decided")))
    })
    .await
}

/// An admin's decision: read the merchant, let `decide` apply it (or refuse), save it conditional on the
/// version read, and on a lost race read again.
async fn apply_admin_decision(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    outcome: MerchantStatus,
    admin: &str,
    reason: Option<String>,
    decide: impl Fn(&mut Merchant, KycDecision) -> Result<(), Error>,
) -> Result<Merchant, Error> {
    let merchants = Merchants::new(app.table());
    for _ in 0..MAX_DECISION_ATTEMPTS {
        let mut merchant = merchants.get(merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
        decide(&mut merchant, KycDecision::by_admin(outcome, admin, reason.clone(), app.clock().now()))?;
        if merchant.save(app.table()).await? == Written::Done {
            info!(%merchant_id, status = merchant.status.as_str(), admin, "admin decision");
            return Ok(merchant);
        }
    }
    Err(Error::Conflict("the merchant was changed concurrently; retry the request".into()))
}
