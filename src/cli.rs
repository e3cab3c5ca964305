//! The command line (ARCHITECTURE.md section 3). Each subcommand builds what it needs and
//! prints for people on stdout; logs go to stderr.

use crate::app::App;
use crate::channels::{ChannelKind, Reply, terminal};
use crate::config::Config;
use crate::directory::Sender;
use crate::dispatch::{self, Inbound};
use crate::error::CliError;
use crate::jobs::sync;
use crate::pos::sim::demo_people;
use crate::store::Store;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(name = "tillpilot", version, about = "An operations assistant for small shops, beside the POS.")]
pub struct Cli {
    /// Configuration file (default: tillpilot.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Use the simulated shop in --data-dir instead of a configured POS and database.
    #[arg(long, global = true)]
    pub demo: bool,
    /// Where the demo keeps its database.
    #[arg(long, global = true, default_value = "./tillpilot-demo")]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything against the simulated shop and chat with it.
    Demo {
        /// Address for the HTTP server (default 127.0.0.1:8080, or a free port if that is taken).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Seed for the simulated shop; a new seed starts a new shop.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run the bot from the configuration: HTTP server and workers.
    Run,
    /// Chat with the bot in the terminal.
    Chat {
        /// A configured person's name, or a phone number in E.164 form (a customer).
        #[arg(long = "as")]
        who: Option<String>,
    },
    /// Ask one question and print the answer.
    Ask {
        #[arg(long = "as")]
        who: Option<String>,
        /// Print the reply object with intent, entities and audit id as JSON.
        #[arg(long)]
        json: bool,
        /// The question.
        #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Apply database migrations.
    Migrate,
    /// Pull catalog, stock, customers, vendors and orders from the POS into the mirror.
    Sync {
        /// Pull a full year of orders instead of the last five weeks.
        #[arg(long)]
        full: bool,
    },
    /// Read and check the audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// The daily sales summary: print it, or post it to the owner channels.
    Summary {
        /// The day (YYYY-MM-DD); yesterday when left out.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Post it to the owner channels (as the `summary` flag allows).
        #[arg(long)]
        post: bool,
    },
    /// Reorder suggestions and purchase-order drafts; --post records them and asks for approval.
    Reorder {
        #[arg(long)]
        post: bool,
        #[arg(long)]
        json: bool,
    },
    /// Feature flags: list them, or set one.
    Flags {
        #[command(subcommand)]
        action: Option<FlagsCommand>,
    },
    /// Load past data from a file.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Forecast accuracy per method against seasonal naive, on the last days of the history.
    Backtest {
        /// Days held out at the end of the history.
        #[arg(long, default_value_t = 28)]
        horizon: usize,
        #[arg(long)]
        json: bool,
    },
    /// Connect a POS that needs the shop owner's approval (Lightspeed): without --code, print
    /// the address to approve the app at; with the code it redirects back with, store the
    /// tokens and subscribe the webhooks.
    Connect {
        #[arg(value_enum)]
        pos: ConnectPos,
        /// The `code` parameter of the redirect after approving the app.
        #[arg(long)]
        code: Option<String>,
    },
    /// Platform registrations generated from the command files.
    Commands {
        #[command(subcommand)]
        action: CommandsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// Every flag and its state (the default without a subcommand).
    List,
    /// Set a flag: on, off, or shadow (computes and records, but posts and writes nothing).
    Set {
        flag: String,
        state: String,
        /// A location id or name; the whole shop when left out.
        #[arg(long)]
        location: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Past sales from a CSV file (columns documented in the README).
    Sales {
        file: std::path::PathBuf,
        /// Import the good rows and list the bad ones, instead of importing nothing.
        #[arg(long)]
        skip_bad: bool,
    },
    /// Vendors and what each supplies from a CSV file (columns documented in the README);
    /// replaces the last import.
    Vendors { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum CommandsCommand {
    /// Print the Slack app manifest, Telegram setMyCommands payload or Discord commands as JSON.
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConnectPos {
    Lightspeed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    SlackManifest,
    Telegram,
    Discord,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The newest records.
    Tail {
        #[arg(short = 'n', default_value_t = 20)]
        n: i64,
        #[arg(long)]
        json: bool,
    },
    /// Recompute the hash chain; exits 1 naming the first bad record.
    Verify,
    /// Every record as JSON lines.
    Export {
        /// Only records at or after this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
    },
}

fn environment() -> std::collections::BTreeMap<String, String> {
    std::env::vars().filter(|(k, _)| k.starts_with("TILLPILOT__")).collect()
}

fn load_config(cli: &Cli) -> Result<Config, CliError> {
    Ok(Config::load(cli.config.as_deref(), &environment())?)
}

/// Builds the app: the demo shop with `--demo`, the configured one otherwise.
async fn open_app(cli: &Cli, seed: Option<u64>) -> Result<App, CliError> {
    let config = load_config(cli)?;
    if cli.demo || matches!(cli.command, Command::Demo { .. }) {
        let interactive = std::io::stderr().is_terminal();
        let mut last = -1i64;
        let app = crate::demo::open(config, &cli.data_dir, seed, |share, what| {
            let pct = (share * 100.0) as i64;
            if pct / 10 != last / 10 {
                last = pct;
                if interactive {
                    eprint!("\rSetting up the demo shop: {what} {pct:>3}%   ");
                    if share >= 1.0 {
                        eprintln!();
                    }
                } else {
                    tracing::info!("setting up the demo shop: {what} {pct}%");
                }
            }
        })
        .await?;
        return Ok(app);
    }
    Ok(App::start(config, None).await?)
}

/// `tillpilot connect lightspeed [--code CODE]`.
async fn connect_lightspeed(cli: &Cli, code: Option<&str>) -> Result<(), CliError> {
    use crate::pos::lightspeed::{client, webhook};
    let config = load_config(cli)?;
    let Some(lightspeed) = config.pos.lightspeed.as_ref() else {
        return Err(CliError::Usage(
            "[pos.lightspeed] is missing: add domain_prefix, client_id, client_secret and redirect_uri \
             from the app's page in the Lightspeed developer portal"
                .into(),
        ));
    };
    let Some(redirect_uri) = lightspeed.redirect_uri.as_deref() else {
        return Err(CliError::Usage(
            "[pos.lightspeed] redirect_uri is missing: it must be the redirect URI registered with the app".into(),
        ));
    };
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        let state = hex::encode(crate::approval_token::random_bytes(12));
        println!(
            "Open this address, sign in to {prefix}.retail.lightspeed.app and approve Tillpilot:\n\n  {url}\n\n\
             Lightspeed then sends you to {redirect_uri}?code=...&domain_prefix={prefix}&state={state}\n\
             (check the state matches). Then run:\n\n  tillpilot connect lightspeed --code THE_CODE\n",
            prefix = lightspeed.domain_prefix,
            url = client::authorize_url(&lightspeed.client_id, redirect_uri, &state),
        );
        return Ok(());
    };
    let store = Store::connect(&config.database.url).await?;
    store.migrate().await?;
    let clock: std::sync::Arc<dyn crate::domain::Clock> = std::sync::Arc::new(crate::domain::SystemClock);
    let client = client::LightspeedClient::new(
        lightspeed,
        store,
        clock,
        std::time::Duration::from_secs(20),
        crate::retry::RetryPolicy::default(),
    )
    .context("setting up the Lightspeed client")?;
    client.exchange_code(code, redirect_uri).await.context("exchanging the code for tokens")?;
    println!("Connected to {}: the tokens are stored in the database.", lightspeed.domain_prefix);
    match &lightspeed.webhook_url {
        Some(url) => {
            let subscribed = webhook::subscribe(&client, url).await.context("subscribing the webhooks")?;
            for (kind, new) in subscribed {
                println!("  {kind:<24} {}", if new { "subscribed" } else { "already subscribed" });
            }
            println!("Webhooks go to {url}; the scheduled pull catches anything they miss.");
        }
        None => println!(
            "No webhook_url in [pos.lightspeed]: the scheduled pull keeps Tillpilot current. For changes \
             within seconds, set webhook_url = \"https://<your public address>/webhooks/lightspeed\" and run this again."
        ),
    }
    Ok(())
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Demo { listen, seed } => demo(&cli, *listen, *seed).await,
        Command::Run => serve(&cli).await,
        Command::Chat { who } => {
            let app = open_app(&cli, None).await?;
            let sender = sender_for(&app, who.as_deref())?;
            chat(&app, sender).await
        }
        Command::Ask { who, json, text } => {
            let app = open_app(&cli, None).await?;
            let sender = sender_for(&app, who.as_deref())?;
            let outcome =
                dispatch::handle(&app, Inbound { channel: ChannelKind::Terminal, sender, text: text.join(" ") })
                    .await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&outcome).context("encoding the reply")?);
            } else {
                println!("{}", terminal::render(&outcome.reply));
            }
            Ok(())
        }
        Command::Migrate => {
            let config = if cli.demo {
                crate::demo::config(load_config(&cli)?, &cli.data_dir, crate::demo::DEFAULT_SEED)
            } else {
                load_config(&cli)?
            };
            let store = Store::connect(&config.database.url).await?;
            store.migrate().await?;
            println!("Database is up to date.");
            Ok(())
        }
        Command::Sync { full } => {
            let app = open_app(&cli, None).await?;
            let days = if *full { 366 } else { 35 };
            let mut bar = crate::progress::ProgressBar::default();
            let report = sync::pull(app.pos.as_ref(), &app.store, app.clock.now_ms(), days, |share, what| {
                bar.update(share, what)
            })
            .await;
            bar.finish();
            let report = report.context("syncing from the POS")?;
            app.set_catalog(
                app.pos.catalog().await.context("reading the catalog")?,
                app.pos.locations().await.context("reading locations")?,
            );
            println!(
                "Synced {} locations, {} items ({} variations), {} stock levels, {} vendors, {} orders.",
                report.locations, report.items, report.variations, report.stock_levels, report.vendors, report.orders
            );
            Ok(())
        }
        Command::Audit { action } => audit(&cli, action).await,
        Command::Connect { pos: ConnectPos::Lightspeed, code } => connect_lightspeed(&cli, code.as_deref()).await,
        Command::Summary { date, post } => {
            let app = open_app(&cli, None).await?;
            let date = date.unwrap_or_else(|| app.today() - chrono::Duration::days(1));
            let summary = crate::workflows::summary::build(&app, date).await?;
            let reply = crate::workflows::summary::reply(&summary);
            let reply = crate::workflows::summary::with_narrative(&app, &summary, reply).await;
            println!("{}", crate::channels::terminal::render(&reply));
            if let Some(image) = &reply.image {
                use base64::Engine;
                let dir = if cli.demo { cli.data_dir.clone() } else { std::path::PathBuf::from(".") };
                let path = dir.join(format!("summary-{date}.png"));
                let png = base64::engine::general_purpose::STANDARD
                    .decode(&image.png_base64)
                    .context("decoding the chart")?;
                std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
                println!("Chart: {}", path.display());
            }
            if *post {
                match crate::workflows::summary::post(&app, &summary, &reply, "cli").await? {
                    crate::workflows::summary::Posted::Queued(0) => {
                        println!("No owner channel is configured; nothing was posted.")
                    }
                    crate::workflows::summary::Posted::Queued(n) => {
                        let sent = flush_outbox(&app).await?;
                        println!("Posted to {n} owner channels ({sent} messages sent).");
                    }
                    crate::workflows::summary::Posted::Shadow => {
                        println!("The summary flag is in shadow mode: recorded, not posted.")
                    }
                    crate::workflows::summary::Posted::Off => println!("The summary flag is off: not posted."),
                }
            }
            Ok(())
        }
        Command::Reorder { post, json } => {
            let app = open_app(&cli, None).await?;
            let today = app.today();
            let mut plan = crate::workflows::reorder::plan(&app, today).await?;
            // Posting records the drafts first, so what is printed carries their numbers.
            let report = if *post { Some(crate::workflows::reorder::run(&app, &mut plan, "cli").await?) } else { None };
            if *json {
                println!("{}", serde_json::to_string_pretty(&plan).context("printing JSON")?);
            } else {
                if plan.drafts.is_empty() {
                    println!("Nothing needs ordering today.");
                }
                for po in &plan.drafts {
                    println!("{}", crate::workflows::reorder::describe(po));
                    for line in &po.lines {
                        println!("  {} × {}: {}", line.quantity, line.name, line.explanation);
                    }
                }
                for held in &plan.held {
                    println!("Held: {held}");
                }
            }
            if let Some(report) = report {
                let sent = flush_outbox(&app).await?;
                println!(
                    "{} drafts sent for approval ({sent} messages), {} in shadow mode, {} already drafted today.",
                    report.drafted.len(),
                    report.shadow.len(),
                    report.already_drafted.len()
                );
            }
            Ok(())
        }
        Command::Flags { action } => {
            let app = open_app(&cli, None).await?;
            if let Some(FlagsCommand::Set { flag, state, location }) = action {
                let Some((flag, _, _)) = crate::workflows::flags::FLAGS.iter().find(|(f, _, _)| f == flag) else {
                    let names: Vec<&str> = crate::workflows::flags::FLAGS.iter().map(|(f, _, _)| *f).collect();
                    return Err(CliError::Usage(format!("unknown flag {flag:?}; flags are {}", names.join(", "))));
                };
                let Some(state) = crate::store::flags::FlagState::parse(state) else {
                    return Err(CliError::Usage(format!("unknown state {state:?}; use on, off or shadow")));
                };
                let location = match location {
                    None => String::new(),
                    Some(wanted) => {
                        let view = app.catalog();
                        let found = view
                            .locations
                            .iter()
                            .find(|l| l.id.as_str() == wanted || l.name.eq_ignore_ascii_case(wanted));
                        match found {
                            Some(l) => l.id.to_string(),
                            None => return Err(CliError::Usage(format!("unknown location {wanted:?}"))),
                        }
                    }
                };
                app.store.set_flag(flag, &location, state, "cli", "cli", crate::store::now_ms()).await?;
            }
            let reply = crate::workflows::flags::list(&app).await.map_err(|e| anyhow::anyhow!(e))?;
            println!("{}", crate::channels::terminal::render(&reply));
            Ok(())
        }
        Command::Import { what: ImportCommand::Sales { file, skip_bad } } => {
            let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let app = open_app(&cli, None).await?;
            let report = crate::jobs::import::import_sales(&app, std::io::BufReader::new(input), *skip_bad)
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            println!(
                "Imported {} rows: {} new orders ({} already imported), {} new items, {} new locations.",
                report.rows,
                report.orders_added,
                report.orders_already_imported,
                report.items_created,
                report.locations_created
            );
            for bad in &report.skipped {
                println!("  skipped line {}: {}", bad.line, bad.reason);
            }
            Ok(())
        }
        Command::Import { what: ImportCommand::Vendors { file } } => {
            let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let app = open_app(&cli, None).await?;
            let report = crate::jobs::import_vendors::import_vendors(&app, std::io::BufReader::new(input))
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            println!(
                "Imported {} vendors with {} items. The reorder run uses them beside [[vendors]] in the configuration, which wins for a vendor named in both.",
                report.vendors, report.items
            );
            for (vendor, sku) in &report.unknown_skus {
                println!("  {vendor}: no item in the catalog has SKU {sku}");
            }
            Ok(())
        }
        Command::Backtest { horizon, json } => {
            if *horizon == 0 {
                return Err(CliError::Usage("--horizon must be at least 1 day".into()));
            }
            let app = open_app(&cli, None).await?;
            let sales = app.store.sale_lines(0, app.clock.now_ms()).await?;
            let series = crate::forecast::series::history(sales, app.timezone, app.today());
            let report = crate::forecast::backtest::backtest(&series, *horizon);
            if *json {
                println!("{}", serde_json::to_string(&report).context("printing JSON")?);
            } else {
                print!("{}", crate::forecast::backtest::render(&report));
            }
            Ok(())
        }
        Command::Commands { action: CommandsCommand::Export { format } } => {
            let commands = crate::commands::CommandSet::embedded().context("loading the embedded commands")?;
            let value = match format {
                ExportFormat::SlackManifest => {
                    let config = if cli.demo { None } else { Some(load_config(&cli)?) };
                    let shop = config.as_ref().map_or("your shop".to_owned(), |c| c.shop.name.clone());
                    let url = config
                        .as_ref()
                        .and_then(|c| c.server.public_url.clone())
                        .unwrap_or_else(|| "https://YOUR-HOST".to_owned());
                    crate::channels::registrations::slack_manifest(&commands, &shop, &url)
                }
                ExportFormat::Telegram => crate::channels::registrations::telegram_commands(&commands),
                ExportFormat::Discord => crate::channels::registrations::discord_commands(&commands),
            };
            println!("{}", serde_json::to_string_pretty(&value).context("printing JSON")?);
            Ok(())
        }
    }
}

/// Sends what is queued now (for one-shot commands that post), giving up after a minute.
async fn flush_outbox(app: &App) -> Result<usize, CliError> {
    let mut pacing = crate::jobs::outbox_worker::Pacing::default();
    let mut sent = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let report = crate::jobs::outbox_worker::send_due(app, "cli", &mut pacing).await?;
        sent += report.sent;
        if report == crate::jobs::outbox_worker::SendReport::default() {
            break;
        }
    }
    Ok(sent)
}

/// `--as WHO`, defaulting to the first owner.
fn sender_for(app: &App, who: Option<&str>) -> Result<Sender, CliError> {
    match who {
        Some(who) => Ok(app.directory.resolve_terminal(who)),
        None => match app.directory.owner() {
            Some(owner) => Ok(app.directory.resolve_terminal(&owner.name)),
            None => Err(CliError::Usage("no owner is configured in [[people]]; say who you are with --as NAME".into())),
        },
    }
}

async fn chat(app: &App, sender: Sender) -> Result<(), CliError> {
    let name = match &sender {
        Sender::Known(p) => format!("{} ({})", p.name, p.role),
        Sender::Unknown { external_id, .. } => external_id.clone(),
    };
    println!("Chatting as {name}. Type \"help\", a question, or \"quit\". Answer a numbered choice with its number.");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut last: Option<Reply> = None;
    let mut so_far = crate::store::conversations::ConversationState::default();
    loop {
        print!("> ");
        let _ = std::io::stdout().flush();
        let Some(line) = lines.next_line().await.context("reading the terminal")? else { break };
        if matches!(line.trim(), "quit" | "exit" | "/quit") {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let text = terminal::resolve_choice(&line, last.as_ref());
        let inbound = Inbound { channel: ChannelKind::Terminal, sender: sender.clone(), text };
        let outcome = dispatch::handle_in_conversation(app, inbound, &so_far).await?;
        println!("{}\n", terminal::render(&outcome.reply));
        so_far = crate::store::conversations::ConversationState::after(&outcome.reply, outcome.ran);
        last = Some(outcome.reply);
    }
    Ok(())
}

async fn bind(listen: Option<SocketAddr>, default: SocketAddr) -> Result<TcpListener, CliError> {
    match listen {
        Some(addr) => {
            TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}")).map_err(CliError::from)
        }
        None => match TcpListener::bind(default).await {
            Ok(listener) => Ok(listener),
            Err(_) => {
                let fallback = SocketAddr::new(default.ip(), 0);
                TcpListener::bind(fallback)
                    .await
                    .with_context(|| format!("listening on {fallback}"))
                    .map_err(CliError::from)
            }
        },
    }
}

async fn demo(cli: &Cli, listen: Option<SocketAddr>, seed: Option<u64>) -> Result<(), CliError> {
    let app = Arc::new(open_app(cli, seed).await?);
    let listener = bind(listen, app.config.server.listen).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    println!("Tillpilot demo: {} (simulated shop, seed {})", app.config.shop.name, app.config.pos.sim.seed);
    println!("Data:      {}", crate::demo::database_path(&cli.data_dir).display());
    println!("Listening on http://{addr}  (/healthz, /readyz, /metrics)");
    println!("People you can be (tillpilot chat --demo --as NAME or PHONE):");
    for person in demo_people() {
        let who = if person.role.is_team() { person.name.to_owned() } else { person.phone.to_owned() };
        println!("  {:<14} {:<9} {:<13} try: {}", person.name, person.role.as_str(), who, person.try_saying);
    }
    println!("Also: tillpilot ask --demo \"stock oat milk\", tillpilot audit --demo verify");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::http::serve(app.clone(), listener, async {
        let _ = stop_rx.await;
    }));
    if std::io::stdin().is_terminal() {
        let sender = sender_for(&app, None)?;
        chat(&app, sender).await?;
    } else {
        println!("Press Ctrl-C to stop.");
        let _ = std::io::stdout().flush();
        shutdown_signal().await;
    }
    let _ = stop_tx.send(());
    server.await.context("stopping the HTTP server")?.context("HTTP server")?;
    crate::workflows::review::flush(&app, std::time::Duration::from_secs(10)).await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (what systemd, Docker and Kubernetes send to stop a service): either one
/// stops taking requests, lets the workers finish what they hold and exits 0.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops Tillpilot");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping: finishing the work in hand");
}

