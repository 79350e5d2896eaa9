//! The tools: each a thin call into the domain services the REST routes use, with the REST API's
//! validation (the same parsers, fed the tool's arguments as named parameters; see
//! `pivota_http::request::Params`), its tenant isolation (every read and write is keyed by the API key's
//! merchant), and its idempotency (`execute_payment` is `/payment/execute`).
//!
//! A refusal is a tool error (`isError: true`) whose text is the REST API's problem+json body for the same
//! refusal: the same `type`, `status`, `detail` and field `errors`.

mod catalog;
mod orders;
mod payments;
mod stores;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool_handler};

use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::onboarding::api_keys::AuthenticatedMerchant;
use pivota_http::problem;

pub use catalog::{GetProductArgs, ListLowStockArgs, SearchProductsArgs};
pub use orders::{GetOrderArgs, ListOrdersArgs};
pub use payments::{ExecutePaymentArgs, GetPaymentArgs};
pub use stores::{GetSyncJobArgs, ListStoresArgs, SyncStoreArgs};

/// Where refusals say they happened (RFC 9457 `instance`): the tool's name under the MCP endpoint.
fn instance(tool: &str) -> String {
    format!("{}#{tool}", crate::PATH)
}

/// A refused call: the REST API's problem+json body for `error`, logged as the REST API logs it.
fn refusal(tool: &str, request_id: &str, error: &Error) -> String {
    serde_json::to_string(&problem::logged(error, &instance(tool), request_id)).unwrap_or_default()
}

/// A tool's arguments as the named text parameters of the REST route's query string.
fn params<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> BTreeMap<&'a str, String> {
    pairs.into_iter().filter_map(|(name, value)| value.map(|v| (name, v))).collect()
}

/// Pivota's MCP server, for one request: the caller its API key authenticated, and the App.
#[derive(Clone)]
pub struct PivotaMcp {
    app: Arc<App>,
    caller: Arc<AuthenticatedMerchant>,
    /// Pivota's public base URL (where a shopper comes back after a payment's redirect).
    public_base: Arc<str>,
    request_id: Arc<str>,
    tool_router: ToolRouter<Self>,
}

impl PivotaMcp {
    pub fn new(app: Arc<App>, caller: AuthenticatedMerchant, public_base: String, request_id: String) -> Self {
        Self {
            app,
            caller: Arc::new(caller),
            public_base: public_base.into(),
            request_id: request_id.into(),
            tool_router: router().clone(),
        }
    }

    fn refuse(&self, tool: &str, error: &Error) -> String {
        refusal(tool, &self.request_id, error)
    }
}

/// Every tool, with its schemas, generated once per process.
pub fn router() -> &'static ToolRouter<PivotaMcp> {
    static ROUTER: OnceLock<ToolRouter<PivotaMcp>> = OnceLock::new();
    ROUTER.get_or_init(|| {
        PivotaMcp::catalog_tools() + PivotaMcp::order_tools() + PivotaMcp::payment_tools() + PivotaMcp::store_tools()
    })
}

/// What `initialize` says about the server.
pub fn server_config() -> ServerConfig {
    ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        .with_server_info(
            Implementation::new("pivota", env!("CARGO_PKG_VERSION"))
                .with_title("Pivota")
                .with_description("A merchant's catalog, orders, payments and stores on Pivota"),
        )
        .with_instructions(
            "Tools act for the merchant whose Pivota API key authenticated the connection, in that key's mode \
             (test or live). Amounts are integer minor units with an ISO 4217 currency. Lists are pages: pass \
             `next_cursor` back as `cursor`. execute_payment and sync_store change state: confirm them with the \
             user; execute_payment needs an idempotency_key, and calling it again with the same key and \
             arguments answers with the first result without charging again.",
        )
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for PivotaMcp {
    fn get_info(&self) -> ServerConfig {
        server_config()
    }

    /// The SDK runs each call on a task of its own: the call runs as the `mcp` function again, so its AWS
    /// calls are attributed to it (the IAM check) as the REST routes' are to theirs.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        let call = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        pivota::invocation::serve_as(crate::FUNCTION, self.tool_router.call(call)).await
    }
}
