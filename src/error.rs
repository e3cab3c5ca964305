//! How failures leave the process: configuration and usage problems exit 2 with a message that
//! names the bad key, everything else exits 1.

use std::process::ExitCode;

/// A failure the CLI reports, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0:#}")]
    Runtime(#[from] anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) | CliError::Config(_) => ExitCode::from(2),
            CliError::Runtime(_) => ExitCode::from(1),
        }
    }
}

impl From<crate::store::StoreError> for CliError {
    fn from(err: crate::store::StoreError) -> Self {
        CliError::Runtime(err.into())
    }
}

impl From<crate::dispatch::DispatchError> for CliError {
    fn from(err: crate::dispatch::DispatchError) -> Self {
        CliError::Runtime(err.into())
    }
}
