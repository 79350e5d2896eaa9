//! Which PSPs may take a payment: the merchant's connections and routing, read once per payment
//! ([`PaymentSetup`]), narrowed to what each PSP can charge.

use crate::kernel::error::Error;
use crate::kernel::money::Money;
use crate::onboarding::merchant::MerchantId;
use crate::payments::psp_connections::{self, PspConnection};
use crate::payments::routing::{self, RoutingDocument};
use crate::payments::{connectors::PspMode, psp::PspKind};
use crate::ports::HasTable;

use super::PaymentCommand;

/// What a merchant's payments are routed by: its PSP connections and its routing document, read once
/// for a payment and used for every decision in it.
#[derive(Clone, Debug)]
pub struct PaymentSetup {
    connections: Vec<PspConnection>,
    routing: Option<RoutingDocument>,
}

impl PaymentSetup {
    /// Two reads: the merchant's connections (one query) and its routing document.
    pub async fn load(app: &impl HasTable, merchant_id: &MerchantId) -> Result<Self, Error> {
        let (connections, routing) =
            futures::try_join!(psp_connections::list(app, merchant_id), routing::get(app.table(), merchant_id),)?;
        Ok(Self { connections, routing: routing.map(|(document, _)| document) })
    }

    /// Whether any PSP is connected in `mode`.
    pub fn has_mode(&self, mode: PspMode) -> bool {
        self.connections.iter().any(|c| c.mode == mode)
    }

    /// The routing document's `test_payment_method`, if the merchant set one.
    pub fn test_payment_method(&self) -> Option<String> {
        self.routing.as_ref()?.test_payment_method.clone().map(String::from)
    }

    /// The connection a payment of `mode` is charged through at `psp`.
    pub(super) fn connection(&self, psp: PspKind, mode: PspMode) -> Option<&PspConnection> {
        self.connections.iter().find(|c| c.psp == psp && c.mode == mode)
    }

    /// The PSPs to try: connected ones in the payment's mode, in routing order (or connection order when
    /// the merchant has no routing document). `Conflict` when none is connected in that mode.
    pub(super) fn candidates(
        &self,
        merchant_id: &MerchantId,
        mode: PspMode,
        amount: &Money,
    ) -> Result<Vec<PspKind>, Error> {
        let mut connections: Vec<&PspConnection> = self.connections.iter().filter(|c| c.mode == mode).collect();
        connections.sort_by_key(|c| c.connected_at);
        let available: Vec<PspKind> = connections.iter().map(|c| c.psp).collect();
        let candidates = match &self.routing {
            Some(document) => document.candidates(amount, &available),
            None => available,
        };
        if candidates.is_empty() {
            return Err(Error::Conflict(format!(
                "no {}-mode PSP is connected; connect one with POST /merchant/{merchant_id}/psp/connect",
                mode.as_str()
            )));
        }
        Ok(candidates)
    }
}

/// Where [`execute`](super::execute) gets the merchant's connections and routing.
#[derive(Clone, Copy)]
pub(super) enum Setup<'a> {
    /// Read by the caller.
    Read(&'a PaymentSetup),
    /// Read on first need, into the caller's slot.
    OnDemand,
}

impl<'a> Setup<'a> {
    pub(super) async fn read<'s>(
        self,
        app: &impl HasTable,
        merchant_id: &MerchantId,
        slot: &'s mut Option<PaymentSetup>,
    ) -> Result<&'s PaymentSetup, Error>
    where
        'a: 's,
    {
        match self {
            Setup::Read(setup) => Ok(setup),
            Setup::OnDemand => {
                if slot.is_none() {
                    *slot = Some(PaymentSetup::load(app, merchant_id).await?);
                }
                Ok(slot.as_ref().expect("just filled"))
            }
        }
    }
}

/// Narrows the routed PSPs to those that may take this payment, before any PSP is called:
/// - a sandbox test card (the only card number accepted) is charged in test mode through the sandbox only;
/// - each PSP must represent the amount in its own minor units (`connectors::minor_units`);
/// - the metadata must fit every routed PSP's limits, the strictest deciding (`connectors::metadata`).
///
/// Nothing left: 422 naming `payment_method`, `amount` or `currency`.
pub(super) fn restrict_to_what_can_be_charged(
    candidates: &mut Vec<PspKind>,
    mode: PspMode,
    command: &PaymentCommand,
) -> Result<(), Error> {
    let refuse = |field: &str, message: String| {
        Error::Validation(crate::kernel::validation::FieldError::new(field, message).into())
    };
    if command.payment_method.as_deref().is_some_and(crate::payments::card::is_sandbox_test_card) {
        if mode == PspMode::Live {
            return Err(refuse("payment_method", crate::payments::card::REFUSAL.into()));
        }
        candidates.retain(|psp| psp.profile().takes_test_cards());
        if candidates.is_empty() {
            return Err(refuse(
                "payment_method",
                "is a sandbox test card, and the sandbox is not among this payment's routed PSPs".into(),
            ));
        }
    }
    for psp in candidates.iter() {
        let limits = psp.profile().metadata_limits();
        crate::payments::connectors::metadata::check(psp.as_str(), limits, &command.metadata)
            .map_err(|e| Error::Validation(e.into()))?;
    }
    // A PSP that finds a stored payment method only under its customer (Adyen's shopperReference) is not
    // asked to charge without one.
    if command.customer.is_none() {
        let mut first_need = None;
        candidates.retain(|psp| match psp.profile().customer_required() {
            Some(why) => {
                first_need.get_or_insert(format!("is required by {}: {why}", psp.profile().display_name()));
                false
            }
            None => true,
        });
        if let Some(need) = first_need.filter(|_| candidates.is_empty()) {
            return Err(refuse("customer", need));
        }
    }
    let mut first_refusal = None;
    candidates.retain(|psp| {
        match crate::payments::connectors::minor_units::psp_amount(psp.profile(), &command.amount) {
            Ok(_) => true,
            Err(refusal) => {
                first_refusal.get_or_insert((refusal.field, format!("{psp}: {}", refusal.message)));
                false
            }
        }
    });
    match first_refusal {
        Some((field, message)) if candidates.is_empty() => Err(refuse(field, message)),
        _ => Ok(()),
    }
}
