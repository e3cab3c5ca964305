//! Replies as Discord messages with serenity's builders: content, an embed for the fields, and
//! action rows of buttons. Text from people, the POS or an LLM has its markdown escaped, and
//! every message carries an empty `allowed_mentions`, so nobody is pinged and no `@everyone`
//! goes out.

use crate::channels::{ButtonStyle, Reply};
use serenity::builder::{
    CreateActionRow, CreateAllowedMentions, CreateAttachment, CreateButton, CreateEmbed,
    CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse, EditMessage,
};
use serenity::model::application::ButtonStyle as DiscordButtonStyle;

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
const FIELDS_MAX: usize = 25;
const BUTTONS_MAX: usize = 25;
const BUTTONS_PER_ROW: usize = 5;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { text.chars().take(max - 1).chain(['…']).collect() }
}

/// One reply, ready to become whichever builder the call needs.
#[derive(Clone, Debug)]
pub struct Rendered {
    content: String,
    embeds: Vec<CreateEmbed>,
    rows: Vec<CreateActionRow>,
}

pub fn render(reply: &Reply) -> Rendered {
    let mut embeds = Vec::new();
    if !reply.fields.is_empty() {
        let fields = reply
            .fields
            .iter()
            .take(FIELDS_MAX)
            .map(|f| (clip(&escape(&f.label), 256), clip(&escape(&f.value), 1_024), true));
        embeds.push(CreateEmbed::new().fields(fields));
    }
    let buttons: Vec<CreateButton> = reply
        .actions
        .iter()
        .filter(|b| b.action.len() <= CUSTOM_ID_MAX)
        .take(BUTTONS_MAX)
        .map(|b| {
            let style = match b.style {
                ButtonStyle::Primary => DiscordButtonStyle::Success,
                ButtonStyle::Danger => DiscordButtonStyle::Danger,
                ButtonStyle::Default => DiscordButtonStyle::Secondary,
            };
            CreateButton::new(b.action.clone()).label(clip(&b.label, LABEL_MAX)).style(style)
        })
        .collect();
    let rows = buttons.chunks(BUTTONS_PER_ROW).map(|row| CreateActionRow::Buttons(row.to_vec())).collect();
    Rendered { content: clip(&escape(&reply.text), CONTENT_MAX), embeds, rows }
}

impl Rendered {
    /// `POST /channels/{id}/messages`.
    pub fn create(&self) -> CreateMessage {
        CreateMessage::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.rows.clone())
            .allowed_mentions(CreateAllowedMentions::new())
    }

    /// A new message with a PNG attached, shown in its first embed.
    pub fn create_with_png(&self, png: Vec<u8>, filename: &str) -> CreateMessage {
        let image = format!("attachment://{filename}");
        let mut embeds = self.embeds.clone();
        match embeds.first_mut() {
            Some(first) => *first = first.clone().image(image),
            None => embeds.push(CreateEmbed::new().image(image)),
        }
        CreateMessage::new()
            .content(self.content.clone())
            .embeds(embeds)
            .components(self.rows.clone())
            .allowed_mentions(CreateAllowedMentions::new())
            .add_file(CreateAttachment::bytes(png, filename))
    }

    /// `PATCH /channels/{id}/messages/{id}`: buttons go when the reply has none.
    pub fn edit(&self) -> EditMessage {
        EditMessage::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.rows.clone())
            .allowed_mentions(CreateAllowedMentions::new())
    }

    /// Completes a deferred command answer (`PATCH …/messages/@original`).
    pub fn edit_response(&self) -> EditInteractionResponse {
        EditInteractionResponse::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.rows.clone())
            .allowed_mentions(CreateAllowedMentions::new())
    }

    /// A follow-up only the person who pressed sees.
    pub fn followup(&self) -> CreateInteractionResponseFollowup {
        CreateInteractionResponseFollowup::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.rows.clone())
            .allowed_mentions(CreateAllowedMentions::new())
            .ephemeral(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn json(reply: &Reply) -> Value {
        serde_json::to_value(render(reply).create()).unwrap()
    }

    #[test]
    fn mentions_and_markdown_are_neutralised() {
        let value = json(&Reply::text("@everyone **free** [link](http://x)"));
        assert_eq!(value["content"], "\\@everyone \\*\\*free\\*\\* \\[link\\]\\(http://x\\)");
        assert_eq!(value["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn buttons_go_five_to_a_row() {
        let mut reply = Reply::text("Which?");
        for i in 0..7 {
            reply = reply.choice(format!("Item {i}"), format!("stock id:{i}"));
        }
        let value = json(&reply);
        assert_eq!(value["components"].as_array().unwrap().len(), 2);
        assert_eq!(value["components"][0]["type"], 1);
        assert_eq!(value["components"][0]["components"].as_array().unwrap().len(), 5);
        assert_eq!(value["components"][0]["components"][0]["type"], 2);
        assert_eq!(value["components"][0]["components"][0]["custom_id"], "stock id:0");
        assert_eq!(value["components"][0]["components"][0]["style"], 2);
    }

    #[test]
    fn fields_become_an_embed_and_a_chart_its_image() {
        let reply = Reply::text("Sales").field("Main St", "$1,204.50");
        let value = serde_json::to_value(render(&reply).create_with_png(vec![0x89, b'P'], "chart.png")).unwrap();
        assert_eq!(value["embeds"][0]["fields"][0]["name"], "Main St");
        assert_eq!(value["embeds"][0]["image"]["url"], "attachment://chart.png");
        assert_eq!(value["attachments"][0]["filename"], "chart.png");
    }

    #[test]
    fn a_follow_up_is_seen_only_by_the_presser() {
        let value = serde_json::to_value(render(&Reply::text("Approved")).followup()).unwrap();
        assert_eq!(value["flags"], 64);
    }
}
