//! Loopback ports: the address of one, whether something accepts connections on it, and ports
//! handed out to tests ([`free_port`]).

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// `127.0.0.1:<port>`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Whether a TCP connection to `port` on 127.0.0.1 is accepted.
pub fn accepts_connections(port: u16) -> bool {
    TcpStream::connect_timeout(&local(port), Duration::from_millis(200)).is_ok()
}

/// A port nothing listens on, never handed out twice in this process, so parallel tests do
/// not collide. A port that still accepts a connection once the probe listener is gone is
/// skipped: other test runs share this machine, and a port free to `bind` can still be
/// answered (a port forwarded by NAT has no socket to conflict with).
pub fn free_port() -> u16 {
    static HANDED_OUT: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Default::default);
    loop {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a free port");
        let port = listener.local_addr().expect("local address").port();
        drop(listener);
        if !accepts_connections(port) && HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}
