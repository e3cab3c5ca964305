//! The shop context every workflow, the dispatcher and the jobs take: the store, the POS, the
//! catalog view the NLU matches against, the commands and classifier, the people directory,
//! the configured channels, the LLM when there is one, the clock and the metrics. `app.rs`
//! builds it from the configuration.

use crate::channels::Channels;
use crate::commands::CommandSet;
use crate::config::Config;
use crate::directory::Directory;
use crate::domain::{Catalog, Clock, Location, Role};
use crate::llm::LlmClient;
use crate::message::ChannelKind;
use crate::nlu::{IntentClassifier, ProductIndex};
use crate::pos::Pos;
use crate::store::Store;
use crate::telemetry::Metrics;
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

pub struct Shop {
    pub config: Config,
    pub store: Store,
    pub pos: Arc<dyn Pos>,
    pub commands: CommandSet,
    pub classifier: IntentClassifier,
    pub directory: Directory,
    pub(crate) catalog: RwLock<Arc<CatalogView>>,
    pub metrics: Metrics,
    pub llm: Option<LlmClient>,
    pub timezone: chrono_tz::Tz,
    /// The chat platforms this shop has configured, for the outbox.
    pub channels: Channels,
    /// Signs approval buttons (see workflows/approvals.rs).
    pub approval_key: Vec<u8>,
    /// What "today" is: the system clock in the product, a fixed one in tests.
    pub clock: Arc<dyn Clock>,
    /// What the checkout assistant reads, in memory (see workflows/review).
    pub review: crate::workflows::review::ReviewDesk,
    /// Where approved purchase orders are recorded, when `[quickbooks]` is configured.
    pub accounting: Option<Arc<crate::accounting::quickbooks::QuickBooks>>,
}

impl Shop {
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

    /// Where owner-facing posts go: each configured owner channel (Slack, Telegram, Discord),
    /// and by SMS every person of at least `role` who has a phone.
    pub fn owner_targets(&self, role: Role) -> Vec<(ChannelKind, String)> {
        let config = &self.config;
        let mut out = Vec::new();
        if let Some(channel) = config.slack.as_ref().and_then(|s| s.owner_channel.clone()) {
            out.push((ChannelKind::Slack, channel));
        }
        if let Some(chat) = config.telegram.as_ref().and_then(|t| t.owner_chat_id) {
            out.push((ChannelKind::Telegram, chat.to_string()));
        }
        if let Some(channel) = config.discord.as_ref().and_then(|d| d.owner_channel_id.clone()) {
            out.push((ChannelKind::Discord, channel));
        }
        if config.twilio.is_some() {
            for person in self.directory.team().iter().filter(|p| p.role.at_least(role)) {
                if let Some(phone) = &person.phone {
                    out.push((ChannelKind::Sms, phone.to_string()));
                }
            }
        }
        out
    }
}
