//! Every GraphQL document Pivota sends, checked against Shopify's published schema, and the checker
//! itself (it refuses what Shopify would; its allow-list must stay newer than the schema).

use super::*;

/// Connect, sync (with a product past the first page of variants), webhook setup and teardown, order
/// write-back, each twice where a retry takes another path: every document the fake received, with its
/// variables, keeps to Shopify's schema; and this drive sends every document Pivota has.
#[tokio::test]
async fn every_document_pivota_sends_keeps_to_shopifys_published_schema() {
    let fake = FakeShopify::start(roomy().with_products(60)).await;
    fake.set_variant_count(4, 40);
    let (endpoint, credentials) = (endpoint(&fake), credentials(&fake));
    ShopifyPlatform.verify(&endpoint, &credentials).await.unwrap();
    let (products, _) = sync_all(&fake).await;
    assert_eq!(products.len(), 60);
    let address = Url::parse("https://hooks.pivota.example/shopify/store_01").unwrap();
    let topics = [WebhookTopic::OrderCreated, WebhookTopic::ProductUpdated, WebhookTopic::AppUninstalled];
    let subscriptions = ShopifyPlatform.subscribe(&endpoint, &credentials, &address, &topics).await.unwrap();
    ShopifyPlatform.subscribe(&endpoint, &credentials, &address, &topics).await.unwrap();
    ShopifyPlatform.unsubscribe(&endpoint, &credentials, &subscriptions).await.unwrap();
    ShopifyPlatform.unsubscribe(&endpoint, &credentials, &subscriptions).await.unwrap();
    for _ in 0..2 {
        ShopifyPlatform.mark_order_paid(&endpoint, &credentials, "820982911946154508", "pi_3Mtw").await.unwrap();
    }
    // The shop's identity, read at webhook setup and to confirm an app/uninstalled delivery.
    ShopifyPlatform.installation(&endpoint, &credentials).await.unwrap();

    let schema = shopify_schema();
    let received = fake.received_documents();
    for document in &received {
        let problems = schema.problems(&document.query, &document.variables);
        assert!(problems.is_empty(), "{}\n{}\n{problems:#?}", document.query, document.variables);
    }
    let sent: BTreeSet<&str> = received.iter().map(|document| document.query.as_str()).collect();
    let listed: BTreeSet<&str> = DOCUMENTS.iter().copied().collect();
    assert_eq!(sent.difference(&listed).collect::<Vec<_>>(), Vec::<&&str>::new(), "sent but not in DOCUMENTS");
    assert_eq!(listed.difference(&sent).collect::<Vec<_>>(), Vec::<&&str>::new(), "in DOCUMENTS, not driven here");
}

/// The documents on their own (variables unchecked), so one not yet driven above is still validated.
#[test]
fn every_listed_document_validates_against_shopifys_published_schema() {
    let schema = shopify_schema();
    for document in DOCUMENTS {
        let problems: Vec<String> = schema
            .problems(document, &json!({}))
            .into_iter()
            .filter(|problem| !problem.starts_with("missing value for non-null variable"))
            .collect();
        assert!(problems.is_empty(), "{document}\n{problems:#?}");
    }
}