async fn serve(cli: &Cli) -> Result<(), CliError> {
    let app = Arc::new(open_app(cli, None).await?);
    let listener = bind(Some(app.config.server.listen), app.config.server.listen).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, pos = app.pos.provider(), "Tillpilot is running");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker_name = format!("{}-{}", std::process::id(), addr.port());
    let worker = tokio::spawn(crate::jobs::inbox_worker::run(app.clone(), worker_name.clone(), stopped.clone()));
    let sender = tokio::spawn(crate::jobs::outbox_worker::run(app.clone(), worker_name.clone(), stopped.clone()));
    let scheduler = tokio::spawn(crate::jobs::scheduler::run(app.clone(), worker_name, stopped.clone()));
    let poller = app
        .config
        .telegram
        .as_ref()
        .filter(|t| t.mode == crate::config::TelegramMode::Polling)
        .map(|t| crate::channels::telegram::client::TelegramClient::new(&t.api_url, t.bot_token.clone()))
        .transpose()
        .context("setting up Telegram")?
        .map(|client| tokio::spawn(crate::jobs::telegram_polling::poll(app.store.clone(), client, stopped.clone())));
    let socket_mode =
        app.config.slack.as_ref().and_then(|s| Some((s.api_base_url.clone(), s.app_token.clone()?))).map(
            |(base, token)| tokio::spawn(crate::jobs::slack_socket::run(app.clone(), base, token, stopped.clone())),
        );
    let minutes = app.config.pos.reconcile_minutes;
    let reconcile = (minutes > 0).then(|| {
        tokio::spawn(sync::reconcile_on_schedule(app.clone(), std::time::Duration::from_secs(minutes * 60), stopped))
    });
    crate::http::serve(app.clone(), listener, shutdown_signal()).await.context("HTTP server")?;
    crate::workflows::review::flush(&app, std::time::Duration::from_secs(10)).await;
    let _ = stop.send(true);
    worker.await.context("stopping the inbox worker")?;
    sender.await.context("stopping the outbox worker")?;
    scheduler.await.context("stopping the scheduler")?;
    if let Some(poller) = poller {
        poller.await.context("stopping Telegram polling")?;
    }
    if let Some(socket_mode) = socket_mode {
        socket_mode.await.context("stopping Slack Socket Mode")?;
    }
    if let Some(reconcile) = reconcile {
        reconcile.await.context("stopping reconciliation")?;
    }
    Ok(())
}

