//! The AWS API server tests use (moto on loopback: S3 and Secrets Manager), started by `make test`.

/// The variable `infra/with-test-services.sh` sets to moto's URL.
pub const TEST_AWS_ENDPOINT: &str = "TEST_AWS_ENDPOINT";

/// moto's URL. Panics with instructions when it is not running: a missing service is a failure, never a skip.
pub fn aws_endpoint() -> String {
    match std::env::var(TEST_AWS_ENDPOINT) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{TEST_AWS_ENDPOINT} is not set. Run the tests with `make test`, which starts moto_server (installed from \
             PyPI into .tools/), or start one yourself (`$(infra/tools.sh moto) -H 127.0.0.1 -p 5000`) and set \
             {TEST_AWS_ENDPOINT}=http://127.0.0.1:5000"
        ),
    }
}