/// The checker refuses what Shopify would: it can fail.
#[test]
fn the_schema_check_refuses_deprecated_unknown_and_mistyped_requests() {
    let schema = shopify_schema();
    let refused = |query: &str, variables: Value, expected: &str| {
        let problems = schema.problems(query, &variables);
        assert!(problems.iter().any(|problem| problem.contains(expected)), "{query}: {problems:#?}");
    };
    // Deprecated ("Use `featuredMedia` instead.").
    refused(
        "query { products(first: 1) { nodes { featuredImage { url } } } }",
        json!({}),
        "Product.featuredImage is deprecated",
    );
    // Misspelt, and newer than 2025-01 without an allow-list entry (`WebhookSubscription.name`, 2026-07).
    refused("query { shop { nmae } }", json!({}), "nmae");
    refused(
        "query($id: ID!) { webhookSubscription(id: $id) { name } }",
        json!({ "id": "gid://shopify/WebhookSubscription/1" }),
        "name",
    );
    // Wrong variable types, a missing required one, an undeclared one, an unknown enum value.
    let variants =
        "query V($id: ID!, $after: String) { product(id: $id) { variants(first: 1, after: $after) { nodes { id } } } }";
    refused(variants, json!({ "id": true }), "could not coerce variable id");
    refused(variants, json!({ "id": "gid://shopify/Product/1", "after": 7 }), "could not coerce variable after");
    refused(variants, json!({ "after": "x" }), "missing value for non-null variable 'id'");
    refused(variants, json!({ "id": "gid://shopify/Product/1", "first": 5 }), "$first is sent but not declared");
    let create = "mutation($topic: WebhookSubscriptionTopic!, $url: URL!) { webhookSubscriptionCreate(topic: $topic, \
        webhookSubscription: { callbackUrl: $url, format: JSON }) { userErrors { message } } }";
    refused(
        create,
        json!({ "topic": "ORDER_CREATE", "url": "https://a.example/h" }),
        "could not coerce variable topic",
    );
    // A Shopify scalar's format, and input objects field by field.
    refused(create, json!({ "topic": "ORDERS_CREATE", "url": "not a url" }), "$url: \"not a url\" is not a URL");
    let script = "mutation($input: ScriptTagInput!) { scriptTagCreate(input: $input) { userErrors { message } } }";
    refused(
        script,
        json!({ "input": { "src": "https://a.example/s.js", "displayScope": "ALL" } }),
        "ScriptTagDisplayScope.ALL is deprecated",
    );
    refused(script, json!({ "input": { "src": "//nowhere" } }), "$input.src: \"//nowhere\" is not a URL");
    refused(script, json!({ "input": { "src": "https://a.example/s.js", "sauce": 1 } }), "sauce");
    // A deprecated enum value written in the document.
    let literal = "mutation { scriptTagCreate(input: { src: \"https://a.example/s.js\", displayScope: ALL }) { \
        userErrors { message } } }";
    refused(literal, json!({}), "ScriptTagDisplayScope.ALL is deprecated");
    // And the same requests done right pass.
    let accepted = |query: &str, variables: Value| {
        let problems = schema.problems(query, &variables);
        assert!(problems.is_empty(), "{query}: {problems:#?}");
    };
    accepted(variants, json!({ "id": "gid://shopify/Product/1", "after": null }));
    accepted(create, json!({ "topic": "ORDERS_CREATE", "url": "https://a.example/h" }));
    accepted(script, json!({ "input": { "src": "https://a.example/s.js", "displayScope": "ONLINE_STORE" } }));
}

#[test]
fn an_allow_list_entry_must_be_newer_than_the_schema_and_fit_it() {
    let schema = || {
        apollo_compiler::Schema::parse(
            "schema { query: QueryRoot } type QueryRoot { shop: Shop } type Shop { name: String }",
            "s",
        )
        .unwrap()
    };
    let entry = |coordinate| Newer { coordinate, ty: "String", changelog: "https://shopify.dev/changelog/example" };
    let error = ShopifySchema::with_newer(schema(), &[entry("Shop.name")]).err().unwrap();
    assert!(error.contains("is in the 2025-01 schema"), "{error}");
    assert!(ShopifySchema::with_newer(schema(), &[entry("Nowhere.name")]).is_err());
    let uncited = Newer { coordinate: "Shop.url", ty: "String", changelog: "trust me" };
    assert!(ShopifySchema::with_newer(schema(), &[uncited]).err().unwrap().contains("changelog"));
    let extended = ShopifySchema::with_newer(schema(), &[entry("Shop.url"), entry("QueryRoot.shop(id:)")]).unwrap();
    assert!(extended.problems("query { shop(id: \"1\") { name url } }", &json!({})).is_empty());
    let extended = ShopifySchema::with_newer(schema(), &[entry("Shop.url")]).unwrap();
    assert!(!extended.problems("query { shop { name email } }", &json!({})).is_empty());
}
