//! A merchant's status: where it stands in onboarding (KYC) and whether it may take payments.

use serde::{Deserialize, Serialize};

/// Where a merchant stands. KYC decisions move it out of the undecided states; an admin suspends and
/// reinstates an approved merchant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    /// Registered; the automatic KYC checks run after the wait.
    PendingKyc,
    /// The automatic checks flagged something; an admin decides.
    ManualReview,
    /// May connect a PSP and take payments.
    Approved,
    /// Refused by an admin. Final.
    Rejected,
    /// Was approved; an admin stopped it. Its keys get 403 and its orders are not charged until an
    /// admin reinstates it.
    Suspended,
}

impl MerchantStatus {
    pub const ALL: [MerchantStatus; 5] = [
        MerchantStatus::PendingKyc,
        MerchantStatus::ManualReview,
        MerchantStatus::Approved,
        MerchantStatus::Rejected,
        MerchantStatus::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::PendingKyc => "pending_kyc",
            MerchantStatus::ManualReview => "manual_review",
            MerchantStatus::Approved => "approved",
            MerchantStatus::Rejected => "rejected",
            MerchantStatus::Suspended => "suspended",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }

    /// Whether a KYC decision may still be taken.
    pub fn is_undecided(self) -> bool {
        matches!(self, MerchantStatus::PendingKyc | MerchantStatus::ManualReview)
    }

    /// What the merchant (and the console) should do next.
    pub fn next_step(self) -> &'static str {
        match self {
            MerchantStatus::PendingKyc => "wait_for_kyc",
            MerchantStatus::ManualReview => "wait_for_review",
            MerchantStatus::Approved => "connect_psp",
            MerchantStatus::Rejected | MerchantStatus::Suspended => "contact_support",
        }
    }
}
