//! The prompt templates in `prompts/`: minijinja, each with its version in a front matter
//! (`---\nversion: 2\n---`). The version is recorded with every call, so a change in what the
//! model was told can be told apart in `llm_calls`.

use super::LlmError;
use crate::commands::PROMPT_FILES;

pub struct Prompt {
    name: &'static str,
    version: String,
    body: &'static str,
}

impl Prompt {
    /// The embedded template `name` (`assistant.j2`).
    pub fn load(name: &str) -> Result<Prompt, LlmError> {
        let (name, text) = PROMPT_FILES
            .iter()
            .find(|(file, _)| *file == name)
            .copied()
            .ok_or_else(|| LlmError::Template(format!("prompts/{name} is missing")))?;
        let (version, body) = front_matter(text).ok_or_else(|| {
            LlmError::Template(format!("prompts/{name} must start with a front matter naming its version"))
        })?;
        Ok(Prompt { name, version, body })
    }

    /// `assistant.j2@1`, as recorded in `llm_calls`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    pub fn render(&self, context: minijinja::Value) -> Result<String, LlmError> {
        let mut env = minijinja::Environment::new();
        env.add_template(self.name, self.body).map_err(|e| LlmError::Template(e.to_string()))?;
        env.get_template(self.name)
            .and_then(|t| t.render(context))
            .map(|text| text.trim().to_owned())
            .map_err(|e| LlmError::Template(e.to_string()))
    }
}

/// The version and the body after it.
fn front_matter(text: &str) -> Option<(String, &str)> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    let version = rest[..end].lines().find_map(|line| line.strip_prefix("version:"))?.trim();
    (!version.is_empty()).then(|| (version.to_owned(), &rest[end + 5..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prompt_has_a_version_and_renders() {
        assert!(!PROMPT_FILES.is_empty());
        for (file, _) in PROMPT_FILES {
            let prompt = Prompt::load(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(prompt.label().starts_with(&format!("{file}@")));
            let text = prompt
                .render(minijinja::context! { shop_name => "Corner Shop", rules => vec!["never discount alcohol"] })
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(text.contains("Corner Shop") && text.contains("- never discount alcohol"), "{file}: {text}");
            assert!(!text.contains("version:"), "{file}: the front matter stays out of the prompt");
        }
    }

    #[test]
    fn a_template_without_a_version_is_refused() {
        assert_eq!(
            front_matter("---\nversion: 3\n---\nHello").map(|(v, b)| (v, b.to_owned())),
            Some(("3".into(), "Hello".into()))
        );
        assert_eq!(front_matter("Hello"), None);
        assert_eq!(front_matter("---\nauthor: me\n---\nHello"), None);
    }
}
