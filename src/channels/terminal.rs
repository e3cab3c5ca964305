//! The terminal channel: plain text, fields as indented lines, choices numbered so a person can
//! answer with the number.

use super::Reply;

/// Renders a reply for a terminal.
pub fn render(reply: &Reply) -> String {
    let mut out = reply.text.clone();
    for field in &reply.fields {
        out.push_str(&format!("\n  {}: {}", field.label, field.value));
    }
    if let Some(image) = &reply.image {
        out.push_str(&format!("\n  [chart: {}]", image.alt));
    }
    for (i, button) in reply.actions.iter().enumerate() {
        out.push_str(&format!("\n  {}) {}", i + 1, button.label));
    }
    out
}

/// What a person typed in answer to `last`: the action of the numbered choice they picked,
/// or their text as it is.
pub fn resolve_choice(input: &str, last: Option<&Reply>) -> String {
    let trimmed = input.trim();
    if let (Ok(n), Some(reply)) = (trimmed.parse::<usize>(), last)
        && n >= 1
        && let Some(button) = reply.actions.get(n - 1)
    {
        return button.action.clone();
    }
    trimmed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_choices_and_resolves_them() {
        let reply = Reply::text("Which one?").choice("Oat Milk 1L", "stock id:A").choice("Whole Milk 1L", "stock id:B");
        assert_eq!(render(&reply), "Which one?\n  1) Oat Milk 1L\n  2) Whole Milk 1L");
        assert_eq!(resolve_choice("2", Some(&reply)), "stock id:B");
        assert_eq!(resolve_choice("3", Some(&reply)), "3");
        assert_eq!(resolve_choice(" hello ", None), "hello");
    }
}
