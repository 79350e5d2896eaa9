//! Order webhooks end to end on both backends: setup on the store, verified and deduplicated deliveries,
//! exactly one charge per order through the routed PSP, and the order marked paid in the store. Includes
//! the storm test: 200 orders, 1,000 deliveries with duplicates, concurrency and retries, a PSP failing
//! 20 % of calls transiently, and tampered deliveries.
//!
//! Here the flow itself; [`reads`] checks what a delivery reads from the secrets and the table (once,
//! cached), [`store_updates`] that a product update survives a failed write and a concurrent price edit.

mod reads;
mod store_updates;

use std::sync::Arc;

use pivota_fakes::{FakeCustomStore, FakeFailure};
use serde_json::json;

use crate::fixtures::shop::{order, shop};
use crate::fixtures::{Backend, call, drain_payment_queue};

on_both_backends!(
    webhook_setup_is_idempotent,
    bad_signatures_get_401_and_leave_no_trace,
    a_delivery_is_signed_with_its_topic_and_time,
    an_order_is_paid_once_and_marked_paid_in_the_store,
    paid_declined_and_write_back_failures_are_handled,
    a_message_that_fails_near_the_deadline_comes_back_after_its_backoff,
    storm_of_deliveries_charges_each_order_exactly_once,
);

async fn webhook_setup_is_idempotent(backend: Backend) {
    let s = shop(backend).await;
    let (status, again) = call(&s.test.app, "POST", &format!("/merchant/{}/store/{}/webhooks/setup", s.id, s.store_id))
        .bearer(&s.key)
        .send()
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["webhooks"].as_array().unwrap().len(), 2, "order.created and product.updated: {again}");
    let topics: Vec<String> = s.store.webhooks().iter().map(|w| w.topic.clone()).collect();
    assert_eq!(topics.len(), 2, "one subscription per topic on the store: {topics:?}");
    assert!(s.store.webhooks().iter().all(|w| w.url.ends_with(&format!("/webhooks/custom/{}", s.store_id))));
}

async fn bad_signatures_get_401_and_leave_no_trace(backend: Backend) {
    let s = shop(backend).await;
    let body = order(1, json!({}));
    assert_eq!(s.deliver(&body, "e-1", Some("t=1,v1=00".into())).await, 401);
    let mut tampered = body.clone();
    let signature = FakeCustomStore::sign_with(&s.secret, "order.created", &body);
    tampered[10] ^= 1;
    assert_eq!(s.deliver(&tampered, "e-1", Some(signature)).await, 401);
    assert_eq!(s.deliver(&body, "e-1", Some(String::new())).await, 401);
    assert!(s.orders().await.is_empty());
    drain_payment_queue(&s.test.app).await;
    assert_eq!(s.stripe.requests(), 1, "only the key check at connect");
    // The same event, correctly signed, is then accepted: the refusals left no dedupe record behind.
    assert_eq!(s.deliver(&body, "e-1", None).await, 200);
    assert_eq!(s.orders().await.len(), 1);
}

async fn a_delivery_is_signed_with_its_topic_and_time(backend: Backend) {
    let s = shop(backend).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let body = order(5, json!({}));
    // A body the store signed as a product update, replayed as an order: the topic is signed too.
    let as_product = FakeCustomStore::sign_with(&s.secret, "product.updated", &body);
    assert_eq!(s.deliver(&body, "e-5", Some(as_product)).await, 401);
    // Signed too long ago (a replay), or too far ahead: refused, naming the header.
    for signed_at in [now - 600, now + 600] {
        let signature = FakeCustomStore::sign_at(&s.secret, "order.created", signed_at, &body);
        let (status, problem) = s.delivery(&body, "e-5", Some(signature)).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "X-Pivota-Signature", "{problem}");
    }
    assert!(s.orders().await.is_empty(), "nothing recorded");
    // Within the tolerance, as a retry signed a few minutes late would be: applied.
    let signature = FakeCustomStore::sign_at(&s.secret, "order.created", now - 240, &body);
    assert_eq!(s.delivery(&body, "e-5", Some(signature)).await.0, 200);
    assert_eq!(s.orders().await.len(), 1);
}

