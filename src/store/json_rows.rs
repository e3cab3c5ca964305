//! Many rows in one statement. On PostgreSQL, with one bound value: the rows go to the database as a JSON array
//! of objects keyed by column, bound as text, and the statement reads them back with the
//! database's own JSON table function (`json_each` on SQLite, `jsonb_array_elements` on
//! PostgreSQL). A batch of any size is one statement of one shape, prepared once per connection
//! and cached; binding one value costs the same for 10 rows as for 500, where a multi-row
//! `VALUES` list needs a statement for every batch size and, over TCP, splits into pieces the
//! socket holds back (see `POSTGRES_STATEMENT_BYTES`). On SQLite, with `nameless_values`: a
//! `VALUES` list of `?` (a `$n` list binds every value by name, and sqlx looks each one up while
//! SQLite walks its list of names to find it, so binding grows with the square of the values).

use super::Backend;
use serde::Serialize;

/// The SQL type a column is read back as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
}

/// `SELECT <columns>, <same> FROM <the rows of the JSON array in $param>`, for
/// `INSERT INTO t (...) <this>`; `same` are expressions every row shares (a bound `$2`).
/// Ends in `WHERE true` so SQLite can tell an `ON CONFLICT` that follows from a join.
pub fn select(backend: Backend, param: usize, columns: &[(&str, Kind)], same: &[&str]) -> String {
    let mut fields: Vec<String> = columns
        .iter()
        .map(|(name, kind)| match (backend, kind) {
            (Backend::Sqlite, _) => format!("value ->> '{name}'"),
            (Backend::Postgres, Kind::Text) => format!("row ->> '{name}'"),
            (Backend::Postgres, Kind::Int) => format!("(row ->> '{name}')::bigint"),
        })
        .collect();
    fields.extend(same.iter().map(|s| (*s).to_owned()));
    match backend {
        Backend::Sqlite => format!("SELECT {} FROM json_each(${param}) WHERE true", fields.join(", ")),
        Backend::Postgres => {
            format!("SELECT {} FROM jsonb_array_elements(${param}::jsonb) AS rows(row) WHERE true", fields.join(", "))
        }
    }
}

/// `VALUES (?, ?), (?, ?)` for `rows` rows of `columns` nameless values: SQLite's fastest way
/// to take a batch (it binds nameless values in linear time, and parses them at no cost, where
/// reading the same rows out of JSON costs it about three times as long). Nameless only: sqlx
/// counts nameless values apart from `$n` ones, so the two cannot share a statement.
pub fn nameless_values(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    let mut values = String::with_capacity(8 + rows * (row.len() + 2));
    for i in 0..rows {
        values.push_str(if i == 0 { "VALUES " } else { ", " });
        values.push_str(&row);
    }
    values
}

/// The rows as the JSON text `select` reads.
pub fn encode<T: Serialize>(rows: &[T]) -> Result<String, super::StoreError> {
    serde_json::to_string(rows).map_err(|err| super::StoreError::Corrupt(format!("rows not encodable as JSON: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_reads_integers_back_as_integers_and_sqlite_keeps_json_types() {
        let columns = [("id", Kind::Text), ("at_ms", Kind::Int)];
        assert_eq!(
            select(Backend::Postgres, 2, &columns, &["$1"]),
            "SELECT row ->> 'id', (row ->> 'at_ms')::bigint, $1 FROM jsonb_array_elements($2::jsonb) AS rows(row) WHERE true"
        );
        assert_eq!(
            select(Backend::Sqlite, 1, &columns, &[]),
            "SELECT value ->> 'id', value ->> 'at_ms' FROM json_each($1) WHERE true"
        );
        assert_eq!(nameless_values(2, 3), "VALUES (?, ?, ?), (?, ?, ?)");
    }
}
