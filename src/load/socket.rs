//! One simulated client's WebSocket: connect (TCP with Nagle off, small buffers, so 10,000
//! sockets fit in memory), `hello` with its token, the connection-set-up latency, and the
//! gauge of open sockets. Frames are read and written by the party that owns it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Run;
use super::metrics::Lat;
use super::wire::{self, Data, Incoming};

/// Longest a connection may take to connect and answer `hello`.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The socket type.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An open, greeted socket.
pub struct Socket {
    /// The stream.
    pub ws: Ws,
    run: Arc<Run>,
    next_id: u64,
    open: bool,
}

/// Small buffers: 10,000 sockets × tungstenite's 128 KiB default would be over a GiB.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

impl Socket {
    /// Connects and says `hello`; returns the socket and the session (`hello`'s result).
    pub async fn open(run: &Arc<Run>, token: &str) -> Result<(Socket, Data), String> {
        let started = run.metrics.now_us();
        let attempt = async {
            let (ws, _) = tokio_tungstenite::connect_async_with_config(
                run.ws_url.as_str(),
                Some(config()),
                true,
            )
            .await
            .map_err(|e| format!("connect: {e}"))?;
            let mut socket = Socket {
                ws,
                run: run.clone(),
                next_id: 1,
                open: true,
            };
            run.metrics.gauge(false, 1);
            socket.write(wire::hello(token)).await?;
            loop {
                let frame = socket
                    .next()
                    .await
                    .ok_or("closed before the hello answer")??;
                match frame.kind.as_str() {
                    "reply" if frame.id == Some(0) => {
                        return Ok((socket, frame.result.unwrap_or_default()));
                    }
                    "error" if frame.id == Some(0) => {
                        let code = frame.error.map(|e| e.code).unwrap_or_default();
                        return Err(format!("hello refused: {code}"));
                    }
                    _ => {} // events before the answer cannot happen; ignore anything else
                }
            }
        };
        let (socket, session) = tokio::time::timeout(SETUP_TIMEOUT, attempt)
            .await
            .map_err(|_| "no hello answer within 60 s".to_owned())??;
        run.metrics.record(Lat::Connect, started);
        Ok((socket, session))
    }

    /// A fresh command id.
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Writes one text frame.
    pub async fn write(&mut self, frame: String) -> Result<(), String> {
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// The next parsed text frame; `None` when the socket ended. A close from the server is
    /// counted by its code; an unparseable frame is counted and skipped.
    pub async fn next(&mut self) -> Option<Result<Incoming, String>> {
        loop {
            let msg = self.ws.next().await?;
            match msg {
                Ok(Message::Text(text)) => match serde_json::from_str::<Incoming>(text.as_str()) {
                    Ok(frame) => return Some(Ok(frame)),
                    Err(_) => self.run.metrics.error("unparseable frame"),
                },
                Ok(Message::Close(close)) => {
                    let code = close.map_or("none".to_owned(), |c| u16::from(c.code).to_string());
                    self.run.metrics.closed_by_server(code);
                    self.mark_closed();
                    return None;
                }
                Ok(_) => {} // pings are answered by tungstenite on the next write or read
                Err(e) => {
                    self.run.metrics.closed_by_server("eof");
                    self.mark_closed();
                    return Some(Err(format!("read: {e}")));
                }
            }
        }
    }

    fn mark_closed(&mut self) {
        if self.open {
            self.open = false;
            self.run.metrics.gauge(false, -1);
        }
    }

    /// Closes the socket normally.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.ws.close(None)).await;
        self.mark_closed();
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.mark_closed();
    }
}
