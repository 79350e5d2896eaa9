//! `list_orders` and `get_order`: the orders of `GET /merchant/{id}/orders`, and one order with its
//! payment and write-back status.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{PivotaMcp, params};
use crate::views::{OrderPage, OrderView};
use pivota::kernel::error::Error;
use pivota::orders::{self, Order};

/// How many of the newest orders `get_order` looks through for an order `name`.
pub const NAME_LOOKUP_DEPTH: u32 = 500;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListOrdersArgs {
    /// Only orders in this status: received, awaiting_payment_method, already_paid, paid, declined,
    /// requires_action, failed or not_chargeable.
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, with the same status.
    pub cursor: Option<String>,
}

/// Which order: Pivota's `order_id`, or the store's own id (`external_id`, with `store_id` when the
/// merchant has several stores), or the order's name as the store shows it (`#1042`, or `1042`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetOrderArgs {
    /// Pivota's id of the order (`ord_…`).
    pub order_id: Option<String>,
    /// The store's own id of the order.
    pub external_id: Option<String>,
    /// The store of `external_id`; leave out to look in every store.
    pub store_id: Option<String>,
    /// The order's name in the store, such as `#1042`: found among the newest 500 orders.
    pub name: Option<String>,
}

#[tool_router(router = order_tools, vis = "pub(super)")]
impl PivotaMcp {
    #[tool(
        description = "List the merchant's orders, newest first, optionally in one status, with payment and write-back \
                       status. Paged: pass next_cursor back as cursor.",
        annotations(title = "List orders", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn list_orders(&self, Parameters(args): Parameters<ListOrdersArgs>) -> Result<Json<OrderPage>, String> {
        let params =
            params([("status", args.status), ("limit", args.limit.map(|v| v.to_string())), ("cursor", args.cursor)]);
        let listed = async {
            let (status, limit, cursor) = pivota_http::orders::list_filter(&params)?;
            orders::list(self.app.as_ref(), &self.caller.merchant_id, status, limit, cursor).await
        };
        let (found, next) = listed.await.map_err(|e| self.refuse("list_orders", &e))?;
        Ok(Json(OrderPage {
            items: found.iter().map(OrderView::of).collect(),
            next_cursor: next.as_ref().map(pivota_http::cursor::seal),
        }))
    }

    #[tool(
        description = "One order: its status, payment (payment_id, PSP, PSP reference, decline code), whether the store \
                       was told it is paid (write_back), and the reason when it is not chargeable. Name it by order_id, \
                       by the store's external_id, or by its name in the store (\"#1042\").",
        annotations(title = "Get an order", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_order(&self, Parameters(args): Parameters<GetOrderArgs>) -> Result<Json<OrderView>, String> {
        self.find_order(args).await.map(|order| Json(OrderView::of(&order))).map_err(|e| self.refuse("get_order", &e))
    }
}

impl PivotaMcp {
    async fn find_order(&self, args: GetOrderArgs) -> Result<Order, Error> {
        let app = self.app.as_ref();
        let merchant = &self.caller.merchant_id;
        let trimmed = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let found = match (trimmed(args.order_id), trimmed(args.external_id), trimmed(args.name)) {
            (Some(order_id), None, None) => orders::get(app, merchant, &order_id).await?,
            (None, Some(external_id), None) => {
                let stores = match trimmed(args.store_id) {
                    Some(store_id) => vec![pivota::stores::get(app, merchant, &store_id).await?],
                    None => pivota::stores::list(app, merchant).await?,
                };
                let mut found = None;
                for store in stores {
                    if let Some(order) = orders::find(app, merchant, &store.store_id, &external_id).await? {
                        found = Some(order);
                        break;
                    }
                }
                found
            }
            (None, None, Some(name)) => self.order_named(&name).await?,
            (None, None, None) => {
                return Err(Error::bad_parameter("order_id", "is required, or external_id, or name"));
            }
            _ => return Err(Error::bad_parameter("order_id", "give one of order_id, external_id and name")),
        };
        found.ok_or(Error::NotFound("order"))
    }

    /// The newest order whose name is `name` (with or without its `#`), among the newest
    /// [`NAME_LOOKUP_DEPTH`].
    async fn order_named(&self, name: &str) -> Result<Option<Order>, Error> {
        let wanted = name.trim_start_matches('#');
        let mut cursor = None;
        let mut looked = 0;
        while looked < NAME_LOOKUP_DEPTH {
            let (page, next) = orders::list(self.app.as_ref(), &self.caller.merchant_id, None, 100, cursor).await?;
            looked += 100;
            if let Some(order) =
                page.into_iter().find(|o| o.name.as_deref().is_some_and(|n| n.trim_start_matches('#') == wanted))
            {
                return Ok(Some(order));
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(None)
    }
}
