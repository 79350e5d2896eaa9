//! Each Lambda function's routes, named at compile time: a function's `main.rs` serves its own list
//! (`pivota_lambda::serve_http(app, routes::REGISTER)`), so its binary links only those handlers and a
//! misspelt name is a compile error. The local runner, the console and the contract test use the union,
//! [`FUNCTIONS`].

use http::Method;

use crate::{Route, admin, api_keys, merchants, openapi, orders, payments, products, psp, routing, stores};

/// `register`.
pub static REGISTER: &[Route] = &[Route {
    function: "register",
    method: Method::POST,
    path: "/merchant/register",
    handler: |a, r| Box::pin(merchants::register(a, r)),
}];

/// `merchant-get`.
pub static MERCHANT_GET: &[Route] = &[Route {
    function: "merchant-get",
    method: Method::GET,
    path: "/merchant/{merchant_id}",
    handler: |a, r| Box::pin(merchants::get(a, r)),
}];

/// `admin-merchants`.
pub static ADMIN_MERCHANTS: &[Route] = &[Route {
    function: "admin-merchants",
    method: Method::GET,
    path: "/admin/merchants",
    handler: |a, r| Box::pin(admin::list(a, r)),
}];

/// `admin-review`.
pub static ADMIN_REVIEW: &[Route] = &[
    Route {
        function: "admin-review",
        method: Method::POST,
        path: "/admin/merchants/{merchant_id}/approve",
        handler: |a, r| Box::pin(admin::approve(a, r)),
    },
    Route {
        function: "admin-review",
        method: Method::POST,
        path: "/admin/merchants/{merchant_id}/reject",
        handler: |a, r| Box::pin(admin::reject(a, r)),
    },
    Route {
        function: "admin-review",
        method: Method::POST,
        path: "/admin/merchants/{merchant_id}/suspend",
        handler: |a, r| Box::pin(admin::suspend(a, r)),
    },
    Route {
        function: "admin-review",
        method: Method::POST,
        path: "/admin/merchants/{merchant_id}/reinstate",
        handler: |a, r| Box::pin(admin::reinstate(a, r)),
    },
    Route {
        function: "admin-review",
        method: Method::POST,
        path: "/admin/merchants/{merchant_id}/search-index/rebuild",
        handler: |a, r| Box::pin(admin::rebuild_search_index(a, r)),
    },
];

/// `psp-connect`.
pub static PSP_CONNECT: &[Route] = &[Route {
    function: "psp-connect",
    method: Method::POST,
    path: "/merchant/{merchant_id}/psp/connect",
    handler: |a, r| Box::pin(psp::connect(a, r)),
}];

/// `psp-connections`.
pub static PSP_CONNECTIONS: &[Route] = &[
    Route {
        function: "psp-connections",
        method: Method::GET,
        path: "/merchant/{merchant_id}/psp",
        handler: |a, r| Box::pin(psp::list(a, r)),
    },
    Route {
        function: "psp-connections",
        method: Method::DELETE,
        path: "/merchant/{merchant_id}/psp/{psp}",
        handler: |a, r| Box::pin(psp::disconnect(a, r)),
    },
];

/// `api-keys`.
pub static API_KEYS: &[Route] = &[
    Route {
        function: "api-keys",
        method: Method::POST,
        path: "/merchant/{merchant_id}/api-keys",
        handler: |a, r| Box::pin(api_keys::create(a, r)),
    },
    Route {
        function: "api-keys",
        method: Method::GET,
        path: "/merchant/{merchant_id}/api-keys",
        handler: |a, r| Box::pin(api_keys::list(a, r)),
    },
    Route {
        function: "api-keys",
        method: Method::DELETE,
        path: "/merchant/{merchant_id}/api-keys/{key_id}",
        handler: |a, r| Box::pin(api_keys::revoke(a, r)),
    },
];

/// `routing`.
pub static ROUTING: &[Route] = &[
    Route {
        function: "routing",
        method: Method::PUT,
        path: "/merchant/{merchant_id}/routing",
        handler: |a, r| Box::pin(routing::put(a, r)),
    },
    Route {
        function: "routing",
        method: Method::GET,
        path: "/merchant/{merchant_id}/routing",
        handler: |a, r| Box::pin(routing::get(a, r)),
    },
];

/// `payment-execute`.
pub static PAYMENT_EXECUTE: &[Route] = &[Route {
    function: "payment-execute",
    method: Method::POST,
    path: "/payment/execute",
    handler: |a, r| Box::pin(payments::execute(a, r)),
}];

/// `payments-list`.
pub static PAYMENTS_LIST: &[Route] = &[Route {
    function: "payments-list",
    method: Method::GET,
    path: "/merchant/{merchant_id}/payments",
    handler: |a, r| Box::pin(payments::list(a, r)),
}];

