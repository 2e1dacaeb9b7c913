//! An AWS Lambda Runtime API emulator: a real HTTP server on 127.0.0.1 that a function binary (a custom runtime
//! built on the `lambda_runtime` crate) polls for events and answers, as it does inside Lambda; plus
//! [`FunctionProcess`] to run such a binary against it and [`events`] with realistic event JSON.
//!
//! What `lambda_runtime` 1.x requires of the API (read from its sources): `/next` must carry
//! `Lambda-Runtime-Aws-Request-Id` and `Lambda-Runtime-Deadline-Ms` (epoch ms, an integer) or the runtime *panics*
//! (`expect("missing ...")`); the function ARN and trace id are optional. A debug build treats a 204 from `/next`
//! as "nothing yet, poll again". The environment must hold `AWS_LAMBDA_FUNCTION_NAME`,
//! `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (an i32) and `AWS_LAMBDA_FUNCTION_VERSION` or `Runtime::new` panics, and
//! `AWS_LAMBDA_RUNTIME_API` is `host:port` without a scheme. `/init/error` is only ever posted for SnapStart hook
//! failures: an error returned by `main` before `run` just ends the process.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

/// The region every emulated function runs in.
pub const REGION: &str = "eu-central-1";
/// The AWS account of the emulated functions.
pub const ACCOUNT_ID: &str = "123456789012";
/// How long each invocation may run, as its deadline header says.
pub const INVOCATION_DEADLINE: Duration = Duration::from_secs(30);
/// The function name used in ARNs until [`LambdaRuntimeEmulator::lambda_env`] names another.
pub const DEFAULT_FUNCTION_NAME: &str = "zabota-webhook";

/// Why [`LambdaRuntimeEmulator::invoke`] got no response.
#[derive(Clone, Debug, PartialEq)]
pub enum InvocationError {
    /// The function reported an error to `/invocation/{id}/error`; the body (`errorType`, `errorMessage`).
    Function(Value),
    /// Neither a response nor an error arrived in time (or the runtime never asked for the event).
    Timeout,
}

impl std::fmt::Display for InvocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvocationError::Function(error) => write!(f, "the function reported an error: {error}"),
            InvocationError::Timeout => f.write_str("the invocation timed out"),
        }
    }
}

impl std::error::Error for InvocationError {}

type Outcome = Result<Value, InvocationError>;

/// An event waiting for the runtime's next `/next`.
struct Queued {
    request_id: String,
    event: Value,
}

/// The emulator's memory, behind one mutex.
struct Inner {
    queue: VecDeque<Queued>,
    /// Invocations handed out or queued, by request id, with the channel their outcome goes to.
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
    init_error: Option<Value>,
    first_poll_at: Option<Instant>,
    function_name: String,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Signalled when an event is queued.
    queued: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the state from the others.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Aborts the server task when the last handle goes away.
struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running Lambda Runtime API. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct LambdaRuntimeEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _server: Arc<ServerTask>,
}

impl LambdaRuntimeEmulator {
    /// Binds 127.0.0.1 on a random port and serves in a tokio task.
    ///
    /// # Panics
    /// When no local port can be bound: the test cannot run without one.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("the Lambda Runtime API emulator cannot bind 127.0.0.1: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the Lambda Runtime API emulator has no local address: {e}"));
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                waiting: HashMap::new(),
                init_error: None,
                first_poll_at: None,
                function_name: DEFAULT_FUNCTION_NAME.to_owned(),
            }),
            queued: Notify::new(),
        });
        let router = router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "the Lambda Runtime API emulator stopped serving");
            }
        });
        LambdaRuntimeEmulator { shared, addr, _server: Arc::new(ServerTask(task)) }
    }

    /// "127.0.0.1:PORT": the value of `AWS_LAMBDA_RUNTIME_API` (no scheme, as Lambda sets it).
    pub fn api_address(&self) -> String {
        self.addr.to_string()
    }

    /// The environment Lambda gives a custom runtime named `function_name` (128 MB, `$LATEST`, eu-central-1),
    /// pointing at this emulator. Invocations then carry that function's ARN.
    pub fn lambda_env(&self, function_name: &str) -> Vec<(String, String)> {
        self.shared.lock().function_name = function_name.to_owned();
        let stream = format!("{}/[$LATEST]{}", chrono::Utc::now().format("%Y/%m/%d"), uuid::Uuid::new_v4().simple());
        [
            ("AWS_LAMBDA_RUNTIME_API", self.api_address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function_name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Queues `event` for the runtime's next `/next` and waits up to `timeout` for its outcome: `Ok` with the
    /// JSON posted to `/response`, or [`InvocationError::Function`] with what was posted to `/error`.
    /// A timed-out event is withdrawn, so a late runtime never sees it.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Value, InvocationError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (sender, receiver) = oneshot::channel();
        {
            let mut inner = self.shared.lock();
            inner.waiting.insert(request_id.clone(), sender);
            inner.queue.push_back(Queued { request_id: request_id.clone(), event });
        }
        self.shared.queued.notify_one();
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) | Err(_) => {
                let mut inner = self.shared.lock();
                inner.waiting.remove(&request_id);
                inner.queue.retain(|q| q.request_id != request_id);
                Err(InvocationError::Timeout)
            }
        }
    }

    /// What the runtime posted to `/runtime/init/error` (`errorType`, `errorMessage`), if it did.
    pub fn init_error(&self) -> Option<Value> {
        self.shared.lock().init_error.clone()
    }

    /// When the runtime first asked for `/next`: initialisation was over by then. Minus the process start, the
    /// cold-start init time.
    pub fn first_poll_at(&self) -> Option<Instant> {
        self.shared.lock().first_poll_at
    }

    /// Starts `binary` as Lambda would: in a clean environment holding only `PATH`, [`lambda_env`](Self::lambda_env)
    /// for `function_name`, then `env` (which wins on a clash). Its stderr goes to a log file, see
    /// [`FunctionProcess::logs`]; the process is killed when the handle is dropped.
    ///
    /// # Panics
    /// When the log file cannot be created or the binary cannot be started.
    pub fn spawn_function(
        &self,
        binary: &str,
        function_name: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> FunctionProcess {
        let log = std::env::temp_dir().join(format!("zabota-{function_name}-{}.log", uuid::Uuid::new_v4().simple()));
        let stderr = std::fs::File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let mut command = Command::new(binary);
        command
            .env_clear()
            .current_dir(std::env::temp_dir())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.lambda_env(function_name))
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let started_at = Instant::now();
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        FunctionProcess { child, log, started_at }
    }
}

