//! A loopback HTTP/1.1 proxy in front of a plain-HTTP embedded cluster that answers the
//! list (and watch) of chosen resources with an error, the way an API server does for a
//! type the client may not read (403) or cannot serve (500). Everything else passes
//! through unchanged; every request gets a connection of its own (`Connection: close`
//! both ways) so each one is seen.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A collection path (`/api/v1/configmaps`) and the status code its lists get.
pub type Rule = (&'static str, u16);

/// The running proxy; stops with the test's runtime.
pub struct FailingProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    failing: Arc<AtomicBool>,
}

impl FailingProxy {
    /// Starts a proxy to `upstream` failing the lists in `rules`.
    pub async fn start(upstream: SocketAddr, rules: Vec<Rule>) -> FailingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let failing = Arc::new(AtomicBool::new(true));
        let rules = Arc::new(rules);
        let on = failing.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rules = rules.clone();
                let on = on.clone();
                tokio::spawn(async move {
                    let _ = serve(client, upstream, &rules, on.load(Ordering::SeqCst)).await;
                });
            }
        });
        FailingProxy { url, failing }
    }

    /// From now on every request passes.
    pub fn stop_failing(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }
}

/// Reads an HTTP head (up to the empty line); returns it and what came after it.
async fn read_head(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            buf.truncate(end);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// The head with `Connection: close` instead of whatever it said.
fn closing(head: &str) -> String {
    let lines: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    format!("{}\r\nConnection: close\r\n\r\n", lines.join("\r\n"))
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    rules: &[Rule],
    failing: bool,
) -> std::io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
    );
    let path = target.split('?').next().unwrap_or_default();
    if let Some((_, code)) = rules
        .iter()
        .find(|(p, _)| failing && method == "GET" && *p == path)
    {
        let (reason, message) = match code {
            403 => (
                "Forbidden",
                format!(
                    "{path} is forbidden: User \"system:serviceaccount:argocd:windlass\" cannot list resource"
                ),
            ),
            _ => (
                "InternalError",
                format!("an error on the server listing {path}"),
            ),
        };
        let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code})
        .to_string();
        let response = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        client.write_all(response.as_bytes()).await?;
        return client.shutdown().await;
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(closing(&head).as_bytes()).await?;
    server.write_all(&rest).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // The rest of the request (a body) goes on as it comes.
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let (head, rest) = read_head(&mut server_read).await?;
    client_write.write_all(closing(&head).as_bytes()).await?;
    client_write.write_all(&rest).await?;
    tokio::io::copy(&mut server_read, &mut client_write).await?;
    client_write.shutdown().await
}
