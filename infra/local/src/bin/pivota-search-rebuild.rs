//! `pivota-search-rebuild MERCHANT_ID…`: rebuilds merchants' product search indexes in the local data
//! directory (`PIVOTA_DATA_DIR`, default `./.pivota`) from the catalog in its table, the source of truth.
//! `--all` rebuilds every merchant's. Safe while `pivota-local` runs: a rebuild is one commit, and a
//! search meanwhile answers from the index as it was.
//!
//! ```text
//! cargo run -p pivota-local --bin pivota-search-rebuild -- mer_01J…
//! ```

use std::process::ExitCode;

use pivota::app::App;
use pivota::onboarding::merchant::MerchantId;
use pivota::onboarding::merchants::Merchants;
use pivota_embedded::EmbeddedBackend;
use pivota_local::LocalConfig;

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pivota-search-rebuild: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Vec<String>) -> Result<(), String> {
    if args.is_empty() {
        return Err("usage: pivota-search-rebuild (MERCHANT_ID… | --all)".into());
    }
    let config = LocalConfig::from_env().map_err(|e| e.to_string())?;
    let backend = EmbeddedBackend::open(&config.data_dir).map_err(|e| e.to_string())?;
    let app = App::new(backend.ports(), config.settings);
    let merchants = if args == ["--all"] {
        all_merchants(&app).await?
    } else {
        args.iter()
            .map(|raw| MerchantId::parse(raw).ok_or_else(|| format!("{raw:?} is not a merchant id (mer_…)")))
            .collect::<Result<_, _>>()?
    };
    for merchant_id in merchants {
        let count = pivota::catalog::search::rebuild(&app, &merchant_id).await.map_err(|e| e.to_string())?;
        println!("{merchant_id}: {count} products indexed");
    }
    Ok(())
}

async fn all_merchants(app: &App) -> Result<Vec<MerchantId>, String> {
    let (mut ids, mut cursor) = (Vec::new(), None);
    loop {
        let page = Merchants::new(app.table.as_ref()).list(None, 100, cursor).await.map_err(|e| e.to_string())?;
        ids.extend(page.merchants.into_iter().map(|m| m.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
}