/// A function binary running under the emulator. Killed (and its log removed) on drop.
pub struct FunctionProcess {
    child: Child,
    log: PathBuf,
    started_at: Instant,
}

impl FunctionProcess {
    /// When the process was started: with [`LambdaRuntimeEmulator::first_poll_at`], its cold-start init time.
    pub fn started_at(&self) -> Instant {
        self.started_at
    }

    /// The process id (to read its memory from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it wrote to stderr so far (its logs): put it in assertion messages.
    pub fn logs(&self) -> String {
        std::fs::read(&self.log).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
    }

    /// Waits up to `timeout` for the process to end, without blocking the async runtime; `None` if it still runs.
    pub async fn exit_status(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        // Reaps the killed child; SIGKILL makes this immediate.
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(|| async { api_error(StatusCode::NOT_FOUND, "NotFound", "no such Runtime API endpoint") })
        .with_state(shared)
}

/// Long-polls: answers once an event is queued, however long that takes (as Lambda does).
async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    loop {
        let notified = shared.queued.notified();
        tokio::pin!(notified);
        // Registered before looking at the queue, so an event queued in between still wakes this poll.
        notified.as_mut().enable();
        let taken = {
            let mut inner = shared.lock();
            inner.first_poll_at.get_or_insert_with(Instant::now);
            inner.queue.pop_front().map(|queued| (queued, inner.function_name.clone()))
        };
        if let Some((queued, function_name)) = taken {
            return invocation(queued, &function_name);
        }
        notified.await;
    }
}

/// The `/next` answer for one event, with the headers Lambda sends.
fn invocation(queued: Queued, function_name: &str) -> Response {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let deadline_ms = (now + INVOCATION_DEADLINE).as_millis();
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}");
    let random = uuid::Uuid::new_v4().simple().to_string();
    let trace_id = format!("Root=1-{:08x}-{};Parent={};Sampled=0", now.as_secs(), &random[..24], &random[16..]);
    let built = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header("Lambda-Runtime-Aws-Request-Id", &queued.request_id)
        .header("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string())
        .header("Lambda-Runtime-Invoked-Function-Arn", arn)
        .header("Lambda-Runtime-Trace-Id", trace_id)
        .body(axum::body::Body::from(queued.event.to_string()));
    match built {
        Ok(response) => response,
        Err(error) => api_error(StatusCode::INTERNAL_SERVER_ERROR, "EmulatorError", &error.to_string()),
    }
}

async fn invocation_response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    complete(&shared, &id, Ok(json_or_text(&body)))
}

async fn invocation_error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    complete(&shared, &id, Err(InvocationError::Function(json_or_text(&body))))
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut error = json_or_text(&body);
    if let (Some(object), Some(kind)) = (error.as_object_mut(), headers.get("lambda-runtime-function-error-type")) {
        object.insert("errorTypeHeader".to_owned(), Value::from(String::from_utf8_lossy(kind.as_bytes())));
    }
    shared.lock().init_error = Some(error);
    accepted()
}

