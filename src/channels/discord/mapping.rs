//! Replies as Discord messages: content, an embed for the fields, and action rows of buttons.
//! Text from people, the POS or an LLM has its markdown escaped, and every message says
//! `allowed_mentions: {parse: []}`, so nobody is pinged and no `@everyone` goes out.

use crate::channels::{ButtonStyle, Reply};
use serde_json::{Value, json};

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '[' | ']' | '(' | ')' | '#' | '-' | '<' | '@') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

const CONTENT_MAX: usize = 2_000;
const LABEL_MAX: usize = 80;
const CUSTOM_ID_MAX: usize = 100;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max - 1).chain(['…']).collect() }
}

/// The message body for create message, edit message and interaction responses.
pub fn render(reply: &Reply) -> Value {
    let mut body = json!({ "content": clip(&escape(&reply.text), CONTENT_MAX), "allowed_mentions": { "parse": [] },
        "embeds": [], "components": [] });
    if !reply.fields.is_empty() {
        let fields: Vec<Value> = reply
            .fields
            .iter()
            .take(25)
            .map(|f| json!({ "name": clip(&escape(&f.label), 256), "value": clip(&escape(&f.value), 1_024), "inline": true }))
            .collect();
        body["embeds"] = json!([{ "fields": fields }]);
    }
    let buttons: Vec<Value> = reply
        .actions
        .iter()
        .filter(|b| b.action.len() <= CUSTOM_ID_MAX)
        .take(25)
        .map(|b| {
            let style = match b.style {
                ButtonStyle::Primary => 3,
                ButtonStyle::Danger => 4,
                ButtonStyle::Default => 2,
            };
            json!({ "type": 2, "style": style, "label": clip(&b.label, LABEL_MAX), "custom_id": b.action })
        })
        .collect();
    let rows: Vec<Value> = buttons.chunks(5).map(|row| json!({ "type": 1, "components": row })).collect();
    body["components"] = json!(rows);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_markdown_are_neutralised() {
        let value = render(&Reply::text("@everyone **free** [link](http://x)"));
        assert_eq!(value["content"], "\\@everyone \\*\\*free\\*\\* \\[link\\]\\(http://x\\)");
        assert_eq!(value["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn buttons_go_five_to_a_row() {
        let mut reply = Reply::text("Which?");
        for i in 0..7 {
            reply = reply.choice(format!("Item {i}"), format!("stock id:{i}"));
        }
        let value = render(&reply);
        assert_eq!(value["components"].as_array().unwrap().len(), 2);
        assert_eq!(value["components"][0]["components"].as_array().unwrap().len(), 5);
    }
}
