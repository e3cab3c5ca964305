//! Replies as Telegram messages: HTML text (`<b>` labels for fields) with an inline keyboard
//! of buttons (teloxide-core's `InlineKeyboardMarkup`). Text from people, the POS or an LLM is
//! HTML-escaped, so it cannot add markup or links.

use crate::channels::Reply;
use teloxide_core::types::{InlineKeyboardButton, InlineKeyboardMarkup};

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Telegram's limits: 4,096 characters of text, 64 bytes of callback data.
const TEXT_MAX: usize = 4_096;
pub const CALLBACK_DATA_MAX: usize = 64;

/// A message for sendMessage and editMessageText (sent with `parse_mode` HTML).
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub keyboard: InlineKeyboardMarkup,
}

/// Buttons whose action does not fit in callback data are left out (their choice is still in
/// the text).
pub fn render(reply: &Reply) -> Rendered {
    let mut text = escape(&reply.text);
    for field in &reply.fields {
        text.push_str(&format!("\n<b>{}</b>: {}", escape(&field.label), escape(&field.value)));
    }
    if text.chars().count() > TEXT_MAX {
        text = text.chars().take(TEXT_MAX - 1).chain(['…']).collect();
    }
    let rows = reply
        .actions
        .iter()
        .filter(|b| b.action.len() <= CALLBACK_DATA_MAX)
        .map(|b| vec![InlineKeyboardButton::callback(b.label.clone(), b.action.clone())]);
    Rendered { text, keyboard: InlineKeyboardMarkup::new(rows) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_buttons_become_a_keyboard() {
        let reply =
            Reply::text("<a href=\"x\">win</a> & <b>").field("Main St", "3 <left>").choice("Oat Milk", "stock id:A");
        let rendered = render(&reply);
        assert_eq!(rendered.text, "&lt;a href=\"x\"&gt;win&lt;/a&gt; &amp; &lt;b&gt;\n<b>Main St</b>: 3 &lt;left&gt;");
        let keyboard = serde_json::to_value(&rendered.keyboard).unwrap();
        assert_eq!(keyboard["inline_keyboard"][0][0]["callback_data"], "stock id:A");
        assert_eq!(keyboard["inline_keyboard"][0][0]["text"], "Oat Milk");
    }

    #[test]
    fn a_button_too_long_for_callback_data_is_left_out() {
        let reply = Reply::text("pick").choice("Long", "x".repeat(CALLBACK_DATA_MAX + 1)).choice("Short", "stock id:B");
        let rendered = render(&reply);
        assert_eq!(rendered.keyboard.inline_keyboard.len(), 1);
    }
}