async fn an_order_is_paid_once_and_marked_paid_in_the_store(backend: Backend) {
    let s = shop(backend).await;
    let body = order(42, json!({}));
    assert_eq!(s.deliver(&body, "evt-42", None).await, 200);
    assert_eq!(s.deliver(&body, "evt-42", None).await, 200, "a duplicate delivery");
    assert_eq!(s.deliver(&body, "evt-42-retry", None).await, 200, "the same order, another event id");
    let orders = s.orders().await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["status"], "received");
    drain_payment_queue(&s.test.app).await;
    let orders = s.orders().await;
    let paid = &orders[0];
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(paid["amount"], 1042);
    assert_eq!(s.stripe.charges(), 1);
    let marked = s.store.orders_marked_paid();
    assert_eq!(marked, vec![("42".to_owned(), paid["psp_reference"].as_str().unwrap().to_owned())]);
}

async fn paid_declined_and_write_back_failures_are_handled(backend: Backend) {
    let s = shop(backend).await;
    assert_eq!(s.deliver(&order(1, json!({"paid": true})), "p-1", None).await, 200);
    assert_eq!(s.deliver(&order(2, json!({"payment_method": "pm_card_visa_chargeDeclined"})), "p-2", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    let orders = s.orders().await;
    let by_id = |id: &str| orders.iter().find(|o| o["external_id"] == id).unwrap().clone();
    assert_eq!(by_id("1")["status"], "already_paid");
    let declined = by_id("2");
    assert_eq!((declined["status"].as_str(), declined["write_back"].as_str()), (Some("declined"), Some("not_needed")));
    assert_eq!(declined["decline_code"], "generic_decline");
    assert_eq!(s.stripe.charges(), 0);
    assert!(s.store.orders_marked_paid().is_empty());

    // The store fails the write-back once: retried through the queue, not by charging again.
    s.store.fail_next(1, FakeFailure::Http503);
    assert_eq!(s.deliver(&order(3, json!({})), "p-3", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    let third = s.orders().await.into_iter().find(|o| o["external_id"] == "3").unwrap();
    assert_eq!((third["status"].as_str(), third["write_back"].as_str()), (Some("paid"), Some("done")), "{third}");
    assert_eq!(s.stripe.charges(), 1);
    assert_eq!(s.store.orders_marked_paid().len(), 1);
}

/// A message whose order could not finish (the store's write-back failed) and no time is left to retry in
/// the invocation comes back after the worker's backoff (1 s on a first receive), not after the queue's
/// visibility timeout.
async fn a_message_that_fails_near_the_deadline_comes_back_after_its_backoff(backend: Backend) {
    let s = shop(backend).await;
    let app: &pivota::app::App = &s.test.app;
    assert_eq!(s.deliver(&order(5, json!({})), "b-5", None).await, 200);
    s.store.fail_next(1, FakeFailure::Http503);
    // Received as Lambda's event source would, hidden for a minute.
    let hidden = std::time::Duration::from_secs(60);
    let messages = app.queue.receive(&app.settings.payment_queue, 10, hidden).await.unwrap();
    assert_eq!(messages.len(), 1);
    let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
    record.message_id = Some(messages[0].message_id.clone());
    record.receipt_handle = Some(messages[0].receipt_handle.clone());
    record.attributes.insert("ApproximateReceiveCount".into(), "1".into());
    record.body = Some(messages[0].body.clone());
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    event.records.push(record);

    // Just over the worker's 10 s margin: it takes the message, but has no time for an in-place retry
    // (its first backoff is 250 ms).
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(10_200);
    let response = pivota::orders::payment_worker::handle(app, event, deadline).await;
    let state = s.orders().await;
    assert_eq!(response.batch_item_failures.len(), 1, "the message must come back: {state:?}");
    let charged = s.orders().await.into_iter().find(|o| o["external_id"] == "5").unwrap();
    assert_eq!((charged["status"].as_str(), charged["write_back"].as_str()), (Some("paid"), Some("failed")));

    // Back within a few seconds, not a minute; then it finishes the write-back without a second charge.
    let started = std::time::Instant::now();
    let again = loop {
        let again = app.queue.receive(&app.settings.payment_queue, 10, hidden).await.unwrap();
        if !again.is_empty() || started.elapsed() > std::time::Duration::from_secs(15) {
            break again;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(again.len(), 1, "the message did not come back within 15 s");
    for message in again {
        app.queue
            .change_visibility(&app.settings.payment_queue, &message.receipt_handle, std::time::Duration::ZERO)
            .await
            .unwrap();
    }
    drain_payment_queue(app).await;
    let done = s.orders().await.into_iter().find(|o| o["external_id"] == "5").unwrap();
    assert_eq!(done["write_back"], "done", "{done}");
    assert_eq!(s.stripe.charges(), 1);
}

async fn storm_of_deliveries_charges_each_order_exactly_once(backend: Backend) {
    let s = Arc::new(shop(backend).await);
    s.stripe.fail_randomly(20, 7, FakeFailure::Http503);
    // 200 orders x 5 deliveries: the original, an exact duplicate, two concurrent duplicates, and a
    // retry as after a timeout. Shuffled deterministically, 50 at a time.
    let mut deliveries: Vec<(u32, String)> = Vec::new();
    for id in 1..=200u32 {
        for copy in 0..5 {
            let event = if copy == 4 { format!("evt-{id}-retry") } else { format!("evt-{id}") };
            deliveries.push((id, event));
        }
    }
    let mut seed = 0x9e3779b97f4a7c15u64;
    for i in (1..deliveries.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        deliveries.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    for chunk in deliveries.chunks(50) {
        let calls = chunk.iter().cloned().map(|(id, event)| {
            let s = s.clone();
            tokio::spawn(async move { s.deliver_with_retries(&order(id, json!({})), &event).await })
        });
        let statuses: Vec<u16> = futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
        assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    }
    // Tampered bodies and bad signatures: 401, and no trace.
    for id in 1001..1026u32 {
        let body = order(id, json!({}));
        let mut tampered = body.clone();
        tampered[5] ^= 1;
        assert_eq!(
            s.deliver(
                &tampered,
                &format!("t-{id}"),
                Some(FakeCustomStore::sign_with(&s.secret, "order.created", &body))
            )
            .await,
            401
        );
        assert_eq!(s.deliver(&body, &format!("b-{id}"), Some("t=1,v1=deadbeef".into())).await, 401);
    }
    // Messages that failed come back after an exponential backoff (2^receives s), longer than one drain's
    // idle window: drain until every order is paid, within a bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while std::time::Instant::now() < deadline {
        drain_payment_queue(&s.test.app).await;
        if s.orders().await.iter().all(|o| o["status"] == "paid" && o["write_back"] == "done") {
            break;
        }
    }
    let orders = s.orders().await;
    let mut distinct: Vec<&str> = orders.iter().map(|o| o["external_id"].as_str().unwrap()).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 200, "tampered deliveries left no order");
    assert_eq!(orders.len(), 200, "one record per order, however many deliveries");
    assert!(
        orders.iter().all(|o| o["status"] == "paid" && o["write_back"] == "done"),
        "{:?}",
        orders.iter().find(|o| o["status"] != "paid")
    );
    assert_eq!(s.stripe.charges(), 200, "exactly one charge per order");
    let mut marked: Vec<String> = s.store.orders_marked_paid().into_iter().map(|(id, _)| id).collect();
    marked.sort();
    marked.dedup();
    assert_eq!(marked.len(), 200);
}
