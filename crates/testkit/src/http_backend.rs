//! A loopback HTTP/1.1 server running the real `git http-backend` (CGI) over a
//! directory of bare repositories, std only.
//!
//! Reads (upload-pack) are open ([`GitHttpServer::start`]) or, for a private server
//! ([`GitHttpServer::start_private`]), need the token too; writes (receive-pack) always
//! need HTTP Basic authentication whose password is the server's token, else `401`
//! with a `Basic` challenge. A server with users ([`GitHttpServer::start_with_users`])
//! grants each user read or write per repository, as a Git host does: no or wrong
//! credentials get `401`, a repository the user may not read `404` (GitHub hides what
//! one cannot see), a push to one the user may only read `403`. One
//! request per connection (`Connection: close`), responses chunked, a thread per
//! connection, at most [`MAX_CONNECTIONS`] at once. The server stops when dropped.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections served at once; more are answered `503`.
pub const MAX_CONNECTIONS: usize = 16;
const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// One request the server answered (for assertions; never holds credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query, e.g. `/repo.git/info/refs?service=git-receive-pack`.
    pub target: String,
    /// Whether the request carried the right token.
    pub authorized: bool,
    /// Whether the request body came chunked (git does so for large pushes).
    pub chunked: bool,
    /// The status sent.
    pub status: u16,
}

/// What a user of [`GitHttpServer::start_with_users`] may do on one repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// Fetch and clone.
    Read,
    /// Fetch, clone and push.
    Write,
}

/// A user of [`GitHttpServer::start_with_users`]: Basic-auth name and password, and
/// grants by repository (the directory name below the root, e.g. `config.git`).
#[derive(Clone, Debug)]
pub struct User {
    /// The Basic-auth user name.
    pub name: String,
    /// The Basic-auth password (a token).
    pub password: String,
    /// Repository name → what the user may do there; absent: nothing.
    pub repos: Vec<(String, Grant)>,
}

impl User {
    /// A user with `password` and no grants yet.
    pub fn new(name: &str, password: &str) -> User {
        User {
            name: name.to_owned(),
            password: password.to_owned(),
            repos: Vec::new(),
        }
    }

    /// Grants `grant` on `repo`.
    pub fn grant(mut self, repo: &str, grant: Grant) -> User {
        self.repos.push((repo.to_owned(), grant));
        self
    }
}

/// Who may do what.
enum Access {
    /// Any user name with this password writes everything; reads are open unless
    /// `private`.
    Token { token: String, private: bool },
    /// Per-user grants; nothing is open.
    Users(Vec<User>),
}

struct Shared {
    root: PathBuf,
    access: Mutex<Access>,
    backend: PathBuf,
    stop: AtomicBool,
    active: AtomicUsize,
    served: Mutex<Vec<Served>>,
}

/// A running server; see the module documentation.
pub struct GitHttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl GitHttpServer {
    /// Serves the bare repositories below `root` on `127.0.0.1` at a free port; writes
    /// need `token` as the Basic-auth password.
    pub fn start(root: &Path, token: &str) -> GitHttpServer {
        Self::start_with(
            root,
            Access::Token {
                token: token.to_owned(),
                private: false,
            },
        )
    }

    /// Like [`GitHttpServer::start`], but reads need the token as well.
    pub fn start_private(root: &Path, token: &str) -> GitHttpServer {
        Self::start_with(
            root,
            Access::Token {
                token: token.to_owned(),
                private: true,
            },
        )
    }

    /// Serves the bare repositories below `root` to `users` only, each with its own
    /// grants (see the module documentation).
    pub fn start_with_users(root: &Path, users: Vec<User>) -> GitHttpServer {
        Self::start_with(root, Access::Users(users))
    }

