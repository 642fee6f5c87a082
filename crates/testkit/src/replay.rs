//! A loopback HTTP/1.1 server answering recorded responses: the stand-in for a SaaS
//! API that cannot be reached from the tests (GitHub's, GitLab's), replaying bodies in
//! the provider's documented format. Std only, one request per connection.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::http_backend::read_request;

/// One recorded answer: for `method` and `target` (path and query, exactly as sent),
/// `status` with `body` as `content_type`.
#[derive(Clone, Debug)]
pub struct Route {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, e.g. `/repos/o/r`.
    pub target: String,
    /// The status to answer.
    pub status: u16,
    /// The `Content-Type` to answer.
    pub content_type: String,
    /// The body to answer.
    pub body: Vec<u8>,
}

impl Route {
    /// `GET target` answered `200` with a JSON `body`.
    pub fn json(target: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            method: "GET".into(),
            target: target.into(),
            status: 200,
            content_type: "application/json; charset=utf-8".into(),
            body: body.into(),
        }
    }

    /// `GET target` answered with `status` and a JSON error body.
    pub fn status(target: &str, status: u16) -> Route {
        Route {
            status,
            ..Route::json(target, format!("{{\"message\":\"status {status}\"}}"))
        }
    }
}

/// A request the server received: method, target and headers (names lower case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    routes: Vec<Route>,
    received: Mutex<Vec<Received>>,
    stop: AtomicBool,
}

/// A running replay server; stops when dropped. A request no route names gets `404`.
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl ReplayServer {
    /// Serves `routes` on `127.0.0.1` at a free port.
    pub fn start(routes: Vec<Route>) -> ReplayServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            routes,
            received: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("replay-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accept_shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(mut stream) = stream {
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                        let _ = answer(&mut stream, &accept_shared);
                        let _ = stream.shutdown(Shutdown::Both);
                    }
                }
            })
            .expect("spawn the accept thread");
        ReplayServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn answer(stream: &mut TcpStream, shared: &Shared) -> std::io::Result<()> {
    let request = read_request(&mut BufReader::new(stream.try_clone()?))?;
    shared
        .received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Received {
            method: request.method.clone(),
            target: request.target.clone(),
            headers: request
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        });
    let route = shared
        .routes
        .iter()
        .find(|r| r.method == request.method && r.target == request.target);
    let (status, content_type, body) = match route {
        Some(r) => (r.status, r.content_type.as_str(), r.body.as_slice()),
        None => (404, "application/json", &b"{\"message\":\"Not Found\"}"[..]),
    };
    let head = format!(
        "HTTP/1.1 {status} Replayed\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}
