//! Sync jobs: resumed across invocations without loss or duplicates, a duplicate message of a held job
//! done, a replaced job ended, and the end-of-sync removal resumed from its checkpoint.

use std::time::Duration;

use pivota_fakes::{FakeShop, FakeShopify};
use serde_json::json;

use super::merchant;
use crate::fixtures::{Backend, call, stores};

on_both_backends!(
    a_sync_resumes_across_invocations_without_loss_or_duplicates,
    a_duplicate_message_of_a_held_job_is_done_and_a_replaced_job_ends,
    the_end_of_sync_removal_resumes_from_its_checkpoint_and_counts_each_product_once,
);

async fn a_sync_resumes_across_invocations_without_loss_or_duplicates(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(160)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    // Each invocation has less than the worker's safety margin: one page, then a continuation message.
    let (job, invocations) = m.sync(&store_id, Duration::from_secs(5)).await;
    let pages = job["progress"]["pages"].as_u64().unwrap();
    assert!(pages >= 2 && invocations as u64 >= pages, "{invocations} invocations for {pages} pages");
    assert_eq!(
        (job["progress"]["products_seen"].as_u64(), job["progress"]["written"].as_u64()),
        (Some(160), Some(160)),
        "{job}"
    );
    let (_, all) = m.get(&format!("/products?store_id={store_id}&limit=100")).await;
    let (_, rest) = m
        .get(&format!("/products?store_id={store_id}&limit=100&cursor={}", all["next_cursor"].as_str().unwrap()))
        .await;
    assert_eq!(all["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(), 160);
}

/// A sync message for a job another worker holds is a duplicate: done, not failed (failing it would count a
/// healthy job toward the DLQ). A job a newer sync replaced ends as such when its message comes back, so
/// two jobs of one store never run side by side.
async fn a_duplicate_message_of_a_held_job_is_done_and_a_replaced_job_ends(backend: Backend) {
    use pivota::catalog::sync::{JobState, RunOutcome, SyncMessage};
    let m = merchant(backend, true).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(3)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    let (status, started) =
        call(&m.test.app, "POST", &format!("/merchant/{}/store/{store_id}/sync", m.id)).bearer(&m.key).send().await;
    assert_eq!(status, 202, "{started}");
    let merchant_id = pivota::onboarding::merchant::MerchantId::parse(&m.id).unwrap();
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    let message = SyncMessage { merchant_id: m.id.clone(), store_id: store_id.clone(), job_id: job_id.clone() };

    // GIVEN the job held by a worker (a live lease)
    let key = pivota::ports::ItemKey::new(format!("MERCHANT#{}", m.id), format!("SYNCJOB#{job_id}"));
    let mut item = m.test.app.table.get(&key).await.unwrap().unwrap();
    let mut job: pivota::catalog::sync::SyncJob =
        serde_json::from_value(serde_json::to_value(&item.attrs).unwrap()).unwrap();
    job.state = JobState::Running;
    job.lease_until = Some(time::OffsetDateTime::now_utc() + time::Duration::minutes(5));
    let version = item.version;
    item.attrs = serde_json::from_value(serde_json::to_value(&job).unwrap()).unwrap();
    item.version = version + 1;
    m.test.app.table.put(item, pivota::ports::Condition::VersionIs(version)).await.unwrap();

    // WHEN its duplicate message arrives THEN the worker reports no failure for it
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    assert_eq!(pivota::catalog::sync::run(&*m.test.app, &message, deadline).await.unwrap(), RunOutcome::Busy);
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({
        "Records": [{"messageId": "m-dup", "body": serde_json::to_string(&message).unwrap()}]
    }))
    .unwrap();
    let response = pivota::lifecycle::sync_worker::handle(&*m.test.app, event, deadline).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // GIVEN the job taken for lost and replaced by a newer sync, WHEN its message comes back after its
    // lease, THEN it ends as replaced and the newer job is the store's
    let mut item = m.test.app.table.get(&key).await.unwrap().unwrap();
    job = serde_json::from_value(serde_json::to_value(&item.attrs).unwrap()).unwrap();
    job.lease_until = Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
    job.updated_at = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let version = item.version;
    item.attrs = serde_json::from_value(serde_json::to_value(&job).unwrap()).unwrap();
    item.version = version + 1;
    m.test.app.table.put(item, pivota::ports::Condition::VersionIs(version)).await.unwrap();
    let (status, newer) =
        call(&m.test.app, "POST", &format!("/merchant/{}/store/{store_id}/sync", m.id)).bearer(&m.key).send().await;
    assert_eq!(status, 202, "{newer}");
    assert_ne!(newer["job_id"], started["job_id"], "a stale job is replaced");
    assert_eq!(pivota::catalog::sync::run(&*m.test.app, &message, deadline).await.unwrap(), RunOutcome::Done);
    let old = pivota::catalog::sync::get_job(&*m.test.app, &merchant_id, &job_id).await.unwrap().unwrap();
    assert_eq!((old.state, old.error.as_deref()), (JobState::Failed, Some("replaced by a newer sync of the store")));
    let (_, store) = m.get(&format!("/store/{store_id}")).await;
    assert_ne!(store["connection_status"], "error", "the replaced job does not speak for the store: {store}");
}

/// The end of a sync walks the store's products from a checkpointed cursor, a step per invocation when time
/// is short, and removes exactly the products no page stamped. A step whose checkpoint is lost (the worker
/// died after removing, before saving) is redone without counting its products again.
async fn the_end_of_sync_removal_resumes_from_its_checkpoint_and_counts_each_product_once(backend: Backend) {
    use pivota::catalog::sync::SyncPhase;
    let m = merchant(backend, true).await;
    let products = 450;
    // A bucket that refills ten times faster than Shopify's: the catalog's pages need no rate-limit waits
    // here (honouring them is `a_full_pass_that_sleeps_as_told_is_never_throttled_by_a_small_bucket`).
    let shop = FakeShop { restore_rate: 1_000.0, ..FakeShop::default() };
    let fake = FakeShopify::start(shop.with_products(products)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    m.sync(&store_id, Duration::from_secs(120)).await;
    let gone: Vec<usize> = (0..products).step_by(10).collect();
    for index in &gone {
        fake.remove_product(*index);
    }

    let (status, started) =
        call(&m.test.app, "POST", &format!("/merchant/{}/store/{store_id}/sync", m.id)).bearer(&m.key).send().await;
    assert_eq!(status, 202, "{started}");
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    let merchant_id = pivota::onboarding::merchant::MerchantId::parse(&m.id).unwrap();
    let job_key = pivota::ports::ItemKey::new(format!("MERCHANT#{}", m.id), format!("SYNCJOB#{job_id}"));
    let app: &pivota::app::App = &m.test.app;
    let (mut removal_invocations, mut lost_checkpoint) = (0, None);
    let mut restored = false;
    let give_up = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < give_up {
        let job = pivota::catalog::sync::get_job(app, &merchant_id, &job_id).await.unwrap().unwrap();
        if job.is_finished() {
            break;
        }
        // A checkpoint inside the removal phase, to be lost after the next step.
        if job.phase == SyncPhase::Removal && job.removal_cursor.is_some() && lost_checkpoint.is_none() {
            lost_checkpoint = Some(app.table.get(&job_key).await.unwrap().unwrap());
        }
        let messages = app.queue.receive(&app.settings.sync_queue, 1, Duration::from_secs(60)).await.unwrap();
        let Some(message) = messages.into_iter().next() else {
            // A continuation may be delayed (the shop's rate limit).
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(json!({"Records": [{"messageId": message.message_id, "body": message.body}]}))
                .unwrap();
        // Less time than the worker's safety margin: one page, or one removal step, per invocation.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let response = pivota::lifecycle::sync_worker::handle(app, event, deadline).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        app.queue.delete(&app.settings.sync_queue, &message.receipt_handle).await.unwrap();
        if job.phase == SyncPhase::Removal {
            removal_invocations += 1;
        }
        if let Some(mut checkpoint) = lost_checkpoint.clone().filter(|_| !restored && removal_invocations >= 1) {
            // The step after the checkpoint removed its products, then its checkpoint was lost.
            let current = app.table.get(&job_key).await.unwrap().unwrap();
            checkpoint.version = current.version + 1;
            app.table.put(checkpoint, pivota::ports::Condition::VersionIs(current.version)).await.unwrap();
            restored = true;
        }
    }
    assert!(restored, "a removal step was redone");
    let job = pivota::catalog::sync::get_job(app, &merchant_id, &job_id).await.unwrap().unwrap();
    assert_eq!(job.state, pivota::catalog::sync::JobState::Succeeded, "{:?}", job.error);
    // The first step runs in the invocation of the last page; the others each in one of their own, one redone.
    let steps = (products as u32).div_ceil(pivota::catalog::products::REMOVAL_PAGE) as usize;
    assert!(steps >= 3 && removal_invocations == steps, "{removal_invocations} invocations for {steps} steps");
    assert_eq!(job.progress.removed, gone.len() as u64, "each removed product counted once: {:?}", job.progress);
    let removed = m.products_of(&store_id).await.into_iter().filter(|p| p["status"] == "removed").count();
    assert_eq!(removed, gone.len(), "exactly the products the store no longer lists");
    assert_eq!(job.progress.products_seen, (products - gone.len()) as u64);
}
