//! Every conformance case once, generic over a [`Fixture`]. `conformance_cases!(SomeFixture)` turns each
//! into a `#[tokio::test]`.
//!
//! Waits are short and real (1–2 s): the AWS side runs against an emulator on wall-clock time.

mod messaging;
mod table;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use pivota::ports::{
    Condition, Index, Item, ItemKey, KycWaitInput, MAX_VISIBILITY_TIMEOUT, PageCursor, Query, QueueError, QueueRef,
    ReceivedMessage, StoreError, WaitStatus, WriteOp,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use ulid::Ulid;

use crate::fixtures::ports::Fixture;

pub use messaging::*;
pub use table::*;

/// Instantiates every case below as a test against `$fixture`.
macro_rules! conformance_cases {
    ($fixture:ty) => {
        conformance_cases!(@each $fixture;
            conditional_create_keeps_the_first_item,
            concurrent_conditional_creates_have_one_winner,
            stale_version_update_changes_nothing,
            conditional_delete_checks_the_version,
            failed_transaction_writes_nothing,
            successful_transaction_writes_everything,
            concurrent_transactions_are_serializable,
            oversized_or_duplicate_transactions_are_rejected,
            items_and_transactions_over_dynamodbs_size_limits_are_rejected,
            gsi_query_filters_orders_and_pages,
            primary_query_pages_descending,
            foreign_cursor_is_rejected,
            batch_put_writes_sixty_items,
            queue_delivers_and_acknowledges,
            unacknowledged_message_is_redelivered,
            current_receipt_deletes_after_redelivery,
            batch_get_returns_what_exists,
            message_moves_to_dead_letter_after_max_receives,
            delayed_message_stays_hidden_until_due,
            changed_visibility_redelivers_after_the_new_timeout,
            visibility_changed_to_zero_redelivers_at_once,
            deleted_message_visibility_cannot_change,
            visibility_beyond_twelve_hours_is_refused,
            unknown_queue_is_reported,
            fifo_group_is_delivered_in_order_one_at_a_time,
            secret_round_trips,
            secret_rotation_keeps_the_previous_version,
            unknown_secret_is_none,
            secret_delete_is_complete_and_idempotent,
            a_deleted_secret_reads_as_absent,
            kyc_wait_started_twice_fires_once,
            kyc_wait_survives_restart_and_completes,
        );
    };
    (@each $fixture:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $case() {
                $crate::conformance::cases::$case::<$fixture>().await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

pub(crate) fn unique(label: &str) -> String {
    format!("{label}#{}", Ulid::new())
}

pub(crate) fn item(pk: &str, sk: &str, attrs: serde_json::Value) -> Item {
    let serde_json::Value::Object(attrs) = attrs else { panic!("attrs must be a JSON object") };
    Item::new(ItemKey::new(pk, sk), attrs)
}

/// Follows `next` until the query is exhausted, returning every page's items in order.
pub(crate) async fn all_pages<F: Fixture>(fx: &F, mut query: Query) -> (Vec<Item>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let page = fx.table().query(query.clone()).await.expect("query");
        pages += 1;
        assert!(page.items.len() <= query.limit as usize, "a page holds at most `limit` items");
        items.extend(page.items);
        match page.next {
            Some(cursor) => query.cursor = Some(cursor),
            None => return (items, pages),
        }
        assert!(pages < 100, "paging does not terminate");
    }
}

pub(crate) fn sort_keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.key.sk.clone()).collect()
}

/// Receives until at least one message arrives or `within` has passed (emulators deliver on wall-clock
/// time, so a single receive right at a deadline is flaky).
pub(crate) async fn receive_within<F: Fixture>(
    fx: &F,
    queue: &QueueRef,
    visibility: Duration,
    within: Duration,
) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + within;
    loop {
        let got = fx.queue().receive(queue, 10, visibility).await.expect("receive");
        if !got.is_empty() || Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
