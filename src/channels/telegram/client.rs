//! The Telegram Bot API methods the bot uses, through teloxide-core's `Bot` and payloads:
//! sendMessage, editMessageText, sendPhoto, answerCallbackQuery and getUpdates. Flood control
//! (429 with `parameters.retry_after`) comes back as `RequestError::RetryAfter`. One attempt
//! per call: the outbox and the polling loop do the retrying.

use crate::channels::ChannelError;
use crate::config::Secret;
use std::time::Duration;
use teloxide_core::errors::{ApiError, RequestError};
use teloxide_core::payloads::{
    AnswerCallbackQuerySetters, EditMessageTextSetters, GetUpdatesSetters, SendMessageSetters, SendPhotoSetters,
};
use teloxide_core::requests::{Request, Requester};
use teloxide_core::types::{
    AllowedUpdate, CallbackQueryId, ChatId, InputFile, LinkPreviewOptions, MessageId, ParseMode, Recipient, Update,
};

/// What a message is, for sendMessage and editMessageText.
pub use super::mapping::Rendered;

pub struct TelegramClient {
    bot: teloxide_core::Bot,
    token: Secret,
}

/// Each call waits at most this long; a long poll waits its own timeout on top.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

impl TelegramClient {
    pub fn new(api_url: &str, token: Secret) -> Result<TelegramClient, ChannelError> {
        crate::telemetry::install_crypto();
        let url = reqwest::Url::parse(api_url)
            .map_err(|e| ChannelError::Rejected(format!("the Telegram API URL {api_url:?}: {e}")))?;
        // Long polls hold the connection for up to POLL_WAIT; the request timeout covers them.
        let http = teloxide_core::net::default_reqwest_settings()
            .timeout(CALL_TIMEOUT + super::POLL_WAIT)
            .build()
            .map_err(|e| ChannelError::Unavailable(e.to_string()))?;
        let bot = teloxide_core::Bot::with_client(token.expose(), http).set_api_url(url);
        Ok(TelegramClient { bot, token })
    }

    fn error(&self, err: RequestError) -> ChannelError {
        classify(err, self.token.expose())
    }

    async fn within<T>(
        &self,
        call: impl std::future::IntoFuture<Output = Result<T, RequestError>>,
    ) -> Result<T, ChannelError> {
        match tokio::time::timeout(CALL_TIMEOUT, call.into_future()).await {
            Ok(answer) => answer.map_err(|e| self.error(e)),
            Err(_) => Err(ChannelError::Unavailable("Telegram did not answer in time".into())),
        }
    }

    pub async fn send_message(&self, chat: &str, message: &Rendered) -> Result<String, ChannelError> {
        let request = self
            .bot
            .send_message(recipient(chat), message.text.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            .reply_markup(message.keyboard.clone());
        let sent = self.within(request.send()).await?;
        Ok(sent.id.0.to_string())
    }

    pub async fn edit_message(&self, chat: &str, message_id: &str, message: &Rendered) -> Result<(), ChannelError> {
        let id = message_id
            .parse::<i32>()
            .map_err(|_| ChannelError::Rejected(format!("{message_id:?} is not a Telegram message id")))?;
        let request = self
            .bot
            .edit_message_text(recipient(chat), MessageId(id), message.text.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            .reply_markup(message.keyboard.clone());
        match tokio::time::timeout(CALL_TIMEOUT, request.send()).await {
            // Editing to the same content is not an error for us.
            Ok(Err(RequestError::Api(ApiError::MessageNotModified))) => Ok(()),
            Ok(answer) => answer.map(|_| ()).map_err(|e| self.error(e)),
            Err(_) => Err(ChannelError::Unavailable("Telegram did not answer in time".into())),
        }
    }

    pub async fn send_photo(&self, chat: &str, png: Vec<u8>, caption: &str) -> Result<(), ChannelError> {
        let photo = InputFile::memory(png).file_name("chart.png");
        let request = self.bot.send_photo(recipient(chat), photo).caption(caption.to_owned());
        self.within(request.send()).await.map(|_| ())
    }

    pub async fn answer_callback(&self, callback_id: &str, text: &str) -> Result<(), ChannelError> {
        let text: String = text.chars().take(200).collect();
        let request = self.bot.answer_callback_query(CallbackQueryId(callback_id.to_owned())).text(text);
        self.within(request.send()).await.map(|_| ())
    }

    /// Long-polls for updates from `offset` on, waiting up to `wait` for one.
    pub async fn get_updates(&self, offset: i32, wait: Duration) -> Result<Vec<Update>, ChannelError> {
        let request = self
            .bot
            .get_updates()
            .offset(offset)
            .timeout(u32::try_from(wait.as_secs()).unwrap_or(u32::MAX))
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        match tokio::time::timeout(CALL_TIMEOUT + wait, request.send()).await {
            Ok(answer) => answer.map_err(|e| self.error(e)),
            Err(_) => Err(ChannelError::Unavailable("Telegram did not answer the long poll in time".into())),
        }
    }
}

/// Chat ids are numbers; `@channelname` targets are usernames.
fn recipient(chat: &str) -> Recipient {
    match chat.parse::<i64>() {
        Ok(id) => Recipient::Id(ChatId(id)),
        Err(_) => Recipient::ChannelUsername(chat.to_owned()),
    }
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// Flood control is a wait; the network, an unreadable answer (a proxy's 502 page) and I/O are
/// worth another try; the API's own refusals are not. The token is in every request URL, so
/// no error text may carry it.
fn classify(err: RequestError, token: &str) -> ChannelError {
    let text = |e: &dyn std::fmt::Display| e.to_string().replace(token, "[redacted]");
    match err {
        RequestError::RetryAfter(wait) => ChannelError::RateLimited(wait.duration()),
        RequestError::Network(e) => {
            // reqwest names the URL (with the token in it) in its message: say what happened only.
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "the request failed"
            };
            ChannelError::Unavailable(format!("Telegram: {what}"))
        }
        RequestError::InvalidJson { source, .. } => {
            ChannelError::Unavailable(text(&format!("Telegram answered something that is not the Bot API: {source}")))
        }
        RequestError::Io(e) => ChannelError::Unavailable(text(&e)),
        RequestError::MigrateToChatId(id) => {
            ChannelError::Rejected(format!("the group became a supergroup: use chat id {id} instead"))
        }
        RequestError::Api(e) => ChannelError::Rejected(text(&format!("Telegram: {e}"))),
    }
}
