//! Wiring: one `App` holds the store, the POS, the catalog view the NLU matches against, the
//! commands and classifier, the people directory and the metrics. Everything that answers a
//! message or serves a request borrows it.

use crate::channels::Channels;
use crate::config::{Config, PosProvider};
use crate::dispatch::commands::CommandSet;
use crate::dispatch::identity::Directory;
use crate::domain::{Catalog, Clock, Location, SystemClock};
use crate::llm::LlmClient;
use crate::nlu::{IntentClassifier, ProductIndex};
use crate::pos::Pos;
use crate::pos::clover::{CloverPos, client::CloverClient};
use crate::pos::retry::RetryPolicy;
use crate::pos::shopify::{ShopifyPos, client::ShopifyClient};
use crate::pos::sim::{SimOptions, SimPos, generate};
use crate::pos::square::{SquarePos, client::SquareClient};
use crate::store::Store;
use crate::telemetry::Metrics;
use anyhow::Context;
use std::sync::{Arc, RwLock};

/// The catalog as the NLU sees it, swapped whole when a sync brings a new one.
pub struct CatalogView {
    pub catalog: Catalog,
    pub locations: Vec<Location>,
    pub index: ProductIndex,
}

impl CatalogView {
    pub fn new(catalog: Catalog, locations: Vec<Location>) -> CatalogView {
        let index = ProductIndex::build(&catalog);
        CatalogView { catalog, locations, index }
    }

    pub fn location_name(&self, id: &crate::domain::LocationId) -> String {
        self.locations.iter().find(|l| &l.id == id).map_or_else(|| id.to_string(), |l| l.name.clone())
    }
}

pub struct App {
    pub config: Config,
    pub store: Store,
    pub pos: Arc<dyn Pos>,
    pub commands: CommandSet,
    pub classifier: IntentClassifier,
    pub directory: Directory,
    catalog: RwLock<Arc<CatalogView>>,
    pub metrics: Metrics,
    pub llm: Option<LlmClient>,
    pub timezone: chrono_tz::Tz,
    /// The chat platforms this shop has configured, for the outbox.
    pub channels: Channels,
    /// Signs approval buttons (see workflows/approvals.rs).
    pub approval_key: Vec<u8>,
    /// What "today" is: the system clock in the product, a fixed one in tests.
    pub clock: Arc<dyn Clock>,
}

impl App {
    /// Connects, migrates, loads the commands and builds the POS and catalog view. `pos` is
    /// given by callers that already built one (the demo); otherwise it comes from the config.
    pub async fn start(config: Config, pos: Option<Arc<dyn Pos>>) -> anyhow::Result<App> {
        App::start_with_clock(config, pos, Arc::new(SystemClock)).await
    }

    /// `start` with the clock that says what day it is.
    pub async fn start_with_clock(
        config: Config,
        pos: Option<Arc<dyn Pos>>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        let commands = CommandSet::embedded().context("loading the embedded commands")?;
        let store = Store::connect(&config.database.url).await.context("connecting to the database")?;
        store.migrate().await.context("applying migrations")?;
        let mut tx = store.begin().await?;
        store.save_people(&mut tx, &config.people).await?;
        tx.commit().await?;
        let pos = match pos {
            Some(pos) => pos,
            None => pos_from_config(&config, &store, clock.as_ref())?,
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
        Ok(App {
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
        })
    }

    /// The shop's calendar day now.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today(self.timezone)
    }

    /// The current catalog view.
    pub fn catalog(&self) -> Arc<CatalogView> {
        match self.catalog.read() {
            Ok(view) => Arc::clone(&view),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the catalog view after a sync.
    pub fn set_catalog(&self, catalog: Catalog, locations: Vec<Location>) {
        let view = Arc::new(CatalogView::new(catalog, locations));
        match self.catalog.write() {
            Ok(mut slot) => *slot = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
    }
}

/// How long one POS call may take before it counts as failed.
const POS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn pos_from_config(config: &Config, store: &Store, clock: &dyn Clock) -> anyhow::Result<Arc<dyn Pos>> {
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
    }
}
