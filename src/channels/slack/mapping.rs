//! Replies as Slack Block Kit (slack-morphism's models): a section with the text, a section of
//! fields, an actions block of buttons. Text from people, the POS or an LLM is escaped (`&`,
//! `<`, `>`), so it cannot mention anyone, link anywhere or break out of the block.

use crate::channels::{ButtonStyle, Reply};
use slack_morphism::prelude::{
    SlackActionBlockElement, SlackActionId, SlackActionsBlock, SlackBlock, SlackBlockButtonElement,
    SlackBlockButtonStyle, SlackBlockMarkDownText, SlackBlockText, SlackMessageContent, SlackSectionBlock,
};

/// Slack's escaping for text in messages: without `<`, no `<@U…>` mention, `<!channel>`
/// broadcast or `<http://…|…>` link can be formed.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Slack's limit on button labels.
const BUTTON_LABEL_MAX: usize = 75;
/// Slack's limit on section text.
const SECTION_MAX: usize = 3_000;
/// Slack's limit on one field's text, and on fields per section.
const FIELD_MAX: usize = 2_000;
const FIELDS_MAX: usize = 10;
/// Slack's limit on elements in an actions block.
const BUTTONS_MAX: usize = 25;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max - 1).chain(['…']).collect() }
}

fn markdown(text: String) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text))
}

/// The message content for chat.postMessage, chat.update and response URLs: the top-level
/// `text` is the notification fallback, the blocks what people see.
pub fn render(reply: &Reply) -> SlackMessageContent {
    let text = escape(&reply.text);
    let mut blocks = vec![SlackBlock::Section(SlackSectionBlock::new().with_text(markdown(clip(&text, SECTION_MAX))))];
    if !reply.fields.is_empty() {
        let fields = reply
            .fields
            .iter()
            .take(FIELDS_MAX)
            .map(|f| markdown(clip(&format!("*{}*\n{}", escape(&f.label), escape(&f.value)), FIELD_MAX)))
            .collect();
        blocks.push(SlackBlock::Section(SlackSectionBlock::new().with_fields(fields)));
    }
    if !reply.actions.is_empty() {
        let buttons = reply
            .actions
            .iter()
            .take(BUTTONS_MAX)
            .enumerate()
            .map(|(i, b)| {
                let button = SlackBlockButtonElement::new(clip(&b.label, BUTTON_LABEL_MAX).into())
                    .with_action_id(SlackActionId::new(format!("tillpilot_{i}")))
                    .with_value(b.action.clone());
                let button = match b.style {
                    ButtonStyle::Primary => button.with_style(SlackBlockButtonStyle::Primary),
                    ButtonStyle::Danger => button.with_style(SlackBlockButtonStyle::Danger),
                    ButtonStyle::Default => button,
                };
                SlackActionBlockElement::Button(button)
            })
            .collect();
        blocks.push(SlackBlock::Actions(SlackActionsBlock::new(buttons)));
    }
    SlackMessageContent::new().with_text(text).with_blocks(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Button;
    use serde_json::Value;

    fn json(reply: &Reply) -> Value {
        serde_json::to_value(render(reply)).expect("Block Kit serialises")
    }

    #[test]
    fn renders_sections_fields_and_buttons() {
        let mut reply = Reply::text("Oat Milk 1L: 0 at Main St").field("Riverside", "12");
        reply.actions.push(Button {
            label: "Approve".into(),
            style: ButtonStyle::Primary,
            action: "ap.X.a.sig".into(),
        });
        let value = json(&reply);
        assert_eq!(value["blocks"][0]["type"], "section");
        assert_eq!(value["blocks"][0]["text"]["type"], "mrkdwn");
        assert_eq!(value["blocks"][0]["text"]["text"], "Oat Milk 1L: 0 at Main St");
        assert_eq!(value["blocks"][1]["fields"][0]["text"], "*Riverside*\n12");
        assert_eq!(value["blocks"][2]["type"], "actions");
        assert_eq!(value["blocks"][2]["elements"][0]["type"], "button");
        assert_eq!(value["blocks"][2]["elements"][0]["text"]["type"], "plain_text");
        assert_eq!(value["blocks"][2]["elements"][0]["style"], "primary");
        assert_eq!(value["blocks"][2]["elements"][0]["value"], "ap.X.a.sig");
    }

    #[test]
    fn text_cannot_mention_or_link() {
        let value = json(&Reply::text("hi <!channel> <@U123> <https://evil.example|click> & more"));
        let text = value["blocks"][0]["text"]["text"].as_str().unwrap_or_default();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("&lt;!channel&gt;") && text.contains("&amp; more"));
    }

    #[test]
    fn the_published_block_kit_example_reads_as_our_model() {
        let published = include_str!("../../../tests/fixtures/slack/block_kit_section_and_actions_buttons.json");
        let blocks: Value = serde_json::from_str(published).expect("fixture");
        let blocks = blocks.get("blocks").cloned().unwrap_or(blocks);
        let parsed: Vec<SlackBlock> = serde_json::from_value(blocks).expect("slack-morphism reads Slack's example");
        assert!(parsed.iter().any(|b| matches!(b, SlackBlock::Actions(_))));
    }
}