/// Hands the outcome to the waiting `invoke`; an unknown or already answered id gets 400, as from Lambda.
fn complete(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    let Some(sender) = shared.lock().waiting.remove(id) else {
        return api_error(StatusCode::BAD_REQUEST, "InvalidRequestID", "unknown or already answered request id");
    };
    // The invoker may have timed out meanwhile; the outcome is then dropped.
    let _ = sender.send(outcome);
    accepted()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "errorType": error_type, "errorMessage": message }))).into_response()
}

fn json_or_text(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::from(String::from_utf8_lossy(body).into_owned()))
}

/// Realistic event JSON, as Lambda hands it to a function.
pub mod events {
    use serde_json::{Map, Value, json};

    use super::{ACCOUNT_ID, REGION};

    /// The Function URL's id: its host is `<id>.lambda-url.eu-central-1.on.aws`.
    pub const FUNCTION_URL_ID: &str = "x4kq7ztbvm2wn6c3hfyrd5pujsa8geli";
    /// The client address: one of Telegram's webhook senders (91.108.4.0/22).
    pub const SOURCE_IP: &str = "91.108.6.64";
    /// The EventBridge rule that schedules maintenance.
    pub const SCHEDULE_RULE_ARN: &str = "arn:aws:events:eu-central-1:123456789012:rule/zabota-maintenance";

    /// The header Telegram signs each webhook call with, as a Function URL delivers it: lower-cased.
    pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

    /// A Function URL request carrying `body` as Telegram sends it: with the test desk's webhook secret.
    pub fn signed_update_event(body: &str) -> Value {
        function_url_event(body, &[(SECRET_HEADER, crate::WEBHOOK_SECRET)])
    }

    /// A Lambda Function URL request (payload format 2.0): a POST to "/" with `body` as text, carrying the headers
    /// a Function URL adds (host, x-forwarded-*, content-type application/json...) and then `headers`, whose
    /// names are lower-cased as Function URLs do, overriding defaults of the same name.
    pub fn function_url_event(body: &str, headers: &[(&str, &str)]) -> Value {
        request(Value::from(body), false, body.len(), headers)
    }

    /// Like [`function_url_event`], with the body base64-encoded and `isBase64Encoded: true`, as a Function URL
    /// delivers a body it does not consider text.
    pub fn function_url_event_base64(body: &[u8], headers: &[(&str, &str)]) -> Value {
        request(Value::from(base64(body)), true, body.len(), headers)
    }

