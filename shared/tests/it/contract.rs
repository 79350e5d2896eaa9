//! The routes are one contract in four places: `pivota_http::routes` (what the functions and the local
//! runner serve), `template.yaml` (what API Gateway routes), the OpenAPI document, and `functions/` + `events/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// (function binary, METHOD, path) for every HttpApi event in `template.yaml`, read textually: each
/// function's `Binary:` build property, then the `Path:` / `Method:` lines of its events.
fn template_routes() -> (BTreeSet<String>, BTreeSet<(String, String, String)>) {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let mut functions = BTreeSet::new();
    let mut routes = BTreeSet::new();
    let (mut function, mut path) = (None::<String>, None::<String>);
    for line in template.lines() {
        let line = line.trim();
        if let Some(binary) = line.strip_prefix("Binary:") {
            function = Some(binary.trim().to_owned());
            functions.insert(binary.trim().to_owned());
        } else if let Some(p) = line.strip_prefix("Path:") {
            path = Some(p.trim().to_owned());
        } else if let Some(method) = line.strip_prefix("Method:") {
            let function = function.clone().expect("a Method: follows a function's Binary:");
            let path = path.take().expect("Path: comes before Method:");
            routes.insert((function, method.trim().to_uppercase(), path));
        }
    }
    (functions, routes)
}

/// The API's routes and the console's two catch-all routes.
fn code_routes() -> BTreeSet<(String, String, String)> {
    let api = pivota_http::routes::all().map(|r| (r.function.to_owned(), r.method.to_string(), r.path.to_owned()));
    let console = pivota_console::GATEWAY_ROUTES
        .iter()
        .map(|(method, path)| (pivota_console::FUNCTION.to_owned(), (*method).to_owned(), (*path).to_owned()));
    let mcp = pivota_mcp::GATEWAY_ROUTES
        .iter()
        .map(|(method, path)| (pivota_mcp::FUNCTION.to_owned(), (*method).to_owned(), (*path).to_owned()));
    api.chain(console).chain(mcp).collect()
}

#[test]
fn template_routes_are_exactly_the_served_routes() {
    let (_, template) = template_routes();
    assert!(!template.is_empty());
    assert_eq!(template, code_routes());
}

#[test]
fn openapi_documents_exactly_the_template_routes() {
    let (_, template) = template_routes();
    // The console serves HTML pages, and the MCP function JSON-RPC (README, "MCP"), not API operations.
    let template: BTreeSet<(String, String)> = template
        .into_iter()
        .filter(|(function, ..)| function != pivota_console::FUNCTION && function != pivota_mcp::FUNCTION)
        .map(|(_, method, path)| (method, path))
        .collect();
    let doc = pivota_http::openapi::document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    assert_eq!(documented, template);
}

#[test]
fn every_template_function_has_a_crate_and_a_sample_event() {
    let (functions, _) = template_routes();
    assert!(functions.contains("kyc-approve"));
    let events: Vec<String> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for function in &functions {
        let manifest = repo_root().join("functions").join(function).join("Cargo.toml");
        assert!(manifest.exists(), "{function} has no crate at {}", manifest.display());
        assert!(
            events
                .iter()
                .any(|e| e == &format!("{function}.json")
                    || e.starts_with(&format!("{function}-")) && e.ends_with(".json")),
            "{function} has no sample event in events/"
        );
    }
    let crates: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(crates, functions, "every function crate is deployed by template.yaml");
}

#[test]
fn the_served_bytes_are_the_checked_in_document_minified() {
    let served: serde_json::Value = serde_json::from_str(pivota_http::openapi::SERVED).unwrap();
    let checked_in: serde_json::Value = serde_json::from_str(pivota_http::openapi::DOCUMENT).unwrap();
    assert_eq!(served, checked_in);
    assert!(pivota_http::openapi::SERVED.len() * 10 < pivota_http::openapi::DOCUMENT.len() * 7, "minified");
}

#[test]
fn the_served_openapi_document_is_the_generated_one() {
    let generated = pivota_http::openapi::generate();
    if std::env::var("PIVOTA_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(repo_root().join("shared/http/openapi.json"), &generated).unwrap();
        return;
    }
    assert!(
        pivota_http::openapi::DOCUMENT == generated,
        "shared/http/openapi.json is stale: run PIVOTA_UPDATE_OPENAPI=1 cargo test -p pivota-shared --test it contract::"
    );
}

/// `rust-version` is the real minimum: no locked dependency needs a newer compiler. (The language
/// features we use, let-chains from 1.88, are older; clippy's `incompatible_msrv` checks std APIs.)
#[test]
fn rust_version_is_the_real_minimum() {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let parse =
        |v: &str| v.split('.').map(|part| part.parse::<u32>().unwrap()).chain([0, 0]).take(3).collect::<Vec<_>>();
    let members: BTreeSet<&str> =
        metadata["workspace_members"].as_array().unwrap().iter().filter_map(|m| m.as_str()).collect();
    let packages = metadata["packages"].as_array().unwrap();
    let ours = packages
        .iter()
        .find(|p| p["name"] == "pivota-shared")
        .and_then(|p| p["rust_version"].as_str())
        .expect("the workspace declares rust-version");
    let needed = packages
        .iter()
        .filter(|p| !members.contains(p["id"].as_str().unwrap()))
        .filter_map(|p| Some((parse(p["rust_version"].as_str()?), p["name"].as_str().unwrap())))
        .max()
        .unwrap();
    assert_eq!(parse(ours), needed.0, "rust-version {ours}, but {} needs {:?}", needed.1, needed.0);
}
