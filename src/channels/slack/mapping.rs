//! Replies as Slack Block Kit: a section with the text, a section of fields, an actions block
//! of buttons. Text from people, the POS or an LLM is escaped (`&`, `<`, `>`), so it cannot
//! mention anyone, link anywhere or break out of the block.

use crate::channels::{ButtonStyle, Reply};
use serde_json::{Value, json};

/// Slack's escaping for text in messages: without `<`, no `<@U…>` mention, `<!channel>`
/// broadcast or `<http://…|…>` link can be formed.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Slack's limit on button labels.
const BUTTON_LABEL_MAX: usize = 75;
/// Slack's limit on section text.
const SECTION_MAX: usize = 3_000;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max - 1).chain(['…']).collect() }
}

/// `{"text", "blocks"}` for chat.postMessage, chat.update and response URLs. The top-level
/// `text` is the notification fallback.
pub fn render(reply: &Reply) -> Value {
    let text = escape(&reply.text);
    let mut blocks = vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(&text, SECTION_MAX) } })];
    if !reply.fields.is_empty() {
        let fields: Vec<Value> = reply
            .fields
            .iter()
            .take(10)
            .map(|f| json!({ "type": "mrkdwn", "text": clip(&format!("*{}*\n{}", escape(&f.label), escape(&f.value)), 2_000) }))
            .collect();
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if !reply.actions.is_empty() {
        let buttons: Vec<Value> = reply
            .actions
            .iter()
            .take(25)
            .enumerate()
            .map(|(i, b)| {
                let mut button = json!({ "type": "button", "action_id": format!("tillpilot_{i}"),
                    "text": { "type": "plain_text", "text": clip(&b.label, BUTTON_LABEL_MAX) }, "value": b.action });
                match b.style {
                    ButtonStyle::Primary => button["style"] = json!("primary"),
                    ButtonStyle::Danger => button["style"] = json!("danger"),
                    ButtonStyle::Default => {}
                }
                button
            })
            .collect();
        blocks.push(json!({ "type": "actions", "elements": buttons }));
    }
    json!({ "text": text, "blocks": blocks, "unfurl_links": false, "unfurl_media": false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Button;

    #[test]
    fn renders_sections_fields_and_buttons() {
        let mut reply = Reply::text("Oat Milk 1L: 0 at Main St").field("Riverside", "12");
        reply.actions.push(Button {
            label: "Approve".into(),
            style: ButtonStyle::Primary,
            action: "ap.X.a.sig".into(),
        });
        let value = render(&reply);
        assert_eq!(value["blocks"][0]["text"]["text"], "Oat Milk 1L: 0 at Main St");
        assert_eq!(value["blocks"][1]["fields"][0]["text"], "*Riverside*\n12");
        assert_eq!(value["blocks"][2]["elements"][0]["style"], "primary");
        assert_eq!(value["blocks"][2]["elements"][0]["value"], "ap.X.a.sig");
    }

    #[test]
    fn text_cannot_mention_or_link() {
        let value = render(&Reply::text("hi <!channel> <@U123> <https://evil.example|click> & more"));
        let text = value["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt;") && text.contains("&amp; more"));
    }
}