    fn start_with(root: &Path, access: Access) -> GitHttpServer {
        let exec_path = Command::new("git")
            .arg("--exec-path")
            .output()
            .unwrap_or_else(|e| {
                panic!("git is required for these tests (apt-get install git): {e}")
            });
        let backend = PathBuf::from(String::from_utf8_lossy(&exec_path.stdout).trim())
            .join("git-http-backend");
        assert!(
            backend.is_file(),
            "{} is missing: install git's http-backend (apt-get install git)",
            backend.display()
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            root: root.to_owned(),
            access: Mutex::new(access),
            backend,
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            served: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("git-http-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn the accept thread");
        GitHttpServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// The URL of the repository `name` (a directory below the root, e.g. `repo.git`).
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// Replaces the users of a server started with
    /// [`GitHttpServer::start_with_users`] (a permission granted or revoked on the
    /// host); takes effect from the next request.
    pub fn set_users(&self, users: Vec<User>) {
        *self.shared.access.lock().unwrap_or_else(|e| e.into_inner()) = Access::Users(users);
    }

    /// Every request answered so far, in order.
    pub fn served(&self) -> Vec<Served> {
        self.shared
            .served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        // Connections in flight end within their I/O timeouts; wait for them, bounded.
        let deadline = Instant::now() + IO_TIMEOUT;
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = stream else { continue };
        if shared.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            let _ = simple_response(&mut stream, 503, "Service Unavailable", &[], "busy\n");
            continue;
        }
        let conn_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("git-http-conn".into())
            .spawn(move || {
                let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                if let Err(e) = serve(&mut stream, &conn_shared) {
                    eprintln!("git-http test server: {e}");
                }
                let _ = stream.shutdown(Shutdown::Both);
                conn_shared.active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn read_request(reader: &mut impl BufRead) -> io::Result<Request> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line)?;
        total += n;
        if n == 0 || total > MAX_HEADER_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "truncated or oversized request head",
            ));
        }
        let line = String::from_utf8(line)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "non-UTF-8 header"))?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let request_line = lines.first().ok_or_else(|| bad("no request line"))?;
    let mut parts = request_line.split(' ');
    let method = parts.next().ok_or_else(|| bad("no method"))?.to_owned();
    let target = parts.next().ok_or_else(|| bad("no target"))?.to_owned();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target.clone(), String::new()),
    };
    let headers = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Request {
        method,
        target,
        path,
        query,
        headers,
    })
}

