//! Replies as SMS: plain text, kept under one 160-character segment where the answer allows,
//! with reply keywords in place of buttons (`Reply 1 for …`, `YES K7Q2MX` / `NO K7Q2MX` for an
//! approval). Control characters are stripped; nothing else in SMS can inject anything.

use crate::channels::Reply;

/// One GSM-7 segment.
pub const SEGMENT: usize = 160;

/// The text of an SMS for `reply`. `choices` are the keywords a person can answer with.
pub fn render(reply: &Reply) -> String {
    let mut out = clean(&reply.text);
    for field in &reply.fields {
        out.push_str(&format!("\n{}: {}", clean(&field.label), clean(&field.value)));
    }
    let approval = reply.actions.iter().find_map(|b| crate::approval_token::code_of(&b.action));
    if let Some(code) = approval {
        out.push_str(&format!("\nReply YES {code} to approve, NO {code} to reject."));
    } else if !reply.actions.is_empty() {
        let choices: Vec<String> =
            reply.actions.iter().enumerate().map(|(i, b)| format!("{} {}", i + 1, clean(&b.label))).collect();
        out.push_str(&format!("\nReply {}", choices.join(", ")));
    }
    if out.chars().count() > SEGMENT {
        // Fields are the first thing to go: the sentence already says what matters.
        let short = clean(&reply.text);
        if short.chars().count() <= SEGMENT && approval.is_none() && reply.actions.is_empty() {
            return short;
        }
    }
    out
}

fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() || *c == '\n').collect::<String>().trim().to_owned()
}

/// What an SMS keyword asks for, handled before anything else reads the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
    Help,
}

/// The carrier keywords (case-insensitive, the whole message).
pub fn keyword(body: &str) -> Option<Keyword> {
    match body.trim().to_ascii_uppercase().as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "REVOKE" => Some(Keyword::Stop),
        "START" | "UNSTOP" => Some(Keyword::Start),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

/// TwiML for an immediate answer; `None` sends nothing.
pub fn twiml(message: Option<&str>) -> String {
    match message {
        Some(text) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            xml_escape(text)
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_owned(),
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_answers_fit_one_segment_and_choices_become_keywords() {
        let reply = Reply::text("Oat Milk 1L: 12 at Main St.").field("Riverside", "4");
        assert_eq!(render(&reply), "Oat Milk 1L: 12 at Main St.\nRiverside: 4");
        let reply = Reply::text("Which one?").choice("Oat Milk 1L", "stock id:A").choice("Whole Milk", "stock id:B");
        assert_eq!(render(&reply), "Which one?\nReply 1 Oat Milk 1L, 2 Whole Milk");
    }

    #[test]
    fn keywords_are_whole_messages_in_any_case() {
        assert_eq!(keyword(" stop "), Some(Keyword::Stop));
        assert_eq!(keyword("Unsubscribe"), Some(Keyword::Stop));
        assert_eq!(keyword("unstop"), Some(Keyword::Start));
        assert_eq!(keyword("help"), Some(Keyword::Help));
        assert_eq!(keyword("stop sending me stuff about milk"), None);
    }

    #[test]
    fn twiml_escapes_text() {
        assert_eq!(
            twiml(Some("a < b & c")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>a &lt; b &amp; c</Message></Response>"
        );
    }
}