async fn audit(cli: &Cli, action: &AuditCommand) -> Result<(), CliError> {
    let config = if cli.demo {
        crate::demo::config(load_config(cli)?, &cli.data_dir, crate::demo::DEFAULT_SEED)
    } else {
        load_config(cli)?
    };
    let store = Store::connect(&config.database.url).await?;
    store.migrate().await?;
    match action {
        AuditCommand::Tail { n, json } => {
            for record in store.audit_tail((*n).max(0)).await? {
                if *json {
                    println!("{}", serde_json::to_string(&record).context("encoding a record")?);
                } else {
                    let at = chrono::DateTime::from_timestamp_millis(record.at_ms)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default();
                    let detail: String = record.detail.chars().take(100).collect();
                    println!(
                        "{:>6}  {at}  {:<12} {:<9} {:<18} {:<10} {detail}",
                        record.seq, record.actor, record.channel, record.kind, record.subject
                    );
                }
            }
            Ok(())
        }
        AuditCommand::Verify => match store.audit_verify().await? {
            Ok(n) => {
                println!("Audit log intact: {n} records verified.");
                Ok(())
            }
            Err(broken) => Err(CliError::Runtime(anyhow::anyhow!("{broken}"))),
        },
        AuditCommand::Export { since } => {
            let since_ms = match since {
                None => 0,
                Some(text) => parse_since(text).ok_or_else(|| {
                    CliError::Usage(format!("--since: expected RFC 3339 or YYYY-MM-DD, got {text:?}"))
                })?,
            };
            let mut out = std::io::stdout().lock();
            for record in store.audit_since(since_ms).await? {
                writeln!(out, "{}", serde_json::to_string(&record).context("encoding a record")?).context("writing")?;
            }
            Ok(())
        }
    }
}

fn parse_since(text: &str) -> Option<i64> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}