fn serve(stream: &mut TcpStream, shared: &Shared) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let request = read_request(&mut reader)?;
    let writes = request.path.ends_with("/git-receive-pack")
        || request
            .query
            .split('&')
            .any(|kv| kv == "service=git-receive-pack");
    let credentials = request
        .header("Authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| base64_decode(b64.trim()))
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| {
            let (user, password) = pair.split_once(':')?;
            Some((user.to_owned(), password.to_owned()))
        });
    let repo = request
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    // The authenticated user, and what they may do on this repository.
    let (user, needs_auth, grant) = match &*shared.access.lock().unwrap_or_else(|e| e.into_inner())
    {
        Access::Token { token, private } => {
            let user = credentials.filter(|(_, p)| p == token).map(|(u, _)| u);
            (user, *private || writes, Some(Grant::Write))
        }
        Access::Users(users) => {
            let found = credentials.and_then(|(name, password)| {
                users
                    .iter()
                    .find(|u| u.name == name && u.password == password)
            });
            let grant = found.and_then(|u| {
                u.repos
                    .iter()
                    .filter(|(r, _)| r == repo)
                    .map(|(_, g)| *g)
                    .max()
            });
            (found.map(|u| u.name.clone()), true, grant)
        }
    };
    let authorized = user.is_some();
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let record = |status: u16| {
        shared
            .served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Served {
                method: request.method.clone(),
                target: request.target.clone(),
                authorized,
                chunked,
                status,
            });
    };

    if !matches!(request.method.as_str(), "GET" | "POST")
        || request.path.split('/').any(|c| c == "..")
    {
        record(400);
        return simple_response(stream, 400, "Bad Request", &[], "bad request\n");
    }
    if needs_auth && !authorized {
        record(401);
        // Drain a small body so closing does not reset the connection under the client.
        if let Some(len) = request
            .header("Content-Length")
            .and_then(|v| v.parse::<u64>().ok())
            && request.header("Expect").is_none()
        {
            let _ = io::copy(&mut (&mut reader).take(len.min(1 << 20)), &mut io::sink());
        }
        return simple_response(
            stream,
            401,
            "Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"windlass-test\"")],
            "authentication required\n",
        );
    }
    if authorized && grant.is_none() {
        record(404);
        return simple_response(stream, 404, "Not Found", &[], "repository not found\n");
    }
    if authorized && writes && grant != Some(Grant::Write) {
        record(403);
        return simple_response(stream, 403, "Forbidden", &[], "write access not granted\n");
    }
    if request
        .header("Expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }

    let mut command = Command::new(&shared.backend);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &shared.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(user) = &user {
        // http-backend enables receive-pack only for an authenticated user.
        command.env("REMOTE_USER", user);
    }
    if let Some(v) = request.header("Content-Type") {
        command.env("CONTENT_TYPE", v);
    }
    if let Some(v) = request.header("Git-Protocol") {
        command.env("GIT_PROTOCOL", v);
    }
    if let Some(v) = request.header("Content-Encoding") {
        command.env("HTTP_CONTENT_ENCODING", v);
    }
    let content_length = request
        .header("Content-Length")
        .and_then(|v| v.parse::<u64>().ok());
    if let (Some(len), false) = (content_length, chunked) {
        command.env("CONTENT_LENGTH", len.to_string());
    }
    // Without CONTENT_LENGTH (chunked), http-backend reads its input to the end.
    let mut child = command.spawn()?;

    // Feed the body on its own thread so a backend writing early cannot deadlock us.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let body_len = if chunked {
        None
    } else {
        Some(content_length.unwrap_or(0))
    };
    let feeder = std::thread::spawn(move || -> io::Result<()> {
        match body_len {
            Some(len) => {
                if len > MAX_BODY_BYTES {
                    return Err(io::Error::other("request body too large"));
                }
                let copied = io::copy(&mut (&mut reader).take(len), &mut stdin)?;
                if copied != len {
                    return Err(io::Error::other("request body ended early"));
                }
            }
            None => copy_chunked(&mut reader, &mut stdin)?,
        }
        Ok(())
        // stdin drops here: end of input for the backend.
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = (&mut stderr).take(1 << 20).read_to_end(&mut text);
        text
    });

    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut status = (200u16, "OK".to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            let (code, reason) = value.split_once(' ').unwrap_or((value, ""));
            status = (code.parse().unwrap_or(500), reason.to_owned());
        } else {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    record(status.0);
    let mut head = format!("HTTP/1.1 {} {}\r\n", status.0, status.1);
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stdout.read(&mut buf)?;
        if n == 0 {
            break;
        }
        stream.write_all(format!("{n:x}\r\n").as_bytes())?;
        stream.write_all(&buf[..n])?;
        stream.write_all(b"\r\n")?;
    }
    stream.write_all(b"0\r\n\r\n")?;
    stream.flush()?;

    let exit = child.wait()?;
    let fed = feeder.join().unwrap_or(Ok(()));
    let errors = stderr_reader.join().unwrap_or_default();
    if !exit.success() || fed.is_err() {
        eprintln!(
            "git http-backend {} {}: {exit}, body: {fed:?}, stderr: {}",
            request.method,
            request.target,
            String::from_utf8_lossy(&errors)
        );
    }
    Ok(())
}

/// Decodes a chunked request body into `out`.
fn copy_chunked(reader: &mut impl BufRead, out: &mut impl Write) -> io::Result<()> {
    let mut total = 0u64;
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            return Err(io::Error::other("chunked body ended early"));
        }
        let size_text = size_line.trim().split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| io::Error::other(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        total += size;
        if total > MAX_BODY_BYTES {
            return Err(io::Error::other("request body too large"));
        }
        if io::copy(&mut reader.take(size), out)? != size {
            return Err(io::Error::other("chunk ended early"));
        }
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

pub(crate) fn simple_response(
    stream: &mut TcpStream,
    code: u16,
    reason: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {code} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        match chunk.len() {
            4 => out.extend_from_slice(&bytes[1..4]),
            3 => out.extend_from_slice(&bytes[1..3]),
            2 => out.push(bytes[1]),
            _ => return None,
        }
    }
    Some(out)
}
