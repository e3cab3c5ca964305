//! People who work at the shop and the chat identities that reach them, mirrored from
//! `[[people]]` at start so the audit log and later joins can refer to them.

use super::{Store, StoreError, Tx};
use crate::config::PersonConfig;

/// The advisory-lock key that serialises `save_people` ("tillpeop" in ASCII).
const PEOPLE_LOCK: i64 = 0x7469_6c6c_7065_6f70;

impl Store {
    /// Makes `people` and `identities` match the configuration exactly. Processes starting
    /// together on one PostgreSQL take turns (a transaction-scoped advisory lock), so none
    /// trips over another's rows; SQLite has one writer at a time anyway.
    pub async fn save_people(&self, tx: &mut Tx, people: &[PersonConfig]) -> Result<(), StoreError> {
        if self.backend() == super::Backend::Postgres {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS held")
                .bind(PEOPLE_LOCK)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("DELETE FROM identities").execute(&mut **tx).await?;
        sqlx::query("DELETE FROM people").execute(&mut **tx).await?;
        for person in people {
            let (id,): (i64,) =
                sqlx::query_as("INSERT INTO people (name, role, phone) VALUES ($1, $2, $3) RETURNING id")
                    .bind(&person.name)
                    .bind(person.role.as_str())
                    .bind(person.phone.as_ref().map(|p| p.to_string()))
                    .fetch_one(&mut **tx)
                    .await?;
            let identities = [
                ("slack", person.slack.clone()),
                ("telegram", person.telegram.map(|t| t.to_string())),
                ("discord", person.discord.clone()),
                ("sms", person.phone.as_ref().map(|p| p.to_string())),
            ];
            for (channel, external) in identities {
                if let Some(external) = external {
                    sqlx::query("INSERT INTO identities (channel, external_id, person_id) VALUES ($1, $2, $3)")
                        .bind(channel)
                        .bind(external)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
