//! Connecting a store (after the platform accepted its credentials live) and disconnecting it.

use secrecy::SecretString;

use crate::kernel::error::Error;
use crate::onboarding::merchant::{MerchantId, MerchantStatus};
use crate::onboarding::merchants::Merchants;
use crate::payments::connectors::PspMode;
use crate::ports::HasClock;
use crate::ports::HasDeployment;
use crate::ports::HasQueue;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::ports::{Condition, Item, StoreError, WriteOp};
use crate::record::{FIRST_VERSION, Record};
use crate::stores::credentials::HasStoreCredentials;
use crate::stores::platforms::{self, StoreCredentials, StoreEndpoint};
use crate::stores::tasks::{StoreTask, TaskKind};
use crate::stores::url_safety::HasStoreUrls;

use super::credentials::{credentials, kept_credentials, secret_name, webhook_only_secret_name};
use super::{
    ConnectionStatus, DEFAULT_LOW_STOCK_THRESHOLD, Store, StoreConnectCommand, endpoint, get, owner_key, platform_error,
};

/// Connects a store in `mode`: only after the platform accepted the credentials live; nothing is stored
/// otherwise. (The caller has checked that it may connect a store of that mode.)
pub async fn connect(
    app: &(impl HasTable + HasSecrets + HasClock + HasDeployment + HasStoreUrls),
    merchant_id: &MerchantId,
    mode: PspMode,
    command: StoreConnectCommand,
) -> Result<Store, Error> {
    let merchant = Merchants::new(app.table()).get(merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
    if merchant.status != MerchantStatus::Approved {
        return Err(Error::Conflict(format!(
            "the merchant is {}; only approved merchants may connect a store",
            merchant.status.as_str()
        )));
    }
    let checked = app.store_urls().check(&command.store_url).await.map_err(|e| {
        Error::Validation(crate::kernel::validation::FieldError::new("store_url", e.to_string()).into())
    })?;
    let endpoint =
        StoreEndpoint { base: checked.url.clone(), http: checked.client(std::time::Duration::from_secs(15)) };
    let info = platforms::catalog(command.platform)
        .verify(&endpoint, &command.credentials)
        .await
        .map_err(|e| platform_error(command.platform, e))?;

    let store_id = format!("sto_{}", ulid::Ulid::new());
    let secret_ref = secret_name(app, merchant_id, &store_id);
    let serialized = serde_json::to_string(&command.credentials).map_err(|e| Error::Internal(e.to_string()))?;
    app.secrets().put(&secret_ref, &serialized.into()).await?;
    let now = app.clock().now();
    let store = Store {
        store_id: store_id.clone(),
        merchant_id: merchant_id.clone(),
        platform: command.platform,
        store_url: command.store_url.to_string(),
        store_name: info.name,
        currency: info.currency,
        mode,
        connection_status: ConnectionStatus::Connected,
        secret_ref,
        last_sync_at: None,
        product_count: 0,
        last_job_id: None,
        removal_task_id: None,
        webhooks: Vec::new(),
        shop_identity: None,
        low_stock_threshold: DEFAULT_LOW_STOCK_THRESHOLD,
        last_error: None,
        rate_limited_until: None,
        created_at: now,
        updated_at: now,
        version: FIRST_VERSION,
    };
    let mut owner = serde_json::Map::new();
    owner.insert("merchant_id".into(), merchant_id.as_str().into());
    let ops = vec![
        store.create_op()?,
        WriteOp::Put { item: Item::new(owner_key(&store_id), owner), condition: Condition::NotExists },
    ];
    app.table().transact(ops).await?;
    tracing::info!(%merchant_id, store_id, platform = command.platform.as_str(), "store connected");
    Ok(store)
}

/// Disconnects a store: removes the webhooks Pivota created on it (best effort: a store that cannot be
/// reached keeps them, and its deliveries are refused from now on), deletes the credentials, and queues the
/// removal of its products as a task ([`deactivate`]), answering without waiting for it. Idempotent:
/// disconnecting a disconnected store changes nothing but queues its removal again if that never finished.
pub async fn disconnect(
    app: &(impl HasTable + HasSecrets + HasQueue + HasClock + HasStoreUrls + HasStoreCredentials),
    merchant_id: &MerchantId,
    store_id: &str,
) -> Result<(), Error> {
    let store = get(app, merchant_id, store_id).await?;
    if store.connection_status == ConnectionStatus::Disconnected {
        return requeue_removal(app, &store).await;
    }
    if !store.webhooks.is_empty()
        && let Ok(credentials) = credentials(app, &store).await
    {
        let url = url::Url::parse(&store.store_url).map_err(|e| Error::Internal(e.to_string()))?;
        let removed = match endpoint(app, &url, std::time::Duration::from_secs(10)).await {
            Ok(endpoint) => {
                platforms::webhooks(store.platform).unsubscribe(&endpoint, &credentials, &store.webhooks).await.is_ok()
            }
            Err(_) => false,
        };
        if !removed {
            tracing::warn!(store_id, "could not remove the store's webhooks; its deliveries will be refused");
        }
    }
    // Each step is idempotent and the status changes last, so a retry after a failure finishes the job.
    if store.platform.profile().verifies_after_disconnect()
        && let Some(webhook_secret) = kept_credentials(app, &store).await?.and_then(|c| c.webhook_secret)
    {
        let alone = StoreCredentials::token(SecretString::from(String::new()), Some(webhook_secret));
        let serialized = serde_json::to_string(&alone).map_err(|e| Error::Internal(e.to_string()))?;
        app.secrets().put(&webhook_only_secret_name(&store), &serialized.into()).await?;
    }
    app.secrets().delete(&store.secret_ref).await?;
    app.store_credentials().forget(store_id);
    deactivate(app, merchant_id, store_id, ConnectionStatus::Disconnected).await?;
    tracing::info!(%merchant_id, store_id, "store disconnected");
    Ok(())
}

/// Moves a store to `status` (disconnected or uninstalled: its webhooks cleared) together with the task
/// that removes its products, in one transaction, then queues the task. A store already in that status
/// only has its unfinished removal queued again: the retry of a request whose queueing failed.
pub async fn deactivate(
    app: &(impl HasTable + HasQueue + HasClock),
    merchant_id: &MerchantId,
    store_id: &str,
    status: ConnectionStatus,
) -> Result<(), Error> {
    for _ in 0..8 {
        let mut store = get(app, merchant_id, store_id).await?;
        if store.connection_status == status {
            return requeue_removal(app, &store).await;
        }
        let task = StoreTask::new(app, merchant_id, store_id, TaskKind::RemoveProducts);
        store.connection_status = status;
        store.webhooks.clear();
        store.removal_task_id = Some(task.task_id.clone());
        store.updated_at = app.clock().now();
        match app.table().transact(vec![store.save_op()?, task.create_op()?]).await {
            Ok(()) => return crate::stores::tasks::enqueue(app, &task).await,
            // The store changed under us (a sync finishing): read it again.
            Err(StoreError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict("the store kept changing; retry".into()))
}

async fn requeue_removal(app: &(impl HasTable + HasQueue), store: &Store) -> Result<(), Error> {
    match &store.removal_task_id {
        Some(task_id) => crate::stores::tasks::requeue(app, &store.merchant_id, task_id).await,
        None => Ok(()),
    }
}