    fn request(body: Value, is_base64: bool, length: usize, headers: &[(&str, &str)]) -> Value {
        let now = chrono::Utc::now();
        let domain = format!("{FUNCTION_URL_ID}.lambda-url.{REGION}.on.aws");
        let random = uuid::Uuid::new_v4().simple().to_string();
        let mut all = Map::new();
        for (name, value) in [
            ("content-length", length.to_string()),
            ("x-amzn-tls-version", "TLSv1.3".to_owned()),
            ("x-forwarded-proto", "https".to_owned()),
            ("x-forwarded-port", "443".to_owned()),
            ("x-forwarded-for", SOURCE_IP.to_owned()),
            ("accept-encoding", "gzip, deflate".to_owned()),
            ("x-amzn-tls-cipher-suite", "TLS_AES_128_GCM_SHA256".to_owned()),
            ("x-amzn-trace-id", format!("Root=1-{:08x}-{}", now.timestamp(), &random[..24])),
            ("host", domain.clone()),
            ("content-type", "application/json".to_owned()),
        ] {
            all.insert(name.to_owned(), Value::from(value));
        }
        for (name, value) in headers {
            all.insert(name.to_ascii_lowercase(), Value::from(*value));
        }
        let user_agent = all.get("user-agent").cloned().unwrap_or_else(|| Value::from(""));
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "rawQueryString": "",
            "headers": all,
            "requestContext": {
                "accountId": "anonymous",
                "apiId": FUNCTION_URL_ID,
                "domainName": domain,
                "domainPrefix": FUNCTION_URL_ID,
                "http": {
                    "method": "POST",
                    "path": "/",
                    "protocol": "HTTP/1.1",
                    "sourceIp": SOURCE_IP,
                    "userAgent": user_agent,
                },
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": "$default",
                "stage": "$default",
                "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
                "timeEpoch": now.timestamp_millis(),
            },
            "body": body,
            "isBase64Encoded": is_base64,
        })
    }

    /// The EventBridge "Scheduled Event" a schedule rule sends (the maintenance Lambda's trigger).
    pub fn scheduled_event() -> Value {
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": REGION,
            "resources": [SCHEDULE_RULE_ARN],
            "detail": {},
        })
    }

    /// Standard base64 (RFC 4648, with padding), as Lambda encodes binary bodies.
    pub fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn base64_matches_the_rfc_4648_test_vectors() {
            let vectors =
                [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
            for (plain, encoded) in vectors {
                assert_eq!(base64(plain.as_bytes()), encoded);
            }
            assert_eq!(base64("foobar".as_bytes()), "Zm9vYmFy");
            assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
        }

        #[test]
        fn header_names_are_lower_cased_and_override_the_defaults() {
            let event = function_url_event("{}", &[("X-Telegram-Bot-Api-Secret-Token", "s"), ("Content-Type", "x")]);
            assert_eq!(event["headers"]["x-telegram-bot-api-secret-token"], "s");
            assert_eq!(event["headers"]["content-type"], "x");
            assert_eq!(event["headers"]["content-length"], "2");
            assert_eq!(event["isBase64Encoded"], false);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

    use super::*;

    fn url(emulator: &LambdaRuntimeEmulator, path: &str) -> String {
        format!("http://{}/2018-06-01/runtime/{path}", emulator.api_address())
    }

    #[tokio::test]
    async fn an_invocation_goes_out_on_next_and_comes_back_from_response() {
        let emulator = LambdaRuntimeEmulator::start().await;
        let invoker = emulator.clone();
        let invocation =
            tokio::spawn(async move { invoker.invoke(json!({ "ping": 1 }), Duration::from_secs(5)).await });
        let client = reqwest::Client::new();
        let next = client.get(url(&emulator, "invocation/next")).send().await.unwrap();
        assert_eq!(next.status(), 200);
        assert!(emulator.first_poll_at().is_some());
        let headers = next.headers().clone();
        let id = headers["lambda-runtime-aws-request-id"].to_str().unwrap().to_owned();
        let deadline: u128 = headers["lambda-runtime-deadline-ms"].to_str().unwrap().parse().unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
        assert!(deadline > now + 29_000 && deadline <= now + 30_000, "{deadline} vs {now}");
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:eu-central-1:123456789012:function:zabota-webhook"
        );
        assert!(headers["lambda-runtime-trace-id"].to_str().unwrap().starts_with("Root=1-"));
        assert_eq!(next.json::<Value>().await.unwrap(), json!({ "ping": 1 }));
        let posted = client.post(url(&emulator, &format!("invocation/{id}/response"))).body(r#"{"pong":1}"#);
        assert_eq!(posted.send().await.unwrap().status(), 202);
        assert_eq!(invocation.await.unwrap(), Ok(json!({ "pong": 1 })));
        let again = client.post(url(&emulator, &format!("invocation/{id}/response"))).body("{}").send().await.unwrap();
        assert_eq!(again.status(), 400, "an id is answered once");
    }

    #[tokio::test]
    async fn a_reported_error_fails_the_invocation_with_its_body() {
        let emulator = LambdaRuntimeEmulator::start().await;
        emulator.lambda_env("zabota-maintenance");
        let invoker = emulator.clone();
        let invocation = tokio::spawn(async move { invoker.invoke(json!({}), Duration::from_secs(5)).await });
        let client = reqwest::Client::new();
        let next = client.get(url(&emulator, "invocation/next")).send().await.unwrap();
        assert!(
            next.headers()["lambda-runtime-invoked-function-arn"].to_str().unwrap().ends_with(":zabota-maintenance")
        );
        let id = next.headers()["lambda-runtime-aws-request-id"].to_str().unwrap().to_owned();
        let error = json!({ "errorType": "&str", "errorMessage": "boom" });
        let posted = client.post(url(&emulator, &format!("invocation/{id}/error"))).json(&error).send().await.unwrap();
        assert_eq!(posted.status(), 202);
        assert_eq!(invocation.await.unwrap(), Err(InvocationError::Function(error)));
    }

    #[tokio::test]
    async fn a_timed_out_event_is_withdrawn_and_next_keeps_waiting() {
        let emulator = LambdaRuntimeEmulator::start().await;
        assert_eq!(emulator.invoke(json!({}), Duration::from_millis(50)).await, Err(InvocationError::Timeout));
        let next = reqwest::Client::new().get(url(&emulator, "invocation/next")).send();
        assert!(tokio::time::timeout(Duration::from_millis(300), next).await.is_err(), "/next answered nothing");
    }

    #[tokio::test]
    async fn an_init_error_is_recorded() {
        let emulator = LambdaRuntimeEmulator::start().await;
        assert_eq!(emulator.init_error(), None);
        let error = json!({ "errorType": "Config", "errorMessage": "BOT_TOKEN is not set" });
        let posted = reqwest::Client::new()
            .post(url(&emulator, "init/error"))
            .header("lambda-runtime-function-error-type", "Runtime.InitError")
            .json(&error)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        let recorded = emulator.init_error().unwrap();
        assert_eq!(recorded["errorMessage"], "BOT_TOKEN is not set");
        assert_eq!(recorded["errorTypeHeader"], "Runtime.InitError");
    }
}