/// `store-connect`.
pub static STORE_CONNECT: &[Route] = &[Route {
    function: "store-connect",
    method: Method::POST,
    path: "/merchant/{merchant_id}/store/connect",
    handler: |a, r| Box::pin(stores::connect(a, r)),
}];

/// `stores-list`.
pub static STORES_LIST: &[Route] = &[Route {
    function: "stores-list",
    method: Method::GET,
    path: "/merchant/{merchant_id}/stores",
    handler: |a, r| Box::pin(stores::list(a, r)),
}];

/// `store-update`.
pub static STORE_UPDATE: &[Route] = &[Route {
    function: "store-update",
    method: Method::PATCH,
    path: "/merchant/{merchant_id}/store/{store_id}",
    handler: |a, r| Box::pin(stores::update(a, r)),
}];

/// `store-disconnect`.
pub static STORE_DISCONNECT: &[Route] = &[Route {
    function: "store-disconnect",
    method: Method::DELETE,
    path: "/merchant/{merchant_id}/store/{store_id}",
    handler: |a, r| Box::pin(stores::disconnect(a, r)),
}];

/// `store-sync`.
pub static STORE_SYNC: &[Route] = &[
    Route {
        function: "store-sync",
        method: Method::POST,
        path: "/merchant/{merchant_id}/store/{store_id}/sync",
        handler: |a, r| Box::pin(stores::start_sync(a, r)),
    },
    Route {
        function: "store-sync",
        method: Method::GET,
        path: "/merchant/{merchant_id}/store/{store_id}/sync/{job_id}",
        handler: |a, r| Box::pin(stores::sync_job(a, r)),
    },
];

/// `products`.
pub static PRODUCTS: &[Route] = &[
    Route {
        function: "products",
        method: Method::GET,
        path: "/merchant/{merchant_id}/products",
        handler: |a, r| Box::pin(products::list(a, r)),
    },
    Route {
        function: "products",
        method: Method::PATCH,
        path: "/merchant/{merchant_id}/products/{product_id}",
        handler: |a, r| Box::pin(products::update_price(a, r)),
    },
];

/// `webhooks-setup`.
pub static WEBHOOKS_SETUP: &[Route] = &[Route {
    function: "webhooks-setup",
    method: Method::POST,
    path: "/merchant/{merchant_id}/store/{store_id}/webhooks/setup",
    handler: |a, r| Box::pin(orders::setup(a, r)),
}];

/// `order-webhook`.
pub static ORDER_WEBHOOK: &[Route] = &[Route {
    function: "order-webhook",
    method: Method::POST,
    path: "/webhooks/{platform}/{store_id}",
    handler: |a, r| Box::pin(orders::receive(a, r)),
}];

/// `orders-list`.
pub static ORDERS_LIST: &[Route] = &[Route {
    function: "orders-list",
    method: Method::GET,
    path: "/merchant/{merchant_id}/orders",
    handler: |a, r| Box::pin(orders::list(a, r)),
}];

/// `openapi`.
pub static OPENAPI: &[Route] = &[Route {
    function: "openapi",
    method: Method::GET,
    path: "/openapi.json",
    handler: |a, r| Box::pin(openapi::serve(a, r)),
}];

/// Every function's routes: the whole HTTP API.
pub static FUNCTIONS: &[&[Route]] = &[
    REGISTER,
    MERCHANT_GET,
    ADMIN_MERCHANTS,
    ADMIN_REVIEW,
    PSP_CONNECT,
    PSP_CONNECTIONS,
    API_KEYS,
    ROUTING,
    PAYMENT_EXECUTE,
    PAYMENTS_LIST,
    STORE_CONNECT,
    STORES_LIST,
    STORE_UPDATE,
    STORE_DISCONNECT,
    STORE_SYNC,
    PRODUCTS,
    WEBHOOKS_SETUP,
    ORDER_WEBHOOK,
    ORDERS_LIST,
    OPENAPI,
];

/// Every HTTP route of the platform.
pub fn all() -> impl Iterator<Item = &'static Route> {
    FUNCTIONS.iter().flat_map(|routes| routes.iter())
}

/// [`all`], collected once per process: what a server of every route (the local runner) matches each
/// request against.
pub fn table() -> &'static [&'static Route] {
    static TABLE: std::sync::OnceLock<Vec<&'static Route>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| all().collect())
}

/// The routes one Lambda function serves, by its name in `template.yaml` (for the local runner and tests;
/// a function's binary names its list instead).
pub fn of(function: &str) -> Vec<&'static Route> {
    all().filter(|route| route.function == function).collect()
}
