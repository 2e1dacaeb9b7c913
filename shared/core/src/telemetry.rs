//! Logging set-up: JSON lines on Lambda (CloudWatch), human-readable locally. `RUST_LOG` filters; default info.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls do nothing.
pub fn init(format: LogFormat) {
    init_with_default(format, "info");
}

/// Like [`init`], with `default` as the filter when `RUST_LOG` is not set (e.g. a quieter one for the sandbox).
pub fn init_with_default(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().with_current_span(false).without_time().try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    // Already installed (tests, or a second call): keep the first.
    let _ = result;
}
