//! Replies as Telegram messages: HTML text (`<b>` labels for fields) with an inline keyboard
//! of buttons. Text from people, the POS or an LLM is HTML-escaped, so it cannot add markup or
//! links.

use crate::channels::Reply;
use serde_json::{Value, json};

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Telegram's limits: 4,096 characters of text, 64 bytes of callback data.
const TEXT_MAX: usize = 4_096;
pub const CALLBACK_DATA_MAX: usize = 64;

/// `text`, `parse_mode` and `reply_markup` for sendMessage and editMessageText. Buttons whose
/// action does not fit in callback data are left out (their choice is still in the text).
pub fn render(reply: &Reply) -> Value {
    let mut text = escape(&reply.text);
    for field in &reply.fields {
        text.push_str(&format!("\n<b>{}</b>: {}", escape(&field.label), escape(&field.value)));
    }
    if text.chars().count() > TEXT_MAX {
        text = text.chars().take(TEXT_MAX - 1).chain(['…']).collect();
    }
    let rows: Vec<Value> = reply
        .actions
        .iter()
        .filter(|b| b.action.len() <= CALLBACK_DATA_MAX)
        .map(|b| json!([{ "text": b.label, "callback_data": b.action }]))
        .collect();
    json!({ "text": text, "parse_mode": "HTML", "reply_markup": { "inline_keyboard": rows },
        "link_preview_options": { "is_disabled": true } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_buttons_become_a_keyboard() {
        let reply =
            Reply::text("<a href=\"x\">win</a> & <b>").field("Main St", "3 <left>").choice("Oat Milk", "stock id:A");
        let value = render(&reply);
        assert_eq!(value["text"], "&lt;a href=\"x\"&gt;win&lt;/a&gt; &amp; &lt;b&gt;\n<b>Main St</b>: 3 &lt;left&gt;");
        assert_eq!(value["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "stock id:A");
    }
}
