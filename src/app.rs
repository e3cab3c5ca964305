//! Wiring: the shop context (`workflows::Shop`, called `App` out here) holds the store, the POS, the catalog view the NLU matches against, the
//! commands and classifier, the people directory and the metrics. Everything that answers a
//! message or serves a request borrows it.

use crate::channels::Channels;
use crate::commands::CommandSet;
use crate::config::{Config, PosProvider};
use crate::directory::Directory;
use crate::domain::{Clock, SystemClock};
use crate::llm::LlmClient;
use crate::nlu::IntentClassifier;
use crate::pos::Pos;
use crate::pos::clover::{CloverPos, client::CloverClient};
use crate::pos::lightspeed::{LightspeedPos, client::LightspeedClient};
use crate::pos::shopify::{ShopifyPos, client::ShopifyClient};
use crate::pos::sim::{SimOptions, SimPos, generate};
use crate::pos::square::{SquarePos, client::SquareClient};
use crate::retry::RetryPolicy;
use crate::store::Store;
use crate::telemetry::Metrics;
pub use crate::workflows::shop::{CatalogView, Shop};

/// The shop context as the command line and the tests know it.
pub type App = Shop;
use anyhow::Context;
use std::sync::{Arc, RwLock};

impl Shop {
    /// Connects, migrates, loads the commands and builds the POS and catalog view. `pos` is
    /// given by callers that already built one (the demo); otherwise it comes from the config.
    pub async fn start(config: Config, pos: Option<Arc<dyn Pos>>) -> anyhow::Result<Shop> {
        Shop::start_with_clock(config, pos, Arc::new(SystemClock)).await
    }

    /// `start` with the clock that says what day it is.
    pub async fn start_with_clock(
        config: Config,
        pos: Option<Arc<dyn Pos>>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Shop> {
        let commands = CommandSet::embedded().context("loading the embedded commands")?;
        let store = Store::connect(&config.database.url).await.context("connecting to the database")?;
        store.migrate().await.context("applying migrations")?;
        let mut tx = store.begin().await?;
        store.save_people(&mut tx, &config.people).await?;
        tx.commit().await?;
        let pos = match pos {
            Some(pos) => pos,
            None => pos_from_config(&config, &store, clock.clone()).await?,
        };
        let (catalog, locations) = match (pos.catalog().await, pos.locations().await) {
            (Ok(catalog), Ok(locations)) => (catalog, locations),
            (Err(err), _) | (_, Err(err)) => {
                // Start from the mirror rather than not at all; answers say how old it is.
                let catalog = store.mirror_catalog().await?;
                if catalog.items.is_empty() {
                    return Err(
                        anyhow::Error::new(err).context("reading the catalog from the POS (and the mirror is empty)")
                    );
                }
                tracing::warn!(error = %err, "POS not answering at start; using the mirrored catalog");
                (catalog, store.mirror_locations().await?)
            }
        };
        let classifier = IntentClassifier::train(&commands.training_examples());
        let llm = config.llm.as_ref().map(LlmClient::new).transpose().context("setting up the LLM client")?;
        let channels = Channels::from_config(&config).context("setting up the chat channels")?;
        let approval_key = crate::workflows::approvals::signing_key(&store).await?;
        let accounting = match &config.quickbooks {
            Some(quickbooks) => {
                let client = crate::accounting::quickbooks::client::QuickBooksClient::new(
                    quickbooks,
                    store.clone(),
                    clock.clone(),
                    POS_TIMEOUT,
                    RetryPolicy::default(),
                )
                .context("setting up the QuickBooks client")?;
                Some(Arc::new(crate::accounting::quickbooks::QuickBooks::new(client, quickbooks)))
            }
            None => None,
        };
        Ok(Shop {
            accounting,
            clock,
            channels,
            approval_key,
            timezone: config.timezone(),
            directory: Directory::new(config.people.clone()),
            catalog: RwLock::new(Arc::new(CatalogView::new(catalog, locations))),
            metrics: Metrics::default(),
            config,
            store,
            pos,
            commands,
            classifier,
            llm,
            review: Default::default(),
        })
    }
}

/// How long one POS call may take before it counts as failed.
const POS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn pos_from_config(config: &Config, store: &Store, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Pos>> {
    match config.pos.provider {
        PosProvider::Square => {
            let square = config.pos.square.as_ref().context("[pos.square] is missing")?;
            let client = SquareClient::new(square, POS_TIMEOUT, RetryPolicy::default())?;
            Ok(Arc::new(SquarePos::new(client, store.clone(), square.location_ids.clone())))
        }
        PosProvider::Sim => {
            let today = clock.today(config.timezone());
            let shop =
                generate(&SimOptions { timezone: config.timezone(), ..SimOptions::new(config.pos.sim.seed, today) });
            Ok(Arc::new(SimPos::new(Arc::new(shop))))
        }
        PosProvider::Clover => {
            let clover = config.pos.clover.as_ref().context("[pos.clover] is missing")?;
            let client = CloverClient::new(clover, POS_TIMEOUT, RetryPolicy::default())?;
            Ok(Arc::new(CloverPos::new(client, store.clone(), &clover.merchant_id)))
        }
        PosProvider::Shopify => {
            let shopify = config.pos.shopify.as_ref().context("[pos.shopify] is missing")?;
            Ok(Arc::new(ShopifyPos::new(ShopifyClient::new(shopify, POS_TIMEOUT, RetryPolicy::default())?)))
        }
        PosProvider::Lightspeed => {
            let lightspeed = config.pos.lightspeed.as_ref().context("[pos.lightspeed] is missing")?;
            let connected = lightspeed.access_token.is_some()
                || lightspeed.refresh_token.is_some()
                || store.meta(crate::pos::lightspeed::client::REFRESH_TOKEN_KEY).await?.is_some();
            if !connected {
                anyhow::bail!("Lightspeed is not connected yet: run `tillpilot connect lightspeed`");
            }
            let client = LightspeedClient::new(lightspeed, store.clone(), clock, POS_TIMEOUT, RetryPolicy::default())?;
            Ok(Arc::new(LightspeedPos::new(client)))
        }
    }
}
